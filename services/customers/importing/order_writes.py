"""Writing a block's orders with the batch API's upsert semantics, set-based.

Per order, by (source, external id): a new order is created, a stored one that differs (customer,
placed_at, channel, currency, status or any item) is updated with its items replaced, an identical one is
left alone. New orders and items go in with COPY / executemany under ids drawn up front; the purchase
facts of every customer whose orders changed are refreshed by `orders.refresh_purchase_facts`, and the
change feed gets one event per created or updated order, as `orders.upsert_orders` does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from .. import orders as order_store
from ..cleaning.dates import EPOCH
from ..models import Order, OrderItem
from . import bulk, columns, lookups
from .order_lines import Orders, Parsed

_MICRO = timedelta(microseconds=1)


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def _hex_ids(ids: pa.Array, owners: dict[str, uuid.UUID]) -> pa.Array:
    """The owner of each id as 32 hex digits (null when unknown), looked up once per distinct id."""
    encoded = ids.dictionary_encode()
    names = encoded.dictionary.to_pylist()
    hexes = pa.array([None if (o := owners.get(n)) is None else o.hex for n in names], pa.string())
    return hexes.take(encoded.indices)


def _reject_orders(parsed: Parsed, orders: np.ndarray, reasons: list[str]) -> None:
    """Reject every line of the orders at `orders` (positions in parsed.orders), one reason per order."""
    rows = np.zeros(parsed.problems.size, dtype=bool)
    per_row = np.empty(parsed.problems.size, dtype=object)
    for position, reason in zip(orders.tolist(), reasons, strict=True):
        first = int(parsed.orders.first_row[position])
        span = slice(first, first + int(parsed.orders.line_count[position]))
        rows[span] = True
        per_row[span] = reason
    parsed.problems.add(rows, per_row)


def write(session: Session, parsed: Parsed, *, source: str, stamp: datetime) -> Counts:
    """Upsert the parsed orders; orders of unknown customers are rejected into `parsed.problems`."""
    orders = parsed.orders
    counts = Counts()
    if orders.size == 0:
        return counts
    wanted = pc.unique(orders.customer_external_id).to_pylist()
    owners = lookups.customer_ids(session, source=source, external_ids=wanted)
    customer = _hex_ids(orders.customer_external_id, owners)
    unknown = columns.null_mask(customer)
    if unknown.any():
        positions = np.flatnonzero(unknown)
        names = orders.customer_external_id.take(pa.array(positions)).to_pylist()
        _reject_orders(
            parsed,
            positions,
            [f"customer_external_id: unknown customer {source}/{n}; import the customer first" for n in names],
        )
        orders, customer = orders.take(~unknown), customer.filter(pa.array(~unknown))
        if orders.size == 0:
            return counts
    stored = lookups.stored_orders(session, source=source, external_ids=orders.external_id.to_pylist())
    position = pd.Series(np.arange(orders.size), index=orders.external_id.to_pylist())
    existing = np.zeros(orders.size, dtype=bool)
    existing[position.loc[stored["external_id"]].to_numpy(dtype=np.int64)] = True
    changed = np.zeros(orders.size, dtype=bool)
    if len(stored):
        changed[_changed(orders, customer, stored, session, position)] = True
    touched: set[str] = set()
    new = ~existing
    created = updated = np.zeros(0, dtype=np.int64)
    writing = new | changed
    # The orders' customers are locked up front, so their rows skip the per-row foreign key checks; the
    # items' orders are inserted or updated (locked) by this transaction itself.
    writers = pc.unique(customer.filter(pa.array(writing))).to_pylist()
    owners_locked = (
        bool(writers)
        and bulk.backend(session) == "postgresql"
        and bulk.lock_parents(session, "customers", sorted(uuid.UUID(hex=h) for h in writers))
    )
    with bulk.references_checked(session, checked=owners_locked):
        if new.any():
            fresh = orders.take(new)
            fresh_customers = customer.filter(pa.array(new))
            created = bulk.allocate_ids(session, "orders", fresh.size)
            bulk.insert(session, _order_rows(fresh, fresh_customers, created, source=source, stamp=stamp))
            bulk.insert(session, _item_rows(fresh, created))
            touched.update(pc.unique(fresh_customers).to_pylist())
        if changed.any():
            updated = _update(session, orders.take(changed), customer.filter(pa.array(changed)), stored, stamp)
            moved = stored.set_index("external_id").loc[orders.external_id.filter(pa.array(changed)).to_pylist()]
            touched.update(pc.unique(customer.filter(pa.array(changed))).to_pylist())
            touched.update(moved["customer_id"])
    # In id order (hex digits sort as the UUIDs do), so concurrent writers lock customers in one order.
    order_store.refresh_purchase_facts(session, [uuid.UUID(hex=h) for h in sorted(touched)])
    # The change feed last, as store.record_changes asks: its writers are serialised until the commit.
    bulk.record_changes(session, "order", "created", created, stamp=stamp)
    bulk.record_changes(session, "order", "updated", updated, stamp=stamp)
    counts.created = int(new.sum())
    counts.updated = int(changed.sum())
    counts.unchanged = int((existing & ~changed).sum())
    return counts


def _order_rows(orders: Orders, customer: pa.Array, ids: np.ndarray, *, source: str, stamp: datetime) -> bulk.Rows:
    now = np.full(orders.size, (stamp - EPOCH) // _MICRO, dtype=np.int64)
    return (
        bulk.Rows("orders", orders.size)
        .add("id", "int", ids)
        .add("source", "text", pa.array([source] * orders.size, pa.string()))
        .add("external_id", "text", orders.external_id)
        .add("customer_id", "uuid", customer)
        .add("placed_at", "timestamp", orders.placed_at)
        .add("channel", "text", orders.channel)
        .add("currency", "text", orders.currency)
        .add("status", "text", orders.status)
        .add("total", "money", orders.total)
        .add("total_base", "money", orders.total_base)
        .add("item_count", "int", orders.item_count)
        .add("created_at", "timestamp", now)
        .add("updated_at", "timestamp", now)
    )


def _item_rows(orders: Orders, ids: np.ndarray) -> bulk.Rows:
    size = len(orders.line)
    return (
        bulk.Rows("order_items", size)
        .add("order_id", "int", ids[orders.order_of_line])
        .add("line", "int", orders.line)
        .add("sku", "text", orders.sku)
        .add("quantity", "int", orders.quantity)
        .add("unit_price", "money", orders.unit_price)
    )


def _changed(
    orders: Orders, customer: pa.Array, stored: pd.DataFrame, session: Session, position: pd.Series
) -> np.ndarray:
    """Positions (in `orders`) of stored orders that this file changes, compared as `orders._same` does."""
    at = position.loc[stored["external_id"]].to_numpy()
    index = pa.array(at)
    new = pd.DataFrame(
        {
            "customer_id": customer.take(index).to_pylist(),
            "placed_at": orders.placed_at[at],
            "channel": orders.channel.take(index).to_pylist(),
            "currency": orders.currency.take(index).to_pylist(),
            "status": orders.status.take(index).to_pylist(),
        }
    )
    old = stored[["customer_id", "placed_at", "channel", "currency", "status"]].reset_index(drop=True)
    header_differs = ~(new.fillna("\0") == old.fillna("\0")).all(axis=1).to_numpy()
    items = lookups.stored_items(session, stored["id"].tolist())
    old_items = items.assign(order=pd.Series(at, index=stored["id"]).loc[items["order_id"]].to_numpy())
    mine = np.isin(orders.order_of_line, at)
    new_items = pd.DataFrame(
        {
            "order": orders.order_of_line[mine],
            "line": orders.line[mine],
            "sku": orders.sku.filter(pa.array(mine)).to_pylist(),
            "quantity": orders.quantity[mine],
            "unit_price": orders.unit_price[mine],
        }
    )
    both = new_items.merge(
        old_items.drop(columns="order_id"), on=["order", "line"], how="outer", suffixes=("", "_old"), indicator=True
    )
    differs = (both["_merge"] != "both") | (both["sku"] != both["sku_old"])
    differs |= (both["quantity"] != both["quantity_old"]) | (both["unit_price"] != both["unit_price_old"])
    item_differs = set(both.loc[differs, "order"].astype(np.int64).tolist())
    return np.array(sorted(set(at[header_differs].tolist()) | item_differs), dtype=np.int64)


def _update(session: Session, orders: Orders, customer: pa.Array, stored: pd.DataFrame, stamp: datetime) -> np.ndarray:
    ids = stored.set_index("external_id").loc[orders.external_id.to_pylist(), "id"].to_numpy(dtype=np.int64)
    rows: list[dict[str, Any]] = []
    for i, order_id in enumerate(ids.tolist()):
        rows.append(
            {
                "id": order_id,
                "customer_id": uuid.UUID(hex=customer[i].as_py()),
                "placed_at": EPOCH + int(orders.placed_at[i]) * _MICRO,
                "channel": orders.channel[i].as_py(),
                "currency": orders.currency[i].as_py(),
                "status": orders.status[i].as_py(),
                "total": _decimal(orders.total[i]),
                "total_base": _decimal(orders.total_base[i]),
                "item_count": int(orders.item_count[i]),
                "updated_at": stamp,
            }
        )
    session.execute(update(Order), rows)
    session.execute(delete(OrderItem).where(lookups.one_of(session, OrderItem.order_id, ids.tolist())))
    bulk.insert(session, _item_rows(orders, ids))
    return ids


def _decimal(cents: Any) -> Decimal:
    return Decimal(int(cents)).scaleb(-2)
