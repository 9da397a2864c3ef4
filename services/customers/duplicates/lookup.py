"""One customer's duplicate candidates, computed live: an indexed equality per blocking key."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import schemas, store
from ..models import Customer
from . import rules


def for_customer(
    session: Session, customer: Customer, *, currency: str, min_score: float = rules.DEFAULT_MIN_SCORE
) -> schemas.CustomerDuplicates:
    """The live customers that may be the same person as `customer`, best first, scored like the
    whole-base listing; each lookup is an indexed equality on one key value."""
    values = session.execute(
        select(*[part for key in rules.KEYS for part in key.parts(Customer)]).where(Customer.id == customer.id)
    ).one()
    masks: dict[uuid.UUID, int] = {}
    skipped: list[schemas.SkippedKey] = []
    offset = 0
    for key in rules.KEYS:
        parts = key.parts(Customer)
        own = list(values[offset : offset + len(parts)])
        offset += len(parts)
        if any(v is None for v in own) or (key.name.startswith("name") and own[0] == own[1] == ""):
            continue
        same = [part == v for part, v in zip(parts, own, strict=True)]
        others = list(
            session.scalars(
                select(Customer.id).where(rules.live(), Customer.id != customer.id, *same).limit(key.max_group)
            )
        )
        if len(others) >= key.max_group:  # with this customer, more than max_group share it
            shared = session.scalar(select(func.count()).where(rules.live(), *same))
            skipped.append(
                schemas.SkippedKey(key=key.name, value=[rules.value_text(v) for v in own], customers=int(shared or 0))
            )
            continue
        for other in others:
            masks[other] = masks.get(other, 0) | key.bit
    rows = {row.id: row for row in session.scalars(select(Customer).where(Customer.id.in_(list(masks))))}
    scored = []
    for other, mask in masks.items():
        full = mask | rules.conflicts_of(customer, rows[other])
        points = rules.points_of(full)
        if points >= rules.min_points(min_score):
            scored.append((points, other, full))
    scored.sort(key=lambda item: (-item[0], str(item[1])))
    reads = {read.id: read for read in store.to_read(session, [rows[o] for _, o, _ in scored], currency=currency)}
    items = [
        schemas.DuplicateCandidate(
            customer_id=other, score=rules.score_of(points), reasons=rules.reasons_of(mask), customer=reads[other]
        )
        for points, other, mask in scored
    ]
    return schemas.CustomerDuplicates(customer_id=customer.id, items=items, skipped_keys=skipped)
