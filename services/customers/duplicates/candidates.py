"""Stored duplicate candidates: refreshed set-based, listed by an indexed keyset scan.

Freshness. The table follows the change feed: DuplicateRefresh holds the feed position (`change_seq`)
the stored pairs reflect. Every customer write (create, update, batch upsert, file import, merge,
erase) appends a `customer` change event in its transaction, so the customers changed since are the
feed's entity ids after that position. Before answering, the listing brings the table up to date:
  - never computed: a whole refresh (one INSERT ... SELECT of the statement in statements.py);
  - 1..CHANGED_LIMIT change events pending: an incremental refresh of the changed customers;
  - more pending (a bulk import): it answers from the table as it is, `stale: true` with the number of
    pending events; `POST /v1/duplicates:refresh` (a whole refresh) catches up.
A merged-away or erased customer is never listed, even from a stale table: pages join both customers
and keep only live ones.

Incremental refresh, exact. The scope starts as the changed customers D; it adds their stored partners
(every pair of a bounded group is stored, even at 0 points or less, so these are the members of the
groups D left), the members of groups D's current values fall in whose members outside the scope are
at most max_group (such a group may have been bounded before, so its pairs must be rechecked), and the
members of junk groups that shrank to max_group or fewer. Every pair with both customers in scope is
deleted and computed again, sizing each group over all its live members; a pair with a customer outside
the scope keeps every group it shares and every group's junk status, so it stays as stored.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    text,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.orm import Session, aliased

from rapport.db import bulk_insert

from .. import feed, schemas, store
from ..models import CandidatePair, Change, Customer, DuplicateRefresh, DuplicateScope, JunkKey
from . import rules, statements

CHANGED_LIMIT = 10_000  # change events a listing applies before answering; more wait for a refresh
JUNK_REPORTED = 20  # junk values reported per key on the first page
# Key of the PostgreSQL advisory lock that serialises refreshes ("rapp.dup" in ASCII).
REFRESH_LOCK = 0x7261_7070_2E64_7570
STATE_ID = 1


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _lock(session: Session) -> None:
    if _dialect(session) == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(REFRESH_LOCK)))
        # The group-size filters defeat row estimates; on over-estimates PostgreSQL would spend longer
        # JIT-compiling the statement (about 1 s) than running it.
        session.execute(text("SET LOCAL jit = off"))
    # The first write takes SQLite's single writer lock until the commit.
    session.execute(delete(DuplicateScope))


def _state(session: Session) -> DuplicateRefresh | None:
    return session.scalars(
        select(DuplicateRefresh).where(DuplicateRefresh.id == STATE_ID).execution_options(populate_existing=True)
    ).first()


def _feed_position(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(Change.seq), 0))) or 0)


def _customer_events(after: int, upto: int) -> Any:
    return and_(Change.entity == "customer", Change.seq > after, Change.seq <= upto)


def _save_state(session: Session, *, upto: int, stamp: datetime, whole: bool, changed: int = 0) -> None:
    state = _state(session)
    if state is None:
        state = DuplicateRefresh(id=STATE_ID, change_seq=upto, computed_at=stamp, refreshed_all_at=stamp)
        session.add(state)
    state.change_seq, state.computed_at = upto, stamp
    if whole:
        state.refreshed_all_at, state.changed_since_all = stamp, 0
    else:
        state.changed_since_all = (state.changed_since_all or 0) + changed
    session.flush()


def _scope_values(session: Session) -> statements.Values:
    return {
        key.name: [tuple(row) for row in session.execute(statements.scope_values(key).distinct())] for key in rules.KEYS
    }


def _insert_pairs(session: Session, *, stamp: datetime, scoped: statements.Values | None) -> int:
    scored = statements.scored(_dialect(session), scoped=scoped).subquery("scored")
    rows = select(scored.c.a, scored.c.b, scored.c.points, scored.c.mask, literal(stamp, DateTime(timezone=True)))
    columns = ["customer_a", "customer_b", "points", "reasons", "computed_at"]
    session.execute(insert(CandidatePair).from_select(columns, rows))
    written = select(func.count()).select_from(CandidatePair)
    if scoped is not None:
        scope = select(DuplicateScope.customer_id)
        written = written.where(CandidatePair.customer_a.in_(scope), CandidatePair.customer_b.in_(scope))
    return int(session.scalar(written) or 0)


def _insert_junk(session: Session, key: rules.BlockingKey, *, scoped: statements.Values | None) -> None:
    groups = statements.junk_groups(key, scoped=scoped).subquery("groups")
    values = list(groups.c)[:-1]
    rows = select(literal(key.name), *values, groups.c.n)
    if scoped is not None:  # groups already stored were recounted
        stored = [getattr(JunkKey, name) for name in key.stored]
        rows = rows.where(
            ~exists().where(JunkKey.key == key.name, *[s == v for s, v in zip(stored, values, strict=True)])
        )
    session.execute(insert(JunkKey).from_select(["key", *key.stored, "customers"], rows))


def refresh_all(session: Session) -> schemas.DuplicateRefreshRead:
    """Recompute every stored pair and junk key from the whole base; returns what it stored."""
    started = time.perf_counter()
    _lock(session)
    upto, stamp = _feed_position(session), store.now()
    session.execute(delete(CandidatePair))
    session.execute(delete(JunkKey))
    pairs = _insert_pairs(session, stamp=stamp, scoped=None)
    for key in rules.KEYS:
        _insert_junk(session, key, scoped=None)
    _save_state(session, upto=upto, stamp=stamp, whole=True)
    return _refreshed(session, "all", None, pairs, stamp, started)


def _refreshed(
    session: Session, mode: str, customers: int | None, pairs: int, stamp: datetime, started: float
) -> schemas.DuplicateRefreshRead:
    junk = int(session.scalar(select(func.count()).select_from(JunkKey)) or 0)
    seconds = round(time.perf_counter() - started, 3)
    return schemas.DuplicateRefreshRead(
        computed_at=stamp, mode=mode, customers=customers, pairs=pairs, skipped_keys=junk, seconds=seconds
    )


def _scope_missing(column: Any) -> Any:
    return column.not_in(select(DuplicateScope.customer_id))


def _recount_junk(session: Session, key: rules.BlockingKey, *, drift: int, values: statements.Values) -> None:
    """Recount the key's stored junk groups that may have shrunk to max_group or fewer, and those the
    scope's customers are in; those now within max_group join the scope and are dropped.

    A stored count runs high by at most `drift`, the customers changed since the last whole refresh
    (only a changed customer can have left a group), so a group stored with more than max_group + drift
    is still junk and is not recounted (recounting all, tens of thousands at 1M customers, takes minutes).
    """
    c = aliased(Customer, name="member")
    stored = [getattr(JunkKey, name) for name in key.stored]
    match = [rules.live(c), *key.present(c), *[p == s for p, s in zip(key.parts(c), stored, strict=True)]]
    count = select(func.count()).where(*match).scalar_subquery()
    held = tuple_(*stored).in_(values[key.name])
    for which in (JunkKey.customers <= key.max_group + drift, held):
        session.execute(update(JunkKey).where(JunkKey.key == key.name, which).values(customers=count))
    released = and_(JunkKey.key == key.name, JunkKey.customers <= key.max_group)
    members = select(c.id).join(JunkKey, and_(*match[2:])).where(released, *match[:2], _scope_missing(c.id))
    session.execute(insert(DuplicateScope).from_select(["customer_id"], members.distinct()))
    session.execute(delete(JunkKey).where(released))


def _add_group_members(session: Session, key: rules.BlockingKey, *, values: statements.Values) -> None:
    """Add the members of the scope's groups whose members outside the scope are at most max_group."""
    parts = key.parts(Customer)
    inside = Customer.id.in_(select(DuplicateScope.customer_id))
    groups = (
        select(
            Customer.id.label("id"),
            inside.label("inside"),
            func.count().over(partition_by=parts).label("n"),
            func.sum(case((inside, 1), else_=0)).over(partition_by=parts).label("s"),
        )
        .where(rules.live(), *key.present(Customer), statements.in_scope_groups(key, values))
        .subquery("groups")
    )
    members = select(groups.c.id).where(groups.c.n - groups.c.s <= key.max_group, ~groups.c.inside)
    session.execute(insert(DuplicateScope).from_select(["customer_id"], members))


