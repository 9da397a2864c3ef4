"""Merge duplicate customers into a survivor, in one transaction.

What moves: identities, orders and interactions are re-pointed to the survivor; tags are unioned;
purchase facts of everyone involved are recomputed from the orders. Profile fields: a value the
survivor has always wins; an empty one (null) is filled from the merged customers, the most recently
updated first; attributes are unioned key by key with the same precedence. Consents: for each kind,
the most recent decision wins (latest `consent_*_at`; the survivor wins a tie).

What stays: each merged row remains as a tombstone with `merged_into` = the survivor, its own profile
as it was, and a Merge row. Rows merged earlier into a now-merged customer are re-pointed straight to
the new survivor, so chains stay one hop long (readers still follow longer ones).
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from rapport.db import as_utc
from rapport.errors import Conflict, Gone, Invalid, NotFound

from . import orders, store
from .models import AuditRecord, Customer, Identity, Interaction, Merge, Order

MAX_CHAIN = 8


def survivor_of(session: Session, customer: Customer) -> Customer:
    """The live row `customer` was merged into (itself if it was not), following chains."""
    current = customer
    for _ in range(MAX_CHAIN):
        if current.merged_into is None:
            return current
        current = store.get_customer_or_raise(session, current.merged_into)
    raise RuntimeError(f"merge chain from {customer.id} is longer than {MAX_CHAIN}")


def _check(survivor_id: uuid.UUID, from_ids: list[uuid.UUID], rows: dict[uuid.UUID, Customer]) -> None:
    """Raise the first problem with this merge request, naming the ids at fault."""
    survivor = rows.get(survivor_id)
    if survivor is None:
        raise NotFound(f"No customer with id {survivor_id}.")
    if survivor.erased_at is not None:
        raise Gone(f"Customer {survivor_id} was erased; nothing can be merged into it.")
    if survivor.merged_into is not None:
        raise Conflict(
            f"Customer {survivor_id} was merged into {survivor.merged_into}; merge into that customer instead.",
            merged_into={str(survivor_id): str(survivor.merged_into)},
        )
    repeated = [str(i) for i, n in Counter(from_ids).items() if n > 1]
    if repeated:
        raise Invalid(
            f"`from` names these ids more than once: {', '.join(repeated)}.",
            errors=[{"loc": "body.from", "msg": f"repeated id {i}"} for i in repeated],
        )
    if survivor_id in from_ids:
        raise Invalid(
            f"A customer cannot be merged into itself: remove {survivor_id} from `from`.",
            errors=[{"loc": f"body.from.{from_ids.index(survivor_id)}", "msg": "the survivor itself"}],
        )
    unknown = [(n, i) for n, i in enumerate(from_ids) if i not in rows]
    if unknown:
        raise Invalid(
            f"No customer with id {', '.join(str(i) for _, i in unknown)}.",
            errors=[{"loc": f"body.from.{n}", "msg": f"no customer with id {i}"} for n, i in unknown],
        )
    erased = [str(i) for i in from_ids if rows[i].erased_at is not None]
    if erased:
        raise Conflict(f"These customers were erased and cannot be merged: {', '.join(erased)}.", erased=erased)
    merged = {str(i): str(rows[i].merged_into) for i in from_ids if rows[i].merged_into is not None}
    if merged:
        named = ", ".join(f"{i} into {s}" for i, s in merged.items())
        raise Conflict(f"Already merged: {named}. Merge their survivors instead.", merged_into=merged)


def _at(value: datetime | None) -> datetime:
    return as_utc(value) or datetime.min.replace(tzinfo=store.now().tzinfo)


def _fill_profile(survivor: Customer, merged: list[Customer]) -> dict[uuid.UUID, list[str]]:
    """Fill the survivor's empty fields and settle consents; returns the fields taken from each merged id."""
    newest_first = sorted(merged, key=lambda c: _at(c.updated_at), reverse=True)
    taken: dict[uuid.UUID, list[str]] = {c.id: [] for c in merged}
    for name in store.PROFILE_FIELDS:
        if name == "attributes" or getattr(survivor, name) is not None:
            continue
        donor = next((c for c in newest_first if getattr(c, name) is not None), None)
        if donor is not None:
            setattr(survivor, name, getattr(donor, name))
            taken[donor.id].append(name)
    original = survivor.attributes or {}
    attributes: dict[str, Any] = {}
    for customer in reversed(newest_first):
        attributes |= customer.attributes or {}
    attributes |= original
    if attributes != original:
        survivor.attributes = attributes
        for customer in merged:
            if any(k not in original and attributes[k] == v for k, v in (customer.attributes or {}).items()):
                taken[customer.id].append("attributes")
    for kind in store.CONSENTS:
        granted, at = f"consent_{kind}", f"consent_{kind}_at"
        decided = [c for c in merged if getattr(c, granted) is not None and getattr(c, at) is not None]
        latest = max(decided, key=lambda c: _at(getattr(c, at)), default=None)
        if latest is None:
            continue
        if getattr(survivor, granted) is None or _at(getattr(latest, at)) > _at(getattr(survivor, at)):
            setattr(survivor, granted, getattr(latest, granted))
            setattr(survivor, at, getattr(latest, at))
            taken[latest.id].append(granted)
    return taken


