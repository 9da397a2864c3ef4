"""One customer's feedback at a glance: volume, NPS, CSAT, sentiment, complaints and open alerts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rapport.db import as_utc

from . import stats, store
from .models import AspectMention, Feedback


def customer_summary(session: Session, customer_id: str) -> dict[str, Any]:
    """Aggregates over every piece of feedback of the customer (zero counts for one who never gave any)."""
    mine = Feedback.customer_id == customer_id
    row = session.execute(
        select(
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
    ).one()
    count, first_at, last_at, promoters, detractors, nps_n, csat, sentiment, negative, labelled = row
    latest_nps = session.scalar(
        select(Feedback.nps).where(mine, Feedback.nps.is_not(None)).order_by(Feedback.occurred_at.desc()).limit(1)
    )
    channels = dict(
        session.execute(select(Feedback.channel, func.count()).where(mine).group_by(Feedback.channel)).all()
    )
    complaints = dict(
        session.execute(
            select(AspectMention.aspect, func.count())
            .join(Feedback, Feedback.id == AspectMention.feedback_id)
            .where(mine, AspectMention.sentiment < 0)
            .group_by(AspectMention.aspect)
        ).all()
    )
    return {
        "customer_id": customer_id,
        "count": int(count),
        "first_at": as_utc(first_at) if first_at else None,
        "last_at": as_utc(last_at) if last_at else None,
        "latest_nps": latest_nps,
        "nps": round(100.0 * ((promoters or 0) - (detractors or 0)) / nps_n, 2) if nps_n else None,
        "csat": round(float(csat), 3) if csat is not None else None,
        "sentiment": round(float(sentiment), 4) if sentiment is not None else None,
        "negative_share": round((negative or 0) / labelled, 4) if labelled else None,
        "channels": {str(k): int(v) for k, v in channels.items()},
        "complaints": {str(k): int(v) for k, v in complaints.items()},
        "open_alerts": store.count_alerts(session, status="open", customer_id=customer_id),
    }
