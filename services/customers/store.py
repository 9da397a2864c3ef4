"""Every query of the customers service about profiles, identities, tags and the change feed.

Functions take the session keyword-only after the first argument and never commit: the request (or
job) that calls them owns the transaction.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, insert, select
from sqlalchemy.orm import Session

from rapport.db import as_utc, bulk_insert, read_rows
from rapport.errors import Conflict, NotFound
from rapport.pagination import decode_cursor, encode_cursor

from . import cleaning, schemas
from .models import Change, Customer, CustomerTag, Identity

# Customer columns a client writes: the cleaned fields (tags live in their own table), plus signed_up_at;
# everything else on the row is derived or managed.
PROFILE_FIELDS = (
    *(name for name in cleaning.CUSTOMER_FIELDS if name not in ("tags", "attributes")),
    "signed_up_at",
    "attributes",
)
CONSENTS = ("email", "sms", "personalisation")


def now() -> datetime:
    return datetime.now(UTC)


def get_customer_or_raise(session: Session, customer_id: uuid.UUID) -> Customer:
    """The customer row (merged-away rows included, with `merged_into` set); raises NotFound."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"No customer with id {customer_id}.")
    return customer


def _of_customers(key: Any, *columns: Any, order_by: tuple[Any, ...]) -> tuple[Select[Any], Select[Any]]:
    """`columns` of one customer's rows and of many customers' rows, built once (see `read_rows`). One id
    (a profile read) compares with `=`; many with an expanding IN, rendered for the list's length."""
    query = select(key, *columns).order_by(*order_by)
    return query.where(key == bindparam("id")), query.where(key.in_(bindparam("ids", expanding=True)))


def _rows_of(session: Session, statements: tuple[Select[Any], Select[Any]], ids: Sequence[uuid.UUID]) -> Any:
    one, many = statements
    return read_rows(session, one, id=ids[0]) if len(ids) == 1 else read_rows(session, many, ids=list(ids))


_TAGS = _of_customers(CustomerTag.customer_id, CustomerTag.tag, order_by=(CustomerTag.tag,))
_IDENTITIES = _of_customers(
    Identity.customer_id, Identity.source, Identity.external_id, order_by=(Identity.source, Identity.external_id)
)


