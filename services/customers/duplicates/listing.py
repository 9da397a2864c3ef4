"""The whole-base listing: pages of stored candidate pairs, best first, by an indexed keyset scan."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, and_, select, union_all
from sqlalchemy.orm import Session, aliased

from rapport.pagination import decode_cursor, encode_cursor

from .. import schemas
from ..models import CandidatePair, Customer, JunkKey
from . import candidates, rules


def _ranked(*where: Any, limit: int) -> Select[Any]:
    """Stored pairs of two live customers (the join keeps a stale table from proposing a merged-away or
    erased one), in rank order, from the rank index."""
    a, b = aliased(Customer, name="a"), aliased(Customer, name="b")
    pair = CandidatePair
    query: Any = (
        select(pair.customer_a, pair.customer_b, pair.reasons, pair.points)
        .join(a, a.id == pair.customer_a)
        .join(b, b.id == pair.customer_b)
        .where(*where, rules.live(a), rules.live(b))
        .order_by(pair.points.desc(), pair.customer_a, pair.customer_b)
        .limit(limit)
    )
    return query


def list_pairs(session: Session, *, limit: int, cursor: str | None, min_score: float) -> schemas.DuplicatePage:
    """A page of candidate pairs over the whole base, best first (ties in id order), and the junk keys
    skipped (on the first page); brings the stored pairs up to date first (candidates.catch_up).
    Raises Invalid (422) for a cursor this service did not issue."""
    after = decode_cursor(cursor, arity=3)
    state, pending = candidates.catch_up(session)
    pair, floor = CandidatePair, rules.min_points(min_score)
    query: Any
    if after is None:
        query = _ranked(pair.points >= floor, limit=limit + 1)
    else:
        # Two index range scans: the rest of the cursor's points, then the lower points.
        points, a, b = int(after[0]), uuid.UUID(str(after[1])), uuid.UUID(str(after[2]))
        same = and_(pair.points == points, (pair.customer_a > a) | and_(pair.customer_a == a, pair.customer_b > b))
        lower = and_(pair.points < points, pair.points >= floor)
        parts = [_ranked(where, limit=limit + 1).subquery(name) for name, where in (("same", same), ("lower", lower))]
        both = union_all(*[select(part) for part in parts]).subquery("ranked")
        query = select(both).order_by(both.c.points.desc(), both.c.customer_a, both.c.customer_b).limit(limit + 1)
    rows = session.execute(query).all()
    items = [
        schemas.DuplicatePair(customer_ids=(a, b), score=rules.score_of(points), reasons=rules.reasons_of(mask))
        for a, b, mask, points in rows[:limit]
    ]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor([int(last[3]), str(last[0]), str(last[1])])
    return schemas.DuplicatePage(
        items=items,
        next_cursor=next_cursor,
        skipped_keys=skipped_keys(session) if cursor is None else None,
        computed_at=state.computed_at,
        stale=pending > 0,
        pending_changes=pending,
    )


def skipped_keys(session: Session) -> list[schemas.SkippedKey]:
    """The stored junk values, the most shared first, up to JUNK_REPORTED per key."""
    skipped: list[schemas.SkippedKey] = []
    for key in rules.KEYS:
        stored = [getattr(JunkKey, name) for name in key.stored]
        rows = session.execute(
            select(*stored, JunkKey.customers)
            .where(JunkKey.key == key.name)
            .order_by(JunkKey.customers.desc(), *stored)
            .limit(candidates.JUNK_REPORTED)
        ).all()
        skipped += [
            schemas.SkippedKey(key=key.name, value=[rules.value_text(v) for v in row[:-1]], customers=row[-1])
            for row in rows
        ]
    return skipped
