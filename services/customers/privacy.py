"""Privacy: export everything held about a person, and erase them.

A person is a live customer together with every row merged into it: exporting or erasing any of those
ids acts on all of them, so nothing about the person survives on an old tombstone.

Erase keeps, for analytics, the customer row (id, created_at, purchase facts) and the orders with their
items (amounts, skus, times, channel, source and the source's order number): the customer id is a random
UUID and nothing personal is left to tie it to the person. It removes or blanks:
- every profile field (names, contact, birth date, gender, income, occupation, education, places,
  signed_up_at, attributes; coarse fields too, since together they re-identify) and every consent;
- identities (a source's customer number identifies the person there) and tags;
- interactions keep type, time and source (activity counts) but lose their properties, which may carry
  anything (search terms, addresses, notes of a service call); their dedup key, a hash of the content,
  is replaced by "erased:<id>";
- the `data` of change events about the person's rows and orders, the details of their merge records
  and of audit records about them, and stored idempotent replies that mention them.
It then writes an `erased` change event per row (so other services erase too) and an audit record.
Erasing again is a no-op answered 204: DELETE is idempotent, and a retry after a lost reply is no error.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import String, cast, delete, insert, literal, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from rapport.db import as_utc

from . import merge, orders, store
from .models import (
    AuditRecord,
    Change,
    Customer,
    CustomerTag,
    IdempotentResponse,
    Identity,
    Interaction,
    Merge,
    Order,
)

CHUNK = 1000


def person_ids(session: Session, customer: Customer) -> list[uuid.UUID]:
    """The survivor `customer` leads to, then every row merged into it (at any depth)."""
    survivor = merge.survivor_of(session, customer)
    found = [survivor.id]
    frontier = [survivor.id]
    for _ in range(merge.MAX_CHAIN):
        frontier = list(session.scalars(select(Customer.id).where(Customer.merged_into.in_(frontier))))
        if not frontier:
            break
        found += frontier
    return found


def _chunks(values: Sequence[Any], size: int = 5000) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def erase(session: Session, customer: Customer, *, actor: str | None) -> bool:
    """Erase the person `customer` belongs to; False when they were already erased."""
    if customer.erased_at is not None:
        return False
    ids = person_ids(session, customer)
    locked = session.scalars(
        select(Customer)
        .where(Customer.id.in_(ids))
        .order_by(Customer.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    if any(row.erased_at is not None for row in locked):  # a concurrent erase got there first
        return False
    keys = [str(i) for i in ids]
    stamp = store.now()
    order_ids = list(session.scalars(select(Order.id).where(Order.customer_id.in_(ids))))
    interaction_ids = list(session.scalars(select(Interaction.id).where(Interaction.customer_id.in_(ids))))
    blank: dict[str, Any] = {name: None for name in store.PROFILE_FIELDS} | {"attributes": {}}
    blank |= {f"consent_{kind}{suffix}": None for kind in store.CONSENTS for suffix in ("", "_at")}
    session.execute(
        update(Customer)
        .where(Customer.id.in_(ids))
        .values(**blank, erased_at=stamp, updated_at=stamp, version=Customer.version + 1)
        .execution_options(synchronize_session=False)
    )
    identities = session.execute(delete(Identity).where(Identity.customer_id.in_(ids))).rowcount  # type: ignore[attr-defined]
    tags = session.execute(delete(CustomerTag).where(CustomerTag.customer_id.in_(ids))).rowcount  # type: ignore[attr-defined]
    session.execute(
        update(Interaction)
        .where(Interaction.customer_id.in_(ids))
        .values(properties={}, dedup_key=literal("erased:").concat(cast(Interaction.id, String)))
        .execution_options(synchronize_session=False)
    )
    _scrub_changes(session, "customer", keys)
    _scrub_changes(session, "order", [str(i) for i in order_ids])
    _scrub_changes(session, "interaction", [str(i) for i in interaction_ids])
    session.execute(
        update(Merge)
        .where(or_(Merge.survivor_id.in_(ids), Merge.merged_id.in_(ids)))
        .values(details={})
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(AuditRecord)
        .where(AuditRecord.target.in_(keys))
        .values(details={})
        .execution_options(synchronize_session=False)
    )
    # Replies kept for Idempotency-Key replays carry external ids and customer ids (bounded by their TTL).
    session.execute(delete(IdempotentResponse).where(or_(*[IdempotentResponse.body.contains(key) for key in keys])))
    session.expire_all()
    session.execute(
        insert(AuditRecord),
        {
            "at": stamp,
            "actor": actor,
            "action": "erase",
            "target": str(customer.id),
            "details": {
                "customer_ids": keys,
                "identities_deleted": identities,
                "tags_deleted": tags,
                "interactions_scrubbed": len(interaction_ids),
                "orders_kept": len(order_ids),
            },
        },
    )
    store.record_changes(session, "customer", "erased", keys)
    return True


def _scrub_changes(session: Session, entity: str, entity_ids: list[str]) -> None:
    for chunk in _chunks(entity_ids):
        session.execute(
            update(Change)
            .where(Change.entity == entity, Change.entity_id.in_(chunk))
            .values(data={})
            .execution_options(synchronize_session=False)
        )


# ---- export ------------------------------------------------------------------------------------------


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, uuid.UUID | date):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _json(value: object) -> bytes:
    return orjson.dumps(value, default=_default, option=orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC)


def _array(name: str, chunks: Iterable[list[Any]], *, first: bool = False) -> Iterator[bytes]:
    """`"name": [ ... ]` written chunk by chunk."""
    yield (b"" if first else b",") + _json(name) + b":["
    started = False
    for rows in chunks:
        if rows:
            body = b",".join(_json(row) for row in rows)
            yield (b"," if started else b"") + body
            started = True
    yield b"]"


def _keyset(session: Session, query: Any, key: Any) -> Iterator[list[Any]]:
    """The rows of `query` in pages of CHUNK, by increasing `key`."""
    after = None
    while True:
        page = query if after is None else query.where(key > after)
        rows = list(session.scalars(page.order_by(key).limit(CHUNK)))
        if not rows:
            return
        yield rows
        after = getattr(rows[-1], key.key)


def _row(obj: Any, columns: Sequence[str]) -> dict[str, Any]:
    return {name: as_utc(v) if isinstance(v, datetime) else v for name in columns for v in [getattr(obj, name)]}


def export_chunks(sessions: sessionmaker[Session], customer_id: uuid.UUID, *, currency: str) -> Iterator[bytes]:
    """One JSON document, streamed: every row held about the person `customer_id` belongs to."""
    with sessions() as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":  # one snapshot for the whole document
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        customer = store.get_customer_or_raise(session, customer_id)
        ids = person_ids(session, customer)
        keys = [str(i) for i in ids]
        profiles = store.to_read(
            session, list(session.scalars(select(Customer).where(Customer.id.in_(ids)))), currency=currency
        )
        profiles.sort(key=lambda p: (p.id != ids[0], str(p.id)))
        yield b'{"exported_at":' + _json(store.now()) + b',"customer_id":' + _json(ids[0])
        yield b',"customer_ids":' + _json(ids)
        yield b',"profiles":' + _json([p.model_dump(mode="json") for p in profiles])
        order_ids: list[int] = []

        def order_pages() -> Iterator[list[Any]]:
            for page in _keyset(session, select(Order).where(Order.customer_id.in_(ids)), Order.id):
                order_ids.extend(o.id for o in page)
                yield [o.model_dump(mode="json") for o in orders.to_read(session, page)]

        yield from _array("orders", order_pages())
        interaction_columns = ("id", "customer_id", "type", "occurred_at", "source", "properties")
        interactions = _keyset(session, select(Interaction).where(Interaction.customer_id.in_(ids)), Interaction.id)
        yield from _array("interactions", ([_row(i, interaction_columns) for i in page] for page in interactions))
        merge_columns = ("survivor_id", "merged_id", "merged_at", "actor", "details")
        merges = session.scalars(
            select(Merge).where(or_(Merge.survivor_id.in_(ids), Merge.merged_id.in_(ids))).order_by(Merge.id)
        )
        yield b',"merges":' + _json([_row(m, merge_columns) for m in merges])
        audit_columns = ("at", "actor", "action", "target", "details")
        audits = session.scalars(select(AuditRecord).where(AuditRecord.target.in_(keys)).order_by(AuditRecord.id))
        yield b',"audit":' + _json([_row(a, audit_columns) for a in audits])
        change_columns = ("seq", "occurred_at", "entity", "entity_id", "kind", "data")
        about = [("customer", keys), ("order", [str(i) for i in order_ids])]
        yield from _array(
            "changes",
            (
                [_row(c, change_columns) for c in page]
                for entity, entity_ids in about
                for chunk in _chunks(entity_ids)
                for page in _keyset(
                    session, select(Change).where(Change.entity == entity, Change.entity_id.in_(chunk)), Change.seq
                )
            ),
        )
        yield b"}"