def _counts(session: Session, column: InstrumentedAttribute[uuid.UUID], ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    rows = session.execute(select(column, func.count()).where(column.in_(ids)).group_by(column))
    return {customer_id: int(n) for customer_id, n in rows}


def merge(session: Session, survivor_id: uuid.UUID, from_ids: list[uuid.UUID], *, actor: str | None) -> Customer:
    """Merge the `from_ids` customers into `survivor_id` and return the survivor.

    Raises NotFound (survivor unknown), Gone (survivor erased), Invalid (an id repeated, unknown or the
    survivor itself), Conflict (a merged-away survivor, or a `from` id already merged or erased).
    """
    # Rows are locked in id order, so two concurrent merges cannot deadlock; the second one waits and
    # then sees what the first one merged.
    locked = session.scalars(
        select(Customer)
        .where(Customer.id.in_({survivor_id, *from_ids}))
        .order_by(Customer.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    rows = {row.id: row for row in locked}
    _check(survivor_id, from_ids, rows)
    survivor, merged = rows[survivor_id], [rows[i] for i in from_ids]
    stamp = store.now()
    moved = {
        "identities": _counts(session, Identity.customer_id, from_ids),
        "orders": _counts(session, Order.customer_id, from_ids),
        "interactions": _counts(session, Interaction.customer_id, from_ids),
    }
    tags = store.tags_of(session, [survivor_id, *from_ids])
    union = sorted({tag for customer_tags in tags.values() for tag in customer_tags})
    filled = _fill_profile(survivor, merged)
    for table in (Identity, Order, Interaction):
        session.execute(update(table).where(table.customer_id.in_(from_ids)).values(customer_id=survivor_id))
    session.execute(update(Customer).where(Customer.merged_into.in_(from_ids)).values(merged_into=survivor_id))
    store.set_tags(session, [survivor_id, *from_ids], {survivor_id: union})
    for customer in merged:
        customer.merged_into = survivor_id
        customer.version += 1
        customer.updated_at = stamp
    survivor.version += 1
    survivor.updated_at = stamp
    session.flush()
    orders.refresh_purchase_facts(session, [survivor_id, *from_ids])
    session.refresh(survivor)
    details = {
        i: {
            **{what: counts.get(i, 0) for what, counts in moved.items()},
            "tags": len(tags.get(i, [])),
            "filled": filled[i],
        }
        for i in from_ids
    }
    session.execute(
        insert(Merge),
        [
            {"survivor_id": survivor_id, "merged_id": i, "merged_at": stamp, "actor": actor, "details": details[i]}
            for i in from_ids
        ],
    )
    session.execute(
        insert(AuditRecord),
        [
            {
                "at": stamp,
                "actor": actor,
                "action": "merge",
                "target": str(i),
                "details": {"survivor_id": str(survivor_id), **details[i]},
            }
            for i in from_ids
        ],
    )
    store.record_changes(session, "customer", "merged", from_ids, {"survivor_id": str(survivor_id)})
    store.record_changes(session, "customer", "updated", [survivor_id])
    return survivor
