"""`gatewayctl report --format html` in a real browser (Debian's headless chromium): the page renders (the
screenshot is not blank, the DOM Chromium built holds the charts), and every figure the charts draw equals
what the evidence CSV adds up to. The month is built through the report's own code (Chargeback.add,
build_report, segments_csv, render) from a month of spend rows of 12 users in three tiers and four cost
centers, one with a budget exception. Without chromium these tests skip, saying how to install it
(.ci/run installs it).

UPDATE_DOCS_SCREENSHOT=1 also writes the screenshot to docs/images/chargeback-report.png (docs/runbook.md)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import random
import shutil
import struct
import subprocess
import zlib
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

from reconciler.desired.policy import BUDGET_TZ
from reconciler.desired.validate import load_desired
from reconciler.finops.chargeback import Chargeback, build_report, month_range, render, segments_csv
from reconciler.finops.money import cents
from reconciler.history.grants import Grant, Timeline

REPO = Path(__file__).resolve().parent.parent
DOC_SCREENSHOT = REPO / "docs" / "images" / "chargeback-report.png"
MONTH = "2026-10"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

USERS = {  # user -> (tier, cost center, exception)
    "asha": ("drafting", "CC-1001", None), "bilal": ("drafting", "CC-1001", None),
    "chen": ("drafting", "CC-1002", None), "divya": ("drafting", "CC-1003", None),
    "emeka": ("coding", "CC-1002", None), "farah": ("coding", "CC-1002", (Decimal("30"), dt.date(2026, 10, 31))),
    "gopal": ("coding", "CC-1003", None), "hana": ("coding", "CC-1004", None),
    "ivan": ("coding", "CC-1001", None), "jaya": ("architect", "CC-1004", None),
    "kofi": ("architect", "CC-1003", None), "lena": ("architect", "CC-1004", None),
}


def month_report() -> tuple[dict, str]:
    start, end = month_range(MONTH)
    timeline = Timeline()
    grants = {}
    for uid, (tier, cc, exc) in USERS.items():
        grants[uid] = Grant(tier, cc, "owner-" + cc.lower(), "c" * 40, *(exc or (None, None)))
        timeline.add(uid, start - dt.timedelta(days=40), grants[uid])
    tiers = load_desired(REPO, today=end.date()).tiers
    cb = Chargeback(MONTH, "cost_center", start, end)
    rng = random.Random(22)
    scale = {"drafting": 0.05, "coding": 0.6, "architect": 12.0}
    models = {"drafting": "model-cheap", "coding": "model-balanced", "architect": "model-reasoning"}
    for day in range(31):
        for uid, (tier, _, _) in USERS.items():
            for _ in range(rng.randint(0, 3)):
                at = start + dt.timedelta(days=day, seconds=rng.randint(0, 86399))
                spend = Decimal(str(round(rng.random() * scale[tier], 6)))
                cb.add(uid, "hash-" + uid, timeline.at(uid, at), spend, model=models[tier], at=at)
    cb.add(None, "0123456789abcdef", None, Decimal("0.42"), model="model-cheap", at=start + dt.timedelta(days=3))
    report = build_report(cb, timeline, tiers, commit="c" * 40, calls=31)
    return report, segments_csv(cb)


class Elements(HTMLParser):
    """Every element of the DOM Chromium dumped, as (tag, attributes)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, {k: v or "" for k, v in attrs}))


def chromium(*args: str) -> subprocess.CompletedProcess:
    if CHROMIUM is None:
        pytest.skip("SKIPPED LOUDLY: chromium is not installed; the HTML report is not checked in a browser "
                    "(apt-get install -y chromium; .ci/run installs it)")
    # --no-sandbox: tests run as root in CI; nothing but a local file is opened.
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                           "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND", *args],
                          capture_output=True, text=True, timeout=180, check=True)