def refresh_changed(session: Session, *, after: int, upto: int) -> schemas.DuplicateRefreshRead:
    """Recompute the pairs of the customers changed between two feed positions (see the module doc)."""
    started, stamp = time.perf_counter(), store.now()
    changed = session.scalars(select(Change.entity_id).where(_customer_events(after, upto)).distinct()).all()
    bulk_insert(session, DuplicateScope, [{"customer_id": uuid.UUID(i)} for i in changed])
    partners = union_all(
        select(CandidatePair.customer_b.label("id")).join(
            DuplicateScope, DuplicateScope.customer_id == CandidatePair.customer_a
        ),
        select(CandidatePair.customer_a.label("id")).join(
            DuplicateScope, DuplicateScope.customer_id == CandidatePair.customer_b
        ),
    ).subquery("partners")
    session.execute(
        insert(DuplicateScope).from_select(
            ["customer_id"], select(partners.c.id).where(_scope_missing(partners.c.id)).distinct()
        )
    )
    state = _state(session)
    drift = (state.changed_since_all if state else 0) + len(changed)
    values = _scope_values(session)
    for key in rules.KEYS:
        _recount_junk(session, key, drift=drift, values=values)
    values = _scope_values(session)
    for key in rules.KEYS:
        _add_group_members(session, key, values=values)
    values = _scope_values(session)
    for key in rules.KEYS:
        _insert_junk(session, key, scoped=values)
    scope = select(DuplicateScope.customer_id)
    session.execute(
        delete(CandidatePair).where(CandidatePair.customer_a.in_(scope), CandidatePair.customer_b.in_(scope))
    )
    pairs = _insert_pairs(session, stamp=stamp, scoped=values)
    customers = int(session.scalar(select(func.count()).select_from(DuplicateScope)) or 0)
    session.execute(delete(DuplicateScope))
    _save_state(session, upto=upto, stamp=stamp, whole=False, changed=len(changed))
    return _refreshed(session, "changed", customers, pairs, stamp, started)