def tags_of(session: Session, customer_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    found: dict[uuid.UUID, list[str]] = defaultdict(list)
    if customer_ids:
        for customer_id, tag in _rows_of(session, _TAGS, customer_ids):
            found[customer_id].append(tag)
    return found


def identities_of(session: Session, customer_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[schemas.IdentityRef]]:
    found: dict[uuid.UUID, list[schemas.IdentityRef]] = defaultdict(list)
    if customer_ids:
        for customer_id, source, external_id in _rows_of(session, _IDENTITIES, customer_ids):
            found[customer_id].append(schemas.IdentityRef(source=source, external_id=external_id))
    return found


def to_read(session: Session, customers: Sequence[Customer], *, currency: str) -> list[schemas.CustomerRead]:
    """API representations of `customers`, loading their tags and identities in two queries."""
    ids = [customer.id for customer in customers]
    tags = tags_of(session, ids)
    identities = identities_of(session, ids)
    return [
        schemas.CustomerRead(
            id=c.id,
            **{field: getattr(c, field) for field in PROFILE_FIELDS if field not in ("attributes", "signed_up_at")},
            signed_up_at=as_utc(c.signed_up_at),
            attributes=c.attributes or {},
            tags=tags.get(c.id, []),
            consents={
                name: schemas.Consent(
                    granted=getattr(c, f"consent_{name}"), at=as_utc(getattr(c, f"consent_{name}_at"))
                )
                for name in CONSENTS
            },
            identities=identities.get(c.id, []),
            purchases=schemas.PurchaseFacts(
                first_order_at=as_utc(c.first_order_at),
                last_order_at=as_utc(c.last_order_at),
                order_count=c.order_count,
                total_spent=c.total_spent,
                currency=currency,
            ),
            created_at=as_utc(c.created_at),
            updated_at=as_utc(c.updated_at),
            version=c.version,
            merged_into=c.merged_into,
        )
        for c in customers
    ]


def list_customers(
    session: Session, *, limit: int, cursor: str | None, with_total: bool = False
) -> tuple[list[Customer], str | None, int | None]:
    """A page of live customers in id order, the cursor of the next page, and the total if asked."""
    after = decode_cursor(cursor, arity=1)
    live = Customer.merged_into.is_(None) & Customer.erased_at.is_(None)
    query = select(Customer).where(live).order_by(Customer.id).limit(limit + 1)
    if after is not None:
        query = query.where(Customer.id > uuid.UUID(str(after[0])))
    rows = list(session.scalars(query))
    next_cursor = encode_cursor([str(rows[limit - 1].id)]) if len(rows) > limit else None
    total = session.scalar(select(func.count()).select_from(Customer).where(live)) if with_total else None
    return rows[:limit], next_cursor, total


def set_tags(session: Session, customer_ids: Iterable[uuid.UUID], tags: dict[uuid.UUID, list[str]]) -> None:
    """Replace the tags of `customer_ids` with `tags` (ids missing from `tags` end with none)."""
    ids = list(customer_ids)
    if not ids:
        return
    session.execute(delete(CustomerTag).where(CustomerTag.customer_id.in_(ids)))
    rows = [{"customer_id": cid, "tag": tag} for cid in ids for tag in tags.get(cid, [])]
    if rows:
        bulk_insert(session, CustomerTag, rows)


def identity_owners(session: Session, refs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], uuid.UUID]:
    """(source, external_id) -> id of the live customer it belongs to, following merges."""
    by_source: dict[str, set[str]] = defaultdict(set)
    for source, external_id in refs:
        by_source[source].add(external_id)
    owners: dict[tuple[str, str], uuid.UUID] = {}
    for source, external_ids in by_source.items():
        ids = list(external_ids)
        for start in range(0, len(ids), 5000):  # stay under every backend's bound-parameter limit
            rows = session.execute(
                select(Identity.external_id, Identity.customer_id).where(
                    Identity.source == source, Identity.external_id.in_(ids[start : start + 5000])
                )
            )
            owners.update({(source, external_id): customer_id for external_id, customer_id in rows})
    return owners


def add_identities(session: Session, customer_id: uuid.UUID, refs: Sequence[schemas.IdentityRef]) -> None:
    """Attach identities to a customer; Conflict if one already belongs to someone else."""
    owners = identity_owners(session, [(ref.source, ref.external_id) for ref in refs])
    taken = [f"{source}/{external_id}" for (source, external_id), owner in owners.items() if owner != customer_id]
    if taken:
        raise Conflict(f"Identity already belongs to another customer: {', '.join(taken)}.", identities=taken)
    new = [ref for ref in refs if (ref.source, ref.external_id) not in owners]
    if new:
        stamp = now()
        session.execute(
            insert(Identity),
            [
                {"source": r.source, "external_id": r.external_id, "customer_id": customer_id, "created_at": stamp}
                for r in new
            ],
        )


# Key of the PostgreSQL advisory lock that orders change-feed writers ("rapp.chg" in ASCII).
CHANGE_FEED_LOCK = 0x7261_7070_2E63_6867


def record_changes(
    session: Session, entity: str, kind: str, ids: Iterable[Any], data: dict[str, Any] | None = None
) -> None:
    """Append events to the change feed (one row per id, in the caller's transaction).

    Call it as the last write of the transaction: from here to the commit, other writers of the feed
    wait, so sequence numbers are handed out in commit order and a follower reading `seq > cursor`
    never skips a row that commits late with a lower seq. PostgreSQL takes a transaction-scoped
    advisory lock for this (released by the commit or rollback); SQLite's single writer lock, held
    from the first write to the commit, already gives the same order.
    """
    stamp = now()
    rows = [
        {"occurred_at": stamp, "entity": entity, "entity_id": str(i), "kind": kind, "data": data or {}} for i in ids
    ]
    if rows:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(select(func.pg_advisory_xact_lock(CHANGE_FEED_LOCK)))
        bulk_insert(session, Change, rows)


