"""Day ranges and calendar periods for the stats routes (the orders trend, feedback stats)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Literal

from rapport.errors import Invalid

Interval = Literal["day", "week", "month"]
# pandas period of each interval; a week runs Monday to Sunday.
PANDAS_FREQ: dict[str, str] = {"day": "D", "week": "W-SUN", "month": "M"}


def day_range(start: date | None, end: date | None, *, default_days: int) -> tuple[date, date]:
    """The [start, end] days asked for (UTC, both included): `end` defaults to today and `start` to
    `default_days` days ending on `end`. A reversed range is a 422 naming `query.from`."""
    end = end or datetime.now(UTC).date()
    start = start or end - timedelta(days=default_days - 1)
    if start > end:
        raise Invalid("`from` is after `to`.", errors=[{"loc": "query.from", "msg": "after `to`"}])
    return start, end