def catch_up(session: Session) -> tuple[DuplicateRefresh, int]:
    """Bring the stored pairs up to the change feed as the listing does (module doc); returns the state
    and the number of change events still pending (0 unless more than CHANGED_LIMIT were)."""
    upto = _feed_position(session)
    state = _state(session)
    if state is not None and state.change_seq >= upto:
        return state, 0
    pending_rows = select(Change.seq).where(_customer_events(state.change_seq if state else 0, upto))
    if state is not None:
        pending = int(session.scalar(select(func.count()).select_from(pending_rows.subquery())) or 0)
        if pending > CHANGED_LIMIT:
            return state, pending
        if state.change_seq < feed.pruned_through(session):
            # Events not applied yet were pruned by retention: only a whole refresh is exact now.
            return state, max(pending, 1)
    _lock(session)
    state = _state(session)  # another refresh may have run while this one waited
    upto = _feed_position(session)
    if state is None:
        refresh_all(session)
    elif not session.scalar(select(exists().where(_customer_events(state.change_seq, upto)))):
        _save_state(session, upto=upto, stamp=state.computed_at, whole=False)  # only other entities changed
    elif state.change_seq < upto:
        refresh_changed(session, after=state.change_seq, upto=upto)
    state = _state(session)
    assert state is not None
    return state, 0