def list_changes(session: Session, *, after: int, limit: int) -> list[Change]:
    """Up to `limit` events with seq > `after`, in seq (= commit) order."""
    return list(session.scalars(select(Change).where(Change.seq > after).order_by(Change.seq).limit(limit)))


def current_profiles(session: Session, customer_ids: set[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """Writable columns, version and tags of `customer_ids`, keyed by id. A merged-away customer's
    entry is its survivor's profile, so writes through an old identity land on the survivor.

    The rows are locked for the rest of the transaction (FOR UPDATE on PostgreSQL; SQLite has one
    writer anyway), in id order so that two batches never deadlock: a merge, erase or update committed
    while this batch waited is seen, so the batch never writes onto a merged-away or erased row and
    never loses a concurrent update."""
    columns = [getattr(Customer, name) for name in PROFILE_FIELDS]
    consents = [getattr(Customer, f"consent_{name}") for name in CONSENTS]
    profiles: dict[uuid.UUID, dict[str, Any]] = {}
    wanted = set(customer_ids)
    redirects: dict[uuid.UUID, uuid.UUID] = {}
    for _ in range(8):  # merge chains are short; the bound guards against a cycle
        if not wanted:
            break
        ids = sorted(wanted)
        wanted = set()
        for start in range(0, len(ids), 5000):
            query = select(
                Customer.id, Customer.version, Customer.merged_into, Customer.erased_at, *columns, *consents
            ).where(Customer.id.in_(ids[start : start + 5000]))
            query = query.order_by(Customer.id).with_for_update(of=Customer)
            for row in session.execute(query).mappings():
                if row["erased_at"] is not None:
                    # Erasure removes identities, so only a batch that looked them up just before sees this.
                    raise Conflict(f"Customer {row['id']} was erased while this request ran; retry the request.")
                if row["merged_into"] is not None:
                    redirects[row["id"]] = row["merged_into"]
                    if row["merged_into"] not in profiles:
                        wanted.add(row["merged_into"])
                else:
                    profiles[row["id"]] = dict(row)
    tags = tags_of(session, list(profiles))
    for customer_id, profile in profiles.items():
        profile["tags"] = tags.get(customer_id, [])
    for merged, survivor in redirects.items():
        while survivor in redirects:
            survivor = redirects[survivor]
        profiles[merged] = profiles[survivor]
    return profiles


def create_customer(
    session: Session,
    *,
    fields: dict[str, Any],
    tags: list[str] | None,
    identities: Sequence[schemas.IdentityRef],
) -> Customer:
    """Insert a customer with cleaned `fields`; Conflict if an identity already belongs to another."""
    stamp = now()
    customer = Customer(
        id=uuid.uuid4(),
        **({name: None for name in PROFILE_FIELDS} | {"attributes": {}} | fields),
        created_at=stamp,
        updated_at=stamp,
        version=1,
        order_count=0,
        total_spent=Decimal("0"),
    )
    session.add(customer)
    session.flush()
    add_identities(session, customer.id, identities)
    set_tags(session, [customer.id], {customer.id: tags or []})
    record_changes(session, "customer", "created", [customer.id])
    return customer


def update_customer(session: Session, customer: Customer, *, changes: dict[str, Any], tags: list[str] | None) -> bool:
    """Apply cleaned column changes (and tags if given); bumps the version. Returns whether anything changed."""
    tags_changed = tags is not None and tags != tags_of(session, [customer.id]).get(customer.id, [])
    if not changes and not tags_changed:
        return False
    for name, value in changes.items():
        setattr(customer, name, value)
    if tags_changed:
        set_tags(session, [customer.id], {customer.id: tags or []})
    customer.version += 1
    customer.updated_at = now()
    record_changes(session, "customer", "updated", [customer.id])
    return True
