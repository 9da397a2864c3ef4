"""The write path: validate, analyse, store and check the alert rules, for one record or a batch.

Everything a batch writes (feedback, aspects, alerts, pending deliveries) is one transaction, so an alert
exists the moment its feedback does. Invalid records are reported and never written; a record whose
(source, external_id) was seen before answers `unchanged` with the stored id.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from rapport.config import Settings
from rapport.errors import validation_errors

from . import alerts, store
from .analysis import Analysis, Analyzer
from .identities import IdentityResolver
from .schemas import FeedbackCreate, RecordResult
from .values import ValueLookup

FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass
class WriteOutcome:
    results: list[RecordResult]
    alerts: int = 0


def record_errors(record: FeedbackCreate, *, max_text_chars: int, now: datetime) -> list[dict[str, str]]:
    """Rules beyond the schema's: text size, and no feedback from the future."""
    errors = []
    if len(record.text) > max_text_chars:
        errors.append({"loc": "text", "msg": f"longer than {max_text_chars} characters ({len(record.text)})"})
    if record.occurred_at is not None and as_aware(record.occurred_at) > now + FUTURE_TOLERANCE:
        errors.append({"loc": "occurred_at", "msg": "in the future"})
    return errors


def as_aware(moment: datetime) -> datetime:
    """A time without a zone is taken as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_records(
    raw: Sequence[dict[str, Any]], settings: Settings
) -> tuple[dict[int, FeedbackCreate], list[RecordResult]]:
    """Valid records by batch index, and an error result for each invalid one."""
    valid: dict[int, FeedbackCreate] = {}
    failed: list[RecordResult] = []
    now = store.now()
    for index, item in enumerate(raw):
        try:
            record = FeedbackCreate.model_validate(item)
        except ValidationError as error:
            failed.append(
                RecordResult(index=index, status="error", errors=[_flat(e) for e in validation_errors(error.errors())])
            )
            continue
        errors = record_errors(record, max_text_chars=settings.feedback_max_text_chars, now=now)
        if errors:
            failed.append(RecordResult(index=index, status="error", errors=errors))
        else:
            valid[index] = record
    return valid, failed


def _flat(error: dict[str, Any]) -> dict[str, str]:
    return {"loc": str(error.get("loc", "")).removeprefix("body."), "msg": str(error.get("msg", ""))}


def write(
    session: Session,
    records: dict[int, FeedbackCreate],
    *,
    analyzer: Analyzer,
    values: ValueLookup,
    resolver: IdentityResolver,
    settings: Settings,
) -> WriteOutcome:
    """Store the records; returns one result per record (in index order) and how many alerts were raised.
    Raises ServiceUnavailable when records name customers by identity and the customers service is down."""
    records, unlinked = _link_customers(records, resolver)
    keyed = {index: (r.source, r.external_id) for index, r in records.items() if r.external_id is not None}
    stored = store.existing_ids(session, keyed.values())
    results: list[RecordResult] = []
    fresh: dict[int, FeedbackCreate] = {}
    first_in_batch: dict[tuple[str, str], uuid.UUID] = {}
    ids: dict[int, uuid.UUID] = {}
    for index, record in records.items():
        key = keyed.get(index)
        if key is not None and (known := stored.get(key) or first_in_batch.get(key)) is not None:
            results.append(RecordResult(index=index, status="unchanged", id=known))
            continue
        ids[index] = uuid.uuid4()
        if key is not None:
            first_in_batch[key] = ids[index]
        fresh[index] = record
        results.append(RecordResult(index=index, status="created", id=ids[index]))
    raised = _store_fresh(session, fresh, ids, analyzer=analyzer, values=values, settings=settings) if fresh else 0
    return WriteOutcome(results=sorted([*results, *unlinked], key=lambda r: r.index), alerts=raised)


def _link_customers(
    records: dict[int, FeedbackCreate], resolver: IdentityResolver
) -> tuple[dict[int, FeedbackCreate], list[RecordResult]]:
    """Records with `customer` given as a source identity get its customer_id; unknown identities are errors."""
    refs = {i: (r.customer.source, r.customer.external_id) for i, r in records.items() if r.customer is not None}
    if not refs:
        return records, []
    owners = resolver.resolve(list(refs.values()))
    linked, unlinked = dict(records), []
    for index, (source, external_id) in refs.items():
        owner = owners.get((source, external_id))
        if owner is None:
            del linked[index]
            message = f"no customer known as {external_id!r} in source {source!r}"
            unlinked.append(RecordResult(index=index, status="error", errors=[{"loc": "customer", "msg": message}]))
        else:
            linked[index] = records[index].model_copy(update={"customer_id": owner, "customer": None})
    return linked, unlinked


def _store_fresh(
    session: Session,
    fresh: dict[int, FeedbackCreate],
    ids: dict[int, uuid.UUID],
    *,
    analyzer: Analyzer,
    values: ValueLookup,
    settings: Settings,
) -> int:
    indices = list(fresh)
    batch = [fresh[i] for i in indices]
    analyses = analyzer.analyse(
        [r.text for r in batch],
        [r.language.value if r.language else None for r in batch],
        nps=[r.nps for r in batch],
        csat=[r.csat for r in batch],
    )
    received = store.now()
    customer_ids = sorted({r.customer_id for r in batch if r.customer_id})
    value_of = values.values(customer_ids) if customer_ids else {}
    rows: list[dict[str, Any]] = []
    mentions: list[dict[str, Any]] = []
    for index, record, analysis in zip(indices, batch, analyses, strict=True):
        occurred = as_aware(record.occurred_at) if record.occurred_at else received
        value = value_of.get(record.customer_id or "", alerts.UNKNOWN_VALUE)
        rows.append(_row(ids[index], record, analysis, occurred=occurred, received=received, value=value))
        mentions.extend(
            {
                "feedback_id": ids[index],
                "aspect": a.aspect,
                "sentiment": a.sentiment,
                "terms": a.terms,
                "day": occurred.date(),
                "channel": record.channel.value,
            }
            for a in analysis.aspects
        )
    store.insert_feedback(session, rows, mentions)
    window_start = received - timedelta(hours=settings.feedback_alert_window_hours)
    recent = [
        (row, value_of.get(row["customer_id"] or "", alerts.UNKNOWN_VALUE))
        for row in rows
        if row["occurred_at"] >= window_start
    ]
    pairs = [
        (row, draft)
        for row, value in recent
        if (
            draft := alerts.valued_customer_alert(
                feedback_id=str(row["id"]),
                customer_id=row["customer_id"],
                nps=row["nps"],
                csat=row["csat"],
                sentiment=row["sentiment"],
                value=value,
            )
        )
        is not None
    ]
    raised = store.add_alerts(session, [_alert(draft, row, at=received) for row, draft in pairs])
    negative_today = [m for m in mentions if m["sentiment"] < 0 and m["day"] == received.date()]
    for draft in _spikes(session, recent_mentions=negative_today, settings=settings, today=received):
        raised += store.add_alert_once(session, _alert(draft, None, at=received))
    return raised


def _row(
    feedback_id: uuid.UUID,
    record: FeedbackCreate,
    analysis: Analysis,
    *,
    occurred: datetime,
    received: datetime,
    value: alerts.CustomerValue,
) -> dict[str, Any]:
    return {
        "id": feedback_id,
        "source": record.source,
        "external_id": record.external_id,
        "channel": record.channel.value,
        "customer_id": record.customer_id,
        "nps": record.nps,
        "csat": record.csat,
        "text": record.text,
        "language": analysis.language,
        "language_detected": analysis.language_detected,
        "sentiment": analysis.sentiment,
        "label": analysis.label,
        "occurred_at": occurred,
        "day": occurred.date(),
        "received_at": received,
        "customer_tier": value.tier,
        "customer_segment": value.segment,
        "churn_risk": value.churn_risk,
        "erased": False,
    }


def _spikes(
    session: Session, *, recent_mentions: list[dict[str, Any]], settings: Settings, today: datetime
) -> list[alerts.AlertDraft]:
    """Spike alerts for the aspects this batch complained about today."""
    aspects = sorted({m["aspect"] for m in recent_mentions})
    if not aspects:
        return []
    day, days = today.date(), settings.feedback_spike_days
    counts = store.negative_mentions_per_day(session, aspects, first=day - timedelta(days=days), last=day)
    drafts = []
    for aspect in aspects:
        per_day = counts[aspect]
        trailing = sum(count for d, count in per_day.items() if d < day) / days
        if alerts.is_spike(
            per_day.get(day, 0), trailing, minimum=settings.feedback_spike_min, factor=settings.feedback_spike_factor
        ):
            drafts.append(alerts.spike_alert(aspect, day.isoformat(), per_day.get(day, 0), trailing, days=days))
    return drafts


def _alert(draft: alerts.AlertDraft, row: dict[str, Any] | None, *, at: datetime) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "rule": draft.rule,
        "status": "open",
        "severity": draft.severity,
        "title": draft.title,
        "detail": draft.detail,
        "customer_id": row["customer_id"] if row else None,
        "feedback_id": row["id"] if row else None,
        "aspect": draft.aspect,
        "dedup_key": draft.dedup_key,
        "created_at": at,
    }
