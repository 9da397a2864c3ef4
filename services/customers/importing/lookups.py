"""The reads an import chunk needs, in a few set-based queries: customers by identity, stored orders.

A chunk looks up tens of thousands of keys at once. Instead of an IN list of that many bound parameters
(costly to compile and to send), the keys travel as one parameter: a PostgreSQL array (`= ANY(:keys)`)
or, on SQLite, a JSON array read by `json_each`. The queries run on the session's connection, as Core
statements: their rows are plain tuples, without the ORM's per-row loading (a third of a lookup's time).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

import orjson
import pandas as pd
from sqlalchemy import ColumnElement, any_, bindparam, column, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from rapport.db import as_utc

from ..cleaning.dates import EPOCH
from ..models import Customer, Identity, Order, OrderItem
from . import bulk

_MICRO = timedelta(microseconds=1)


def one_of(session: Session, target: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """`target IN values` with all the values in one bound parameter (UUIDs, ints or text)."""
    if bulk.backend(session) == "postgresql":
        listed: Any = bindparam(None, list(values), type_=ARRAY(target.type))
        return cast(ColumnElement[bool], target == any_(listed))
    plain = [value.hex if isinstance(value, uuid.UUID) else value for value in values]
    json_array: Any = bindparam(None, orjson.dumps(plain).decode())
    return cast(ColumnElement[bool], target.in_(select(column("value")).select_from(func.json_each(json_array))))


def customer_ids(session: Session, *, source: str, external_ids: Sequence[str]) -> dict[str, uuid.UUID]:
    """external id -> id of the live customer holding the identity (source, external id), following merges
    to the survivor like the batch API does; unknown identities are left out."""
    if not external_ids:
        return {}
    # One query answers the common case (the owner is live); only owners merged away are followed.
    query = (
        select(Identity.external_id, Identity.customer_id, Customer.merged_into)
        .join(Customer, Customer.id == Identity.customer_id)
        .where(Identity.source == source, one_of(session, Identity.external_id, external_ids))
    )
    owners: dict[str, uuid.UUID] = {}
    merged: dict[uuid.UUID, uuid.UUID] = {}
    for external_id, customer_id, merged_into in session.connection().execute(query):
        owners[external_id] = customer_id
        if merged_into is not None:
            merged[customer_id] = merged_into
    if not merged:
        return owners
    survivor = _survivors(session, set(merged.values()))
    for owner, into in merged.items():
        survivor[owner] = survivor.get(into, into)
    return {external_id: survivor.get(owner, owner) for external_id, owner in owners.items()}


def _survivors(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """merged-away id -> the live customer it was merged into (chains followed)."""
    redirects: dict[uuid.UUID, uuid.UUID] = {}
    wanted = sorted(ids)
    for _ in range(8):  # merge chains are short; the bound guards against a cycle
        if not wanted:
            break
        query = select(Customer.id, Customer.merged_into).where(
            one_of(session, Customer.id, wanted), Customer.merged_into.is_not(None)
        )
        found: dict[uuid.UUID, uuid.UUID] = {}
        for customer_id, merged_into in session.connection().execute(query):
            if merged_into is not None:
                found[customer_id] = merged_into
        redirects.update(found)
        wanted = sorted(set(found.values()) - set(redirects))
    resolved: dict[uuid.UUID, uuid.UUID] = {}
    for merged, survivor in redirects.items():
        for _ in range(8):
            if survivor not in redirects:
                break
            survivor = redirects[survivor]
        resolved[merged] = survivor
    return resolved


def stored_orders(session: Session, *, source: str, external_ids: Sequence[str]) -> pd.DataFrame:
    """Stored orders of `source` with these external ids: external_id, id, customer_id (32 hex),
    placed_at (epoch microseconds), channel, currency, status."""
    names = ["external_id", "id", "customer_id", "placed_at", "channel", "currency", "status"]
    if not external_ids:
        return pd.DataFrame(columns=names)
    query = select(
        Order.external_id, Order.id, Order.customer_id, Order.placed_at, Order.channel, Order.currency, Order.status
    ).where(Order.source == source, one_of(session, Order.external_id, external_ids))
    rows = [
        (external_id, order_id, customer.hex, _micros(placed_at), channel, currency, status)
        for external_id, order_id, customer, placed_at, channel, currency, status in session.connection().execute(query)
    ]
    return pd.DataFrame(rows, columns=names)


def _micros(moment: datetime) -> int:
    return (as_utc(moment) - EPOCH) // _MICRO


def stored_items(session: Session, order_ids: Sequence[int]) -> pd.DataFrame:
    """Items of these orders: order_id, line, sku, quantity, unit_price (cents)."""
    names = ["order_id", "line", "sku", "quantity", "unit_price"]
    if not order_ids:
        return pd.DataFrame(columns=names)
    query = select(OrderItem.order_id, OrderItem.line, OrderItem.sku, OrderItem.quantity, OrderItem.unit_price).where(
        one_of(session, OrderItem.order_id, order_ids)
    )
    rows = [(o, line, sku, q, int(price.scaleb(2))) for o, line, sku, q, price in session.connection().execute(query)]
    return pd.DataFrame(rows, columns=names)
