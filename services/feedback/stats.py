"""NPS, CSAT and sentiment statistics: the database sums per day (and group); this module rolls the sums
up to weeks or months and turns them into rates. Rates are computed from sums, never averaged averages.

NPS = % promoters (9-10) - % detractors (0-6) over the answers with an NPS, from -100 to 100.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import Integer, case, func, literal, select
from sqlalchemy.orm import Session

from rapport.periods import PANDAS_FREQ

from .models import AspectMention, Feedback

SUM_COLUMNS = (
    "volume",
    "promoters",
    "detractors",
    "nps_responses",
    "csat_sum",
    "csat_satisfied",
    "csat_responses",
    "sentiment_sum",
    "sentiment_n",
    "negative",
    "labelled",
)
GROUPS = ("channel", "aspect", "tier", "segment")


def flag(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def daily_sums(session: Session, *, start: date, end: date, by: str | None) -> pd.DataFrame:
    """One row per day (and group) in [start, end] with the SUM_COLUMNS."""
    sentiment, negative = Feedback.sentiment, Feedback.label == "negative"
    group: Any = literal(None)
    query_from: Any = Feedback
    if by == "channel":
        group = Feedback.channel
    elif by == "tier":
        group = func.coalesce(Feedback.customer_tier, "unknown")
    elif by == "segment":
        group = func.coalesce(Feedback.customer_segment, "unknown")
    elif by == "aspect":
        # Per aspect, sentiment and negativity are the aspect's own, not the whole text's.
        group, sentiment, negative = AspectMention.aspect, AspectMention.sentiment, AspectMention.sentiment < 0
        query_from = Feedback.__table__.join(AspectMention.__table__, AspectMention.feedback_id == Feedback.id)
    query = (
        select(
            Feedback.day.label("day"),
            group.label("grp"),
            func.count().label("volume"),
            flag(Feedback.nps >= 9).label("promoters"),
            flag(Feedback.nps <= 6).label("detractors"),
            func.count(Feedback.nps).label("nps_responses"),
            func.coalesce(func.sum(Feedback.csat.cast(Integer)), 0).label("csat_sum"),
            flag(Feedback.csat >= 4).label("csat_satisfied"),
            func.count(Feedback.csat).label("csat_responses"),
            func.coalesce(func.sum(sentiment), 0.0).label("sentiment_sum"),
            func.count(sentiment).label("sentiment_n"),
            flag(negative).label("negative"),
            func.count(Feedback.label).label("labelled"),
        )
        .select_from(query_from)
        .where(Feedback.day >= start, Feedback.day <= end)
        .group_by(Feedback.day, group)
    )
    frame = pd.DataFrame(session.execute(query).all(), columns=["day", "grp", *SUM_COLUMNS])
    frame["day"] = pd.to_datetime(frame["day"])
    return frame.astype({column: "float64" for column in SUM_COLUMNS})


def rates(sums: pd.DataFrame) -> pd.DataFrame:
    """NPS, CSAT, sentiment and negative share from summed columns (None where nothing was answered)."""
    out = pd.DataFrame(index=sums.index)
    out["volume"] = sums["volume"].astype("int64")
    out["nps"] = (
        100.0 * (sums["promoters"] - sums["detractors"]) / sums["nps_responses"].where(sums["nps_responses"] > 0)
    )
    out["nps_responses"] = sums["nps_responses"].astype("int64")
    out["csat"] = sums["csat_sum"] / sums["csat_responses"].where(sums["csat_responses"] > 0)
    out["csat_satisfied"] = sums["csat_satisfied"] / sums["csat_responses"].where(sums["csat_responses"] > 0)
    out["csat_responses"] = sums["csat_responses"].astype("int64")
    out["sentiment"] = sums["sentiment_sum"] / sums["sentiment_n"].where(sums["sentiment_n"] > 0)
    out["negative_share"] = sums["negative"] / sums["labelled"].where(sums["labelled"] > 0)
    return out.round(4)


def series(daily: pd.DataFrame, *, interval: str) -> list[dict[str, Any]]:
    """Rows of period, group and rates, by period then group."""
    if daily.empty:
        return []
    frame = daily.copy()
    frame["period"] = frame["day"].dt.to_period(PANDAS_FREQ[interval]).dt.start_time
    sums = frame.groupby(["period", "grp"], dropna=False)[list(SUM_COLUMNS)].sum()
    table = rates(sums).reset_index()
    return [_clean(row) for row in table.to_dict("records")]


def totals(daily: pd.DataFrame) -> dict[str, Any]:
    sums = daily[list(SUM_COLUMNS)].sum().to_frame().T
    return _clean(rates(sums).iloc[0].to_dict())


def _clean(row: Mapping[Any, Any]) -> dict[str, Any]:
    """NaN -> None, pandas timestamps -> dates, grp -> group."""
    clean: dict[str, Any] = {}
    for key, value in row.items():
        if key == "grp":
            key, value = "group", None if pd.isna(value) else str(value)
        elif key == "period":
            value = value.date()
        elif isinstance(value, float) and pd.isna(value):
            value = None
        clean[str(key)] = value
    return clean


def top_complaints(session: Session, *, start: date, end: date, limit: int = 6) -> list[dict[str, Any]]:
    """Aspects by negative mentions in [start, end]."""
    negative = flag(AspectMention.sentiment < 0)
    query = (
        select(AspectMention.aspect, negative.label("negative"), func.count().label("mentions"))
        .where(AspectMention.day >= start, AspectMention.day <= end)
        .group_by(AspectMention.aspect)
        .order_by(negative.desc(), AspectMention.aspect)
        .limit(limit)
    )
    return [
        {"aspect": aspect, "negative": int(neg or 0), "mentions": int(mentions)}
        for aspect, neg, mentions in session.execute(query)
    ]
