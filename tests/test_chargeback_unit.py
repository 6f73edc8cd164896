"""The chargeback's period (--month or --from/--to), its --by model grouping, and the evidence it puts into an
Object Lock bucket (moto): fast, no gateway. The same on the genuine proxy: tests/test_chargeback.py and
tests/test_service_keys.py; in the deploy rehearsal, from the emulated runner."""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
from decimal import Decimal

import boto3
import pytest
from moto import mock_aws

from reconciler.errors import UsageError
from reconciler.finops.chargeback import Chargeback, days_range, period_of, segments_csv
from reconciler.finops.evidence import export_s3
from reconciler.history.grants import Grant

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


def args(month=None, date_from=None, date_to=None) -> argparse.Namespace:
    return argparse.Namespace(month=month, date_from=date_from, date_to=date_to)


def test_from_and_to_are_whole_days_in_the_budget_timezone_both_included():
    label, start, end = period_of(args(date_from="2026-10-01", date_to="2026-10-15"))
    assert label == "2026-10-01_2026-10-15"
    assert start == dt.datetime(2026, 10, 1, tzinfo=IST) and end == dt.datetime(2026, 10, 16, tzinfo=IST)
    assert days_range("2026-10-03", "2026-10-03")[1] - days_range("2026-10-03", "2026-10-03")[0] == dt.timedelta(1)
    assert period_of(args(month="2026-10"))[1:] == (dt.datetime(2026, 10, 1, tzinfo=IST),
                                                    dt.datetime(2026, 11, 1, tzinfo=IST))


@pytest.mark.parametrize("bad, says", [
    (args(month="2026-10", date_from="2026-10-01", date_to="2026-10-02"), "not both"),
    (args(date_from="2026-10-01"), "both --from and --to"),
    (args(), "--month YYYY-MM"),
    (args(date_from="2026-10-05", date_to="2026-10-04"), "before --from"),
    (args(date_from="2026-10-01", date_to="15/10/2026"), "YYYY-MM-DD"),
    (args(month="2026-13"), "YYYY-MM"),
])
def test_a_wrong_period_is_refused(bad, says):
    with pytest.raises(UsageError, match=says):
        period_of(bad)


def sample(by: str) -> Chargeback:
    start, end = days_range("2026-10-01", "2026-10-02")
    cb = Chargeback("2026-10-01_2026-10-02", by, start, end)
    g = Grant("coding", "CC-1", "owner", "c" * 40)
    at = start + dt.timedelta(hours=1)
    cb.add("ann", "k1", g, Decimal("0.30"), model="model-balanced", at=at)
    cb.add("ann", "k1", g, Decimal("0.10"), model="model-cheap", at=at)
    cb.add("bob", "k2", g, Decimal("0.05"), model="model-cheap", at=at + dt.timedelta(days=1))
    return cb


def test_by_model_groups_on_the_alias_and_the_csv_splits_a_user_per_model():
    groups = {g["group"]: g for g in sample("model").groups()}
    assert {k: (v["spend_usd"], v["users"], v["calls"]) for k, v in groups.items()} == {
        "model-balanced": ("0.30", 1, 1), "model-cheap": ("0.15", 2, 2)}
    lines = segments_csv(sample("model")).splitlines()
    assert lines[0] == "period,user_id,tier,cost_center,owner,grant_commit,model,calls,spend_usd"
    assert [line.split(",")[1] + "/" + line.split(",")[6] for line in lines[1:]] == [
        "ann/model-balanced", "ann/model-cheap", "bob/model-cheap"]


@mock_aws
def test_the_evidence_lands_locked_with_a_checksum_and_a_manifest(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    s3 = boto3.client("s3", region_name="ap-south-1")
    s3.create_bucket(Bucket="llm-gateway-chargeback-x", ObjectLockEnabledForBucket=True,
                     CreateBucketConfiguration={"LocationConstraint": "ap-south-1"})
    s3.put_object_lock_configuration(Bucket="llm-gateway-chargeback-x", ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 2922}}})
    cb = sample("cost_center")
    csv_text = segments_csv(cb)
    report = {"month": cb.month, "period": cb.month, "timezone": "Asia/Kolkata", "from_utc": cb.start.isoformat(),
              "to_utc": cb.end.isoformat(), "git_commit": "c" * 40, "spend_rows": cb.rows,
              "csv_rows": len(cb.segments), "gateway_total_usd": "0.45", "gateway_total_exact_usd": str(cb.total)}
    uris = export_s3("s3://llm-gateway-chargeback-x/chargeback", report, csv_text)
    base = "chargeback/2026-10-01_2026-10-02"
    assert uris == [f"s3://llm-gateway-chargeback-x/{base}/chargeback-segments.csv",
                    f"s3://llm-gateway-chargeback-x/{base}/manifest.json"]
    manifest = json.loads(s3.get_object(Bucket="llm-gateway-chargeback-x", Key=f"{base}/manifest.json")["Body"].read())
    assert manifest["csv_sha256"] == hashlib.sha256(csv_text.encode()).hexdigest()
    assert manifest["csv_rows"] == 3 and manifest["period"] == "2026-10-01_2026-10-02"
    for key in (f"{base}/chargeback-segments.csv", f"{base}/manifest.json"):
        head = s3.head_object(Bucket="llm-gateway-chargeback-x", Key=key, ChecksumMode="ENABLED")
        assert head["ObjectLockMode"] == "GOVERNANCE" and head.get("ChecksumSHA256"), head
        with pytest.raises(s3.exceptions.ClientError, match="AccessDenied"):
            s3.delete_object(Bucket="llm-gateway-chargeback-x", Key=key, VersionId=head["VersionId"])