def png_pixels(path: Path) -> bytes:
    """The PNG's decompressed scanlines (filter bytes included): enough to tell blank from drawn."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    return zlib.decompress(idat)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict:
    report, csv_text = month_report()
    page = tmp_path_factory.mktemp("html") / "report.html"
    page.write_text(render(report, "html", csv_text), encoding="utf-8")
    shot = page.with_suffix(".png")
    chromium("--window-size=860,1500", f"--screenshot={shot}", page.as_uri())
    dom = chromium("--dump-dom", page.as_uri()).stdout
    parser = Elements()
    parser.feed(dom)
    if os.environ.get("UPDATE_DOCS_SCREENSHOT"):
        DOC_SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, DOC_SCREENSHOT)
    return {"report": report, "csv": list(csv.DictReader(io.StringIO(csv_text))), "html": page.read_text(),
            "shot": shot, "elements": parser.found}


def test_the_page_renders_in_chromium(rendered):
    pixels = png_pixels(rendered["shot"])
    assert len(set(pixels)) > 50, "the screenshot is blank"
    svgs = [a for tag, a in rendered["elements"] if tag == "svg"]
    assert {a.get("data-chart") for a in svgs} == {"tier", "cost_center", "users"}
    rects = [a for tag, a in rendered["elements"] if tag == "rect" and "data-usd" in a]
    assert len(rects) > 100  # a bar part per day and tier or cost center, a bar per top user


def test_the_page_is_self_contained(rendered):
    text = rendered["html"]
    assert "<script" not in text and " src=" not in text and "href=" not in text and "@import" not in text
    assert "default-src 'none'" in text  # and the browser would fetch nothing even if it asked


def _csv_sum(rows: list[dict], column: str | None = None) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for r in rows:
        k = r[column] if column else "all"
        out[k] = out.get(k, Decimal(0)) + Decimal(r["spend_usd"])
    return out


@pytest.mark.parametrize("chart, column", [("tier", "tier"), ("cost_center", "cost_center")])
def test_each_chart_adds_up_to_the_csv(rendered, chart, column):
    rows, elements = rendered["csv"], rendered["elements"]
    (svg,) = [a for tag, a in elements if tag == "svg" and a.get("data-chart") == chart]
    total = _csv_sum(rows)["all"]
    assert Decimal(svg["data-total-usd"]) == cents(total) > 0
    drawn: dict[str, Decimal] = {}
    attr = "data-" + column.replace("_", "-")
    for tag, a in elements:
        if tag == "rect" and attr in a:
            drawn[a[attr]] = drawn.get(a[attr], Decimal(0)) + Decimal(a["data-usd"])
    assert drawn == _csv_sum(rows, column)  # exact, per tier / cost center, "(not in git)" included
    (figure,) = [a for tag, a in elements if a.get("id") == "total"]
    assert Decimal(figure["data-total-usd"]) == cents(total)


def test_the_users_chart_shows_the_top_spenders_against_their_budgets(rendered):
    by_user = _csv_sum(rendered["csv"], "user_id")
    bars = {a["data-user"]: Decimal(a["data-usd"]) for tag, a in rendered["elements"] if "data-user" in a}
    top = sorted((u for u in by_user if u in USERS), key=lambda u: -by_user[u])[:10]
    assert sorted(bars) == sorted(top)
    assert all(bars[u] == cents(by_user[u]) for u in bars)
    budgets = [Decimal(a["data-budget-usd"]) for tag, a in rendered["elements"] if "data-budget-usd" in a]
    assert Decimal("50.00") in budgets or "farah" not in bars  # coding $20 + farah's $30 exception


def test_exceptions_are_listed(rendered):
    html = rendered["html"]
    section = html[html.index("<h2>Budget exceptions</h2>"):html.index("<h2>Spend by")]
    assert "farah" in section and "$30" in section and "2026-10-31" in section
    assert "asha" not in section


def test_the_docs_screenshot_is_a_small_png_linked_from_the_runbook():
    assert DOC_SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert DOC_SCREENSHOT.stat().st_size < 300_000
    assert "images/chargeback-report.png" in (REPO / "docs" / "runbook.md").read_text()


def test_day_buckets_follow_the_budget_timezone():
    """A row at 20:00 UTC on 31 Oct is 1 Nov in Asia/Kolkata: outside October, first day of November."""
    start, end = month_range("2026-11")
    cb = Chargeback("2026-11", "tier", start, end)
    at = dt.datetime(2026, 10, 31, 20, 0, tzinfo=dt.UTC)
    cb.add("x", "k", Grant("coding", "CC-1", "o", "c"), Decimal("1"), at=at)
    assert list(cb.daily) == [("2026-11-01", "coding", "CC-1")]
    assert at.astimezone(BUDGET_TZ).date().isoformat() == "2026-11-01"
