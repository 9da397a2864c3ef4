"""Orders and revenue per day, week or month: the dashboard's orders trend, counted in SQL rather than
from an export of every order line."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import Date, cast, func, select
from sqlalchemy.orm import Session

from rapport.periods import PANDAS_FREQ, Interval

from .models import Order
from .orders import COUNTED_STATUSES

MAX_PERIODS = 1000
CENT = Decimal("0.01")


def period_count(start: date, end: date, interval: Interval) -> int:
    return len(pd.period_range(start, end, freq=PANDAS_FREQ[interval]))


def _utc_day(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", Order.placed_at), Date)
    return func.date(Order.placed_at)  # SQLite stores UTC text: its date part is the UTC day


def orders_per_period(session: Session, *, start: date, end: date, interval: Interval) -> list[dict[str, Any]]:
    """Placed and paid orders and their revenue in the base currency per period of [start, end] (whole
    days, UTC; a period is named by its first day), every period listed, empty ones with zeros. Grouped
    by day in SQL; the days (a few thousand at most) are then summed per period."""
    day = _utc_day(session).label("day")
    begin = datetime.combine(start, time(), UTC)
    stop = datetime.combine(end + timedelta(days=1), time(), UTC)
    query = (
        select(day, func.count(), func.coalesce(func.sum(Order.total_base), 0))
        .where(Order.placed_at >= begin, Order.placed_at < stop, Order.status.in_(COUNTED_STATUSES))
        .group_by(day)
    )
    freq = PANDAS_FREQ[interval]
    periods = list(pd.period_range(start, end, freq=freq))
    counts = dict.fromkeys(periods, 0)
    revenues = dict.fromkeys(periods, Decimal(0))
    for day_value, orders, revenue in session.execute(query):
        period = pd.Period(str(day_value), freq=freq)
        counts[period] += int(orders)
        revenues[period] += Decimal(str(revenue))  # SQLite sums as float, PostgreSQL as NUMERIC
    return [
        {"period": p.start_time.date(), "orders": counts[p], "revenue": revenues[p].quantize(CENT)} for p in periods
    ]
