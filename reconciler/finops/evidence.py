"""The chargeback's evidence in S3: the period's CSV and a manifest that ties it to git and the totals."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os

from reconciler.errors import UsageError


def export_s3(uri: str, report: dict, csv_text: str) -> list[str]:
    """Write <prefix>/<period>/chargeback-segments.csv and its manifest (period, commit, row count, the CSV's
    sha256) through boto3's standard environment; returns the object URIs. Each put carries a SHA-256
    checksum S3 verifies (S3 asks for one on Object Lock buckets) and is locked by the bucket's
    default retention, so the writer needs s3:PutObject only."""
    import boto3

    if not uri.startswith("s3://"):
        raise UsageError(f"--s3-uri must look like s3://bucket/prefix, not {uri!r}")
    bucket, _, prefix = uri[5:].partition("/")
    base = "/".join(p for p in (prefix.strip("/"), report["period"]) if p)
    body = csv_text.encode()
    csv_key = f"{base}/chargeback-segments.csv"
    manifest = {k: report[k] for k in ("month", "period", "timezone", "from_utc", "to_utc", "git_commit",
                                       "spend_rows", "csv_rows", "gateway_total_usd", "gateway_total_exact_usd")}
    manifest.update({"csv": f"s3://{bucket}/{csv_key}", "csv_sha256": hashlib.sha256(body).hexdigest(),
                     "csv_bytes": len(body), "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                     "generated_by": os.environ.get("GITHUB_ACTOR") or os.environ.get("USER") or "unknown",
                     "run_id": os.environ.get("GITHUB_RUN_ID"), "source": "LiteLLM /spend/logs/v2 + git history"})
    s3 = boto3.client("s3")
    s3.put_object(Bucket=bucket, Key=csv_key, Body=body, ContentType="text/csv", ChecksumAlgorithm="SHA256")
    man_key = f"{base}/manifest.json"
    s3.put_object(Bucket=bucket, Key=man_key, Body=json.dumps(manifest, indent=2).encode(),
                  ContentType="application/json", ChecksumAlgorithm="SHA256")
    return [f"s3://{bucket}/{csv_key}", f"s3://{bucket}/{man_key}"]
