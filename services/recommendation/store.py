"""Every query of the recommendation service. Functions take the session and never commit."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from datetime import datetime

import pandas as pd
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from rapport import jobs
from rapport.db import bulk_insert

from .models import AssociationRule, Event, ModelRun

KEEP_ARTIFACTS = 3  # older model versions keep their metrics; their artifacts and rules are dropped


def list_models(session: Session, *, limit: int) -> Sequence[ModelRun]:
    return session.scalars(select(ModelRun).order_by(ModelRun.created_at.desc()).limit(limit)).all()


def artifact_of(session: Session, model_id: uuid.UUID) -> bytes | None:
    # Selecting the deferred column by name loads it; only serving ever needs the bytes.
    return session.scalar(select(ModelRun.artifact).where(ModelRun.id == model_id))


def latest_model_id(session: Session) -> uuid.UUID | None:
    run = jobs.last_succeeded(session, ModelRun)
    return run.id if run is not None else None


def save_rules(session: Session, model_id: uuid.UUID, rules: pd.DataFrame) -> None:
    rows = [
        {
            "model_id": model_id,
            "level": level,
            "antecedent": sorted(map(str, a)),
            "consequent": sorted(map(str, c)),
            "antecedent_key": "|".join(sorted(map(str, a)))[:400],
            "support": float(s),
            "confidence": float(conf),
            "lift": float(lift),
            "leverage": float(lev),
            "conviction": None if math.isinf(conv) else float(conv),
        }
        for level, a, c, s, conf, lift, lev, conv in zip(
            rules["level"], rules["antecedents"], rules["consequents"], rules["support"], rules["confidence"],
            rules["lift"], rules["leverage"], rules["conviction"], strict=True,
        )
    ]  # fmt: skip
    bulk_insert(session, AssociationRule, rows)


def list_rules(
    session: Session, model_id: uuid.UUID, *, level: str, min_lift: float, antecedent: str | None, limit: int
) -> Sequence[AssociationRule]:
    query = select(AssociationRule).where(
        AssociationRule.model_id == model_id, AssociationRule.level == level, AssociationRule.lift >= min_lift
    )
    if antecedent is not None:
        query = query.where(AssociationRule.antecedent_key == antecedent)
    return session.scalars(query.order_by(AssociationRule.lift.desc(), AssociationRule.id).limit(limit)).all()


def prune_old_models(session: Session) -> None:
    kept = list(
        session.scalars(
            select(ModelRun.id)
            .where(ModelRun.status == jobs.RunStatus.succeeded.value)
            .order_by(ModelRun.finished_at.desc())
            .limit(KEEP_ARTIFACTS)
        )
    )
    session.execute(update(ModelRun).where(ModelRun.id.not_in(kept)).values(artifact=None))
    session.execute(delete(AssociationRule).where(AssociationRule.model_id.not_in(kept)))


def add_event(session: Session, *, customer_id: str, sku: str, kind: str, weight: float, occurred_at: datetime) -> None:
    session.add(Event(customer_id=customer_id, sku=sku, kind=kind, weight=weight, occurred_at=occurred_at))


def events_since(session: Session, customer_id: str, since: datetime) -> list[tuple[str, str]]:
    rows = session.execute(
        select(Event.sku, Event.kind).where(Event.customer_id == customer_id, Event.occurred_at >= since).limit(1000)
    )
    return [(sku, kind) for sku, kind in rows]


def forget_customers(session: Session, customer_ids: list[str]) -> None:
    """Drop the real-time events of erased customers."""
    session.execute(delete(Event).where(Event.customer_id.in_(customer_ids)))


def event_customers_after(session: Session, after_id: int) -> tuple[list[str], int]:
    """Customers with an event of id above `after_id`, and the highest id seen (for the next call)."""
    rows = session.execute(
        select(Event.id, Event.customer_id).where(Event.id > after_id).order_by(Event.id).limit(100_000)
    )
    seen = [(event_id, customer) for event_id, customer in rows]
    return [customer for _, customer in seen], (seen[-1][0] if seen else after_id)
