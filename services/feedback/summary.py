"""One customer's feedback at a glance: volume, NPS, CSAT, sentiment, complaints and open alerts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CompoundSelect, Select, bindparam, func, literal, select, union_all
from sqlalchemy.orm import Session

from rapport.db import as_utc, read_rows

from . import stats
from .models import Alert, AspectMention, Feedback


def _figures_statement() -> Select[Any]:
    """The customer's figures with the latest NPS and the open-alert count as subqueries."""
    mine = Feedback.customer_id == bindparam("customer_id")
    latest_nps = (
        select(Feedback.nps)
        .where(mine, Feedback.nps.is_not(None))
        .order_by(Feedback.occurred_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    open_alerts = (
        select(func.count())
        .select_from(Alert)
        .where(Alert.customer_id == bindparam("customer_id"), Alert.status == "open")
        .scalar_subquery()
    )
    figures = select(
        func.count(),
        func.min(Feedback.occurred_at),
        func.max(Feedback.occurred_at),
        stats.flag(Feedback.nps >= 9),
        stats.flag(Feedback.nps <= 6),
        func.count(Feedback.nps),
        func.avg(Feedback.csat),
        func.avg(Feedback.sentiment),
        stats.flag(Feedback.label == "negative"),
        func.count(Feedback.label),
    ).where(mine)
    return select(*figures.subquery().c, latest_nps, open_alerts)


def _counts_statement() -> CompoundSelect[Any]:
    """Feedback per channel and negative mentions per aspect, as (kind, key, count) rows."""
    mine = Feedback.customer_id == bindparam("customer_id")
    channels = select(literal("channel"), Feedback.channel, func.count()).where(mine).group_by(Feedback.channel)
    complaints = (
        select(literal("aspect"), AspectMention.aspect, func.count())
        .join(Feedback, Feedback.id == AspectMention.feedback_id)
        .where(mine, AspectMention.sentiment < 0)
        .group_by(AspectMention.aspect)
    )
    return union_all(channels, complaints)


# Built once: constructing these statements cost more CPU than running them (the 360 asks on every view).
_FIGURES = _figures_statement()
_COUNTS = _counts_statement()


def customer_summary(session: Session, customer_id: str) -> dict[str, Any]:
    """Aggregates over every piece of feedback of the customer (zero counts for one who never gave any),
    in two queries."""
    params = {"customer_id": customer_id}
    row = read_rows(session, _FIGURES, **params)[0]
    count, first_at, last_at, promoters, detractors, nps_n, csat, sentiment, negative, labelled, latest, alerts = row
    counts: dict[str, dict[str, int]] = {"channel": {}, "aspect": {}}
    for kind, key, n in read_rows(session, _COUNTS, **params):
        counts[kind][str(key)] = int(n)
    return {
        "customer_id": customer_id,
        "count": int(count),
        "first_at": as_utc(first_at) if first_at else None,
        "last_at": as_utc(last_at) if last_at else None,
        "latest_nps": latest,
        "nps": round(100.0 * ((promoters or 0) - (detractors or 0)) / nps_n, 2) if nps_n else None,
        "csat": round(float(csat), 3) if csat is not None else None,
        "sentiment": round(float(sentiment), 4) if sentiment is not None else None,
        "negative_share": round((negative or 0) / labelled, 4) if labelled else None,
        "channels": counts["channel"],
        "complaints": counts["aspect"],
        "open_alerts": int(alerts or 0),
    }
