"""Every spend-log row of a time range, read from LiteLLM's OSS endpoint, streamed in bounded memory.

LiteLLM 1.108.7 without a licence: `/global/spend/report` and `/spend/report` answer 403
(Enterprise); `GET /spend/logs/v2` works with the master or a proxy-admin-viewer key. It filters
on `start_date`/`end_date` (inclusive, to the second, UTC), pages with OFFSET (page_size <= 1000)
and orders by `startTime` only, with no tie-breaker, so OFFSET pages are not a stable walk of a
growing or tied result, and deep OFFSETs cost the database more and more. So the range is walked
in time windows instead, each small enough to fit on one page (the answer's `total`, counted up to
10,000, says whether it does): a window that does not fit is shrunk and asked again, and each next
window is sized from the density of the last one, so a month costs about one call per page.
A row stamped exactly on a window's end is answered by both windows and is kept once.
Rows are yielded as they arrive; only one page is ever held, so a month of a million rows needs
no more memory than a page.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from reconciler.live.client import AdminClient

PAGE_SIZE = 1000  # the largest page /spend/logs/v2 accepts
MIN_WINDOW = dt.timedelta(seconds=1)  # the filter's resolution
FIRST_WINDOW = dt.timedelta(hours=6)
MAX_WINDOW = dt.timedelta(days=4)
TARGET = 0.8 * PAGE_SIZE  # rows per window aimed at: room for a busier stretch without a retry


@dataclass(frozen=True, slots=True)
class SpendRow:
    request_id: str
    start: dt.datetime  # UTC
    spend: Decimal
    user_id: str | None
    api_key: str  # sha256 of the key (LiteLLM's token), never a raw key
    team_id: str | None
    model: str = ""  # the model alias the caller asked for (LiteLLM's model_group)


def parse_utc(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _fmt(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _row(raw: dict) -> SpendRow:
    return SpendRow(request_id=raw["request_id"], start=parse_utc(raw["startTime"]),
                    spend=Decimal(str(raw.get("spend") or 0)), user_id=raw.get("user") or None,
                    api_key=raw.get("api_key") or "", team_id=raw.get("team_id") or None,
                    model=raw.get("model_group") or raw.get("model") or "")


@dataclass
class Progress:
    rows: int = 0
    calls: int = 0
    reached: dt.datetime | None = None


def spend_rows(client: AdminClient, start: dt.datetime, end: dt.datetime, *,
               on_page: Callable[[Progress], None] | None = None) -> Iterator[SpendRow]:
    """Rows with start <= startTime < end, oldest window first (order inside a window is LiteLLM's)."""
    start, end = start.replace(microsecond=0), end
    progress = Progress()
    t, window = start, FIRST_WINDOW
    boundary: set[str] = set()  # request ids stamped exactly on the previous window's end
    while t < end:
        t2 = min(t + window, end)
        if t2 > t + MIN_WINDOW:
            t2 = t2.replace(microsecond=0)
        body = _page(client, t, t2, 1, progress)
        total, capped = int(body.get("total") or 0), bool(body.get("total_is_capped"))
        if (total > PAGE_SIZE or capped) and (t2 - t) > MIN_WINDOW:
            window = max(MIN_WINDOW, (t2 - t) * (TARGET / max(total, 2 * PAGE_SIZE if capped else total)))
            continue
        pages = [body]
        for page in range(2, -(-total // PAGE_SIZE) + 1):  # only a one-second window holds > 1 page
            pages.append(_page(client, t, t2, page, progress))
        seen_end: set[str] = set()
        seen_window: set[str] | None = set() if len(pages) > 1 else None  # OFFSET pages of tied rows may repeat
        for b in pages:
            for raw in b.get("data") or []:
                row = _row(raw)
                if row.start >= end or row.start < t or row.request_id in boundary:
                    continue
                if seen_window is not None:
                    if row.request_id in seen_window:
                        continue
                    seen_window.add(row.request_id)
                if row.start == t2:
                    seen_end.add(row.request_id)
                progress.rows += 1
                yield row
        boundary = seen_end
        progress.reached = t2
        if on_page:
            on_page(progress)
        # Size the next window from this one's density, aiming at a page that is ~80% full.
        window = min(MAX_WINDOW, (t2 - t) * min(4.0, TARGET / max(total, 1)))
        window = max(window, MIN_WINDOW)
        t = t2


def _page(client: AdminClient, t: dt.datetime, t2: dt.datetime, page: int, progress: Progress) -> dict:
    progress.calls += 1
    return client.get("/spend/logs/v2", start_date=_fmt(t), end_date=_fmt(t2), page=page, page_size=PAGE_SIZE,
                      sort_by="startTime", sort_order="asc")


def progress_printer(stream, label: str, every_s: float = 2.0) -> Callable[[Progress], None]:
    """A progress line on `stream` (rewritten in place on a terminal, one line every few seconds otherwise)."""
    last = [0.0]
    tty = hasattr(stream, "isatty") and stream.isatty()

    def show(p: Progress) -> None:
        now = time.monotonic()
        if now - last[0] < every_s and not tty:
            return
        last[0] = now
        reached = p.reached.strftime("%Y-%m-%d %H:%M UTC") if p.reached else "-"
        text = f"{label}: {p.rows:,} spend rows read, {p.calls:,} calls, up to {reached}"
        print(("\r" + text) if tty else text, end="" if tty else "\n", file=stream, flush=True)

    return show
