"""Queries of the feedback service: feedback, aspects, alerts. Functions never commit."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rapport.errors import NotFound
from rapport.pagination import newest_first

from .models import Alert, AspectMention, Delivery, Feedback, Webhook
from .schemas import AlertStatus


def now() -> datetime:
    return datetime.now(UTC)


# --- feedback --------------------------------------------------------------------------------------------------


def existing_ids(session: Session, refs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], uuid.UUID]:
    """(source, external_id) -> id of the feedback already stored under it."""
    by_source: dict[str, list[str]] = {}
    for source, external_id in refs:
        by_source.setdefault(source, []).append(external_id)
    found: dict[tuple[str, str], uuid.UUID] = {}
    for source, external_ids in by_source.items():
        for start in range(0, len(external_ids), 5000):
            rows = session.execute(
                select(Feedback.external_id, Feedback.id).where(
                    Feedback.source == source, Feedback.external_id.in_(external_ids[start : start + 5000])
                )
            )
            found.update({(source, str(external_id)): feedback_id for external_id, feedback_id in rows})
    return found


def insert_feedback(session: Session, rows: list[dict[str, Any]], mentions: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(Feedback), rows)
    if mentions:
        session.execute(insert(AspectMention), mentions)


def get_feedback_or_raise(session: Session, feedback_id: uuid.UUID) -> Feedback:
    feedback = session.get(Feedback, feedback_id)
    if feedback is None:
        raise NotFound(f"No feedback {feedback_id}.")
    return feedback


_ASPECTS_OF = (
    select(AspectMention)
    .where(AspectMention.feedback_id.in_(bindparam("ids", expanding=True)))
    .order_by(AspectMention.aspect)
)


def aspects_of(session: Session, feedback_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[AspectMention]]:
    found: dict[uuid.UUID, list[AspectMention]] = {fid: [] for fid in feedback_ids}
    if feedback_ids:
        for mention in session.scalars(_ASPECTS_OF, {"ids": list(feedback_ids)}):
            found[mention.feedback_id].append(mention)
    return found


# The first page of a customer's feedback and open alerts, in `newest_first`'s order, built once: the
# customer 360 reads both on every view, and building a select costs more than running it.
_CUSTOMER_FEEDBACK = (
    select(Feedback)
    .where(Feedback.customer_id == bindparam("customer_id"))
    .order_by(Feedback.occurred_at.desc(), Feedback.id.desc())
    .limit(bindparam("limit"))
)
_CUSTOMER_OPEN_ALERTS = (
    select(Alert)
    .where(Alert.customer_id == bindparam("customer_id"), Alert.status == AlertStatus.open.value)
    .order_by(Alert.created_at.desc(), Alert.id.desc())
    .limit(bindparam("limit"))
)


def newest_feedback_of(session: Session, customer_id: str, *, limit: int) -> list[Feedback]:
    return list(session.scalars(_CUSTOMER_FEEDBACK, {"customer_id": customer_id, "limit": limit}))


def open_alerts_of(session: Session, customer_id: str, *, limit: int) -> list[Alert]:
    return list(session.scalars(_CUSTOMER_OPEN_ALERTS, {"customer_id": customer_id, "limit": limit}))


def list_feedback(
    session: Session,
    *,
    limit: int,
    cursor: str | None,
    customer_id: str | None = None,
    channel: str | None = None,
    label: str | None = None,
    aspect: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> tuple[list[Feedback], str | None]:
    """Feedback newest first, filtered."""
    query = select(Feedback)
    for column, value in ((Feedback.customer_id, customer_id), (Feedback.channel, channel), (Feedback.label, label)):
        if value is not None:
            query = query.where(column == value)
    if aspect is not None:
        query = query.where(Feedback.id.in_(select(AspectMention.feedback_id).where(AspectMention.aspect == aspect)))
    if start is not None:
        query = query.where(Feedback.occurred_at >= start)
    if end is not None:
        query = query.where(Feedback.occurred_at < end)
    return newest_first(session, query, moment=Feedback.occurred_at, row_id=Feedback.id, limit=limit, cursor=cursor)


def texts_between(session: Session, *, start: datetime, end: datetime, limit: int) -> list[tuple[str, str]]:
    """(text, language) of the newest non-empty texts in [start, end), at most `limit`."""
    query = (
        select(Feedback.text, Feedback.language)
        .where(Feedback.occurred_at >= start, Feedback.occurred_at < end, Feedback.text != "")
        .order_by(Feedback.occurred_at.desc())
        .limit(limit)
    )
    return [(text, language or "en") for text, language in session.execute(query)]


def negative_mentions_per_day(
    session: Session, aspects: Sequence[str], *, first: date, last: date
) -> dict[str, dict[date, int]]:
    """aspect -> day -> negative mentions, for days in [first, last]."""
    query = (
        select(AspectMention.aspect, AspectMention.day, func.count())
        .where(
            AspectMention.aspect.in_(aspects),
            AspectMention.day >= first,
            AspectMention.day <= last,
            AspectMention.sentiment < 0,
        )
        .group_by(AspectMention.aspect, AspectMention.day)
    )
    counts: dict[str, dict[date, int]] = {aspect: {} for aspect in aspects}
    for aspect, day, count in session.execute(query):
        counts[aspect][day if isinstance(day, date) else date.fromisoformat(str(day))] = int(count)
    return counts


def forget_customers(session: Session, customer_ids: list[str]) -> None:
    """Erasure: texts and the link to the person go; anonymous scores, sentiment and aspects stay for statistics."""
    erased = select(Feedback.id).where(Feedback.customer_id.in_(customer_ids))
    session.execute(update(AspectMention).where(AspectMention.feedback_id.in_(erased)).values(terms=[]))
    session.execute(
        update(Feedback).where(Feedback.customer_id.in_(customer_ids)).values(text="", customer_id=None, erased=True)
    )
    session.execute(
        update(Alert)
        .where(Alert.customer_id.in_(customer_ids))
        .values(customer_id=None, title="(erased customer)", detail={})
    )


# --- alerts -----------------------------------------------------------------------------------------------------


def add_alerts(session: Session, alerts: list[dict[str, Any]]) -> int:
    """Store alerts whose cause is new (each new feedback's own), with one pending delivery per active webhook."""
    if not alerts:
        return 0
    session.execute(insert(Alert), alerts)
    _queue_deliveries(session, [alert["id"] for alert in alerts])
    return len(alerts)


def add_alert_once(session: Session, alert: dict[str, Any]) -> int:
    """Store an alert unless one with its dedup key exists (a concurrent batch may be raising the same spike:
    the savepoint keeps the loser's feedback write intact). Returns 1 if stored, else 0."""
    if session.scalar(select(Alert.id).where(Alert.dedup_key == alert["dedup_key"])) is not None:
        return 0
    try:
        with session.begin_nested():
            session.execute(insert(Alert), [alert])
    except IntegrityError:
        return 0
    _queue_deliveries(session, [alert["id"]])
    return 1


def _queue_deliveries(session: Session, alert_ids: list[uuid.UUID]) -> None:
    webhook_ids = list(session.scalars(select(Webhook.id).where(Webhook.active.is_(True))))
    due = now()
    deliveries = [
        {"alert_id": alert_id, "webhook_id": webhook_id, "status": "pending", "attempts": 0, "next_attempt_at": due}
        for alert_id in alert_ids
        for webhook_id in webhook_ids
    ]
    if deliveries:
        session.execute(insert(Delivery), deliveries)


def get_alert_or_raise(session: Session, alert_id: uuid.UUID) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"No alert {alert_id}.")
    return alert


def list_alerts(
    session: Session, *, limit: int, cursor: str | None, status: str | None, customer_id: str | None = None
) -> tuple[list[Alert], str | None]:
    """Alerts newest first."""
    query = select(Alert)
    if status is not None:
        query = query.where(Alert.status == status)
    if customer_id is not None:
        query = query.where(Alert.customer_id == customer_id)
    return newest_first(session, query, moment=Alert.created_at, row_id=Alert.id, limit=limit, cursor=cursor)
