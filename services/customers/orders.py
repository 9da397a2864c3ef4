"""Orders: batch upsert, reads, and the purchase facts they keep current on each customer.

Totals are derived from the items (quantity x unit price), never taken from the input; purchase
facts count placed and paid orders only, in the base currency, so refunds and cancellations drop out.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Uuid, any_, bindparam, delete, func, insert, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from rapport.db import as_utc, bulk_insert, plan_for_current_sizes, read_rows
from rapport.errors import NotFound

from . import cleaning, schemas, store
from .models import Customer, Order, OrderItem
from .schemas import FieldError, OrderBatchRecord, RecordStatus
from .sync import Batch, admission_error, external_id_of, pydantic_errors

CENT = Decimal("0.01")
COUNTED_STATUSES = (schemas.OrderStatus.placed.value, schemas.OrderStatus.paid.value)


@dataclass
class CleanOrder:
    index: int
    header: dict[str, Any]
    items: list[dict[str, Any]]
    customer_ref: tuple[str, str]


def _clean(record: OrderBatchRecord, fx_rates: Mapping[str, Decimal]) -> tuple[CleanOrder | None, list[FieldError]]:
    errors: list[FieldError] = []
    currency = record.currency.upper()
    if currency not in fx_rates:
        errors.append(
            FieldError(loc="currency", msg=f"no exchange rate for {currency}; known: {', '.join(sorted(fx_rates))}")
        )
    try:
        placed_at = cleaning.parse_datetime(record.placed_at)
    except cleaning.CleaningError as error:
        errors.append(FieldError(loc="placed_at", msg=error.message))
    if errors:
        return None, errors
    items: list[dict[str, Any]] = [
        {"line": line, "sku": item.sku.strip(), "quantity": item.quantity, "unit_price": item.unit_price.quantize(CENT)}
        for line, item in enumerate(record.items, start=1)
    ]
    total = sum((item.unit_price.quantize(CENT) * item.quantity for item in record.items), Decimal("0")).quantize(CENT)
    header = {
        "source": record.source,
        "external_id": record.external_id,
        "placed_at": placed_at,
        "channel": cleaning.clean_text(record.channel),
        "currency": currency,
        "status": record.status.value,
        "total": total,
        "total_base": (total * fx_rates[currency]).quantize(CENT, ROUND_HALF_UP),
        "item_count": sum(item["quantity"] for item in items),
    }
    return CleanOrder(0, header, items, (record.customer.source, record.customer.external_id)), []


def _validate(
    records: Sequence[Any], batch: Batch, *, fx_rates: Mapping[str, Decimal], partner_source: str | None
) -> list[CleanOrder]:
    valid: list[CleanOrder] = []
    seen: dict[tuple[str, str], int] = {}
    for index, raw in enumerate(records):
        try:
            record = OrderBatchRecord.model_validate(raw)
        except ValidationError as error:
            batch.fail(index, external_id_of(raw), pydantic_errors(error))
            continue
        refused = admission_error(
            index,
            (record.source, record.external_id),
            sources=(record.source, record.customer.source),
            seen=seen,
            partner_source=partner_source,
        )
        if refused is not None:
            batch.fail(index, record.external_id, [refused])
            continue
        order, errors = _clean(record, fx_rates)
        if order is None:
            batch.fail(index, record.external_id, errors)
            continue
        order.index = index
        valid.append(order)
    return valid


def _existing(session: Session, keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Stored orders with these (source, external_id) keys, with their items, keyed like the input."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for start in range(0, len(keys), 2000):
        chunk = keys[start : start + 2000]
        rows = session.execute(select(Order).where(tuple_(Order.source, Order.external_id).in_(chunk))).scalars()
        for order in rows:
            found[(order.source, order.external_id)] = {
                "id": order.id,
                "customer_id": order.customer_id,
                "placed_at": as_utc(order.placed_at),
                "channel": order.channel,
                "currency": order.currency,
                "status": order.status,
                "items": [],
            }
    by_id = {order["id"]: order for order in found.values()}
    ids = list(by_id)
    for start in range(0, len(ids), 5000):
        query = (
            select(OrderItem.order_id, OrderItem.line, OrderItem.sku, OrderItem.quantity, OrderItem.unit_price)
            .where(OrderItem.order_id.in_(ids[start : start + 5000]))
            .order_by(OrderItem.order_id, OrderItem.line)
        )
        for order_id, line, sku, quantity, unit_price in session.execute(query):
            by_id[order_id]["items"].append({"line": line, "sku": sku, "quantity": quantity, "unit_price": unit_price})
    return found


def _same(stored: Mapping[str, Any], order: CleanOrder, customer_id: uuid.UUID) -> bool:
    header = order.header
    return (
        stored["customer_id"] == customer_id
        and stored["placed_at"] == header["placed_at"]
        and stored["channel"] == header["channel"]
        and stored["currency"] == header["currency"]
        and stored["status"] == header["status"]
        and stored["items"] == order.items
    )


def upsert_orders(
    session: Session, records: Sequence[Any], *, fx_rates: Mapping[str, Decimal], partner_source: str | None = None
) -> list[schemas.RecordResult]:
    """Create or update one order per record by (source, external_id); refreshes purchase facts."""
    batch = Batch(len(records))
    valid = _validate(records, batch, fx_rates=fx_rates, partner_source=partner_source)
    plan_for_current_sizes(session)
    owners = store.identity_owners(session, [order.customer_ref for order in valid])
    survivors = store.current_profiles(session, set(owners.values()))
    existing = _existing(session, [(o.header["source"], o.header["external_id"]) for o in valid])
    stamp = store.now()
    creates: list[CleanOrder] = []
    updates: list[tuple[int, CleanOrder]] = []
    touched: set[uuid.UUID] = set()
    for order in valid:
        owner = owners.get(order.customer_ref)
        if owner is None:
            source, external_id = order.customer_ref
            msg = f"unknown customer identity {source}/{external_id}; sync the customer first"
            batch.fail(order.index, order.header["external_id"], [FieldError(loc="customer", msg=msg)])
            continue
        customer_id = survivors[owner]["id"]
        order.header["customer_id"] = customer_id
        stored = existing.get((order.header["source"], order.header["external_id"]))
        if stored is None:
            creates.append(order)
            touched.add(customer_id)
        elif _same(stored, order, customer_id):
            batch.done(order.index, order.header["external_id"], RecordStatus.unchanged, stored["id"])
        else:
            updates.append((stored["id"], order))
            touched.update((customer_id, stored["customer_id"]))
            batch.done(order.index, order.header["external_id"], RecordStatus.updated, stored["id"])
    if creates:
        rows = [{**order.header, "created_at": stamp, "updated_at": stamp} for order in creates]
        new_ids = session.scalars(insert(Order).returning(Order.id, sort_by_parameter_order=True), rows).all()
        for order_id, order in zip(new_ids, creates, strict=True):
            batch.done(order.index, order.header["external_id"], RecordStatus.created, order_id)
        _insert_items(session, zip(new_ids, creates, strict=True))
    if updates:
        session.execute(
            update(Order), [{"id": order_id, **order.header, "updated_at": stamp} for order_id, order in updates]
        )
        session.execute(delete(OrderItem).where(OrderItem.order_id.in_([order_id for order_id, _ in updates])))
        _insert_items(session, updates)
    refresh_purchase_facts(session, touched)
    store.record_changes(
        session, "order", "created", [r.id for r in batch.results.values() if r.status == RecordStatus.created]
    )
    store.record_changes(session, "order", "updated", [order_id for order_id, _ in updates])
    return batch.ordered()


def _insert_items(session: Session, orders: Iterable[tuple[int, CleanOrder]]) -> None:
    rows = [{"order_id": order_id, **item} for order_id, order in orders for item in order.items]
    if rows:
        bulk_insert(session, OrderItem, rows)


def refresh_purchase_facts(session: Session, customer_ids: Iterable[uuid.UUID]) -> None:
    """Recompute first/last order time, order count and total spent of these customers from their orders.

    Set-based, per 5,000 customers: one UPDATE from their counted orders grouped by customer (an index
    scan of orders by customer), one that clears the facts of those left without a counted order.
    Imports refresh thousands of customers per chunk. (Not one correlated min()/max() subquery per
    column: PostgreSQL may answer those by walking the placed_at index, which takes minutes at scale.)
    Only customers whose facts differ are written: an update of the customers table touches every one
    of its many indexes, and a re-imported file changes nobody's facts."""
    ids = list(dict.fromkeys(customer_ids))
    names = ("first_order_at", "last_order_at", "order_count", "total_spent")
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        counted = Order.status.in_(COUNTED_STATUSES)
        facts = (
            select(
                Order.customer_id,
                func.min(Order.placed_at).label("first_order_at"),
                func.max(Order.placed_at).label("last_order_at"),
                func.count(Order.id).label("order_count"),
                # Rounded in SQL: SQLite sums NUMERIC as floating point.
                func.round(func.coalesce(func.sum(Order.total_base), 0), 2).label("total_spent"),
            )
            .where(_one_of(session, Order.customer_id, chunk), counted)
            .group_by(Order.customer_id)
            .subquery()
        )
        session.execute(
            update(Customer)
            .where(
                Customer.id == facts.c.customer_id,
                or_(*(getattr(Customer, name).is_distinct_from(facts.c[name]) for name in names)),
            )
            .values({name: facts.c[name] for name in names})
            .execution_options(synchronize_session=False)
        )
        has_counted = select(Order.id).where(Order.customer_id == Customer.id, counted).exists()
        has_facts = or_(
            Customer.first_order_at.is_not(None),
            Customer.last_order_at.is_not(None),
            Customer.order_count.is_distinct_from(0),
            Customer.total_spent.is_distinct_from(0),
        )
        session.execute(
            update(Customer)
            .where(_one_of(session, Customer.id, chunk), has_facts, ~has_counted)
            .values(first_order_at=None, last_order_at=None, order_count=0, total_spent=Decimal("0"))
            .execution_options(synchronize_session=False)
        )


def _one_of(session: Session, column: Any, ids: list[uuid.UUID]) -> Any:
    """`column IN ids`; on PostgreSQL as one array parameter (thousands of bound values cost more to
    send and to plan than the query)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, ids, type_=ARRAY(Uuid)))
    return column.in_(ids)


def get_order_or_raise(session: Session, order_id: int) -> Order:
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound(f"No order with id {order_id}.")
    return order


_ORDER_COLUMNS = (
    Order.id,
    Order.source,
    Order.external_id,
    Order.customer_id,
    Order.placed_at,
    Order.channel,
    Order.currency,
    Order.status,
    Order.total,
)


_RECENT = (
    select(*_ORDER_COLUMNS)
    .where(Order.customer_id == bindparam("customer_id"))
    .order_by(Order.placed_at.desc(), Order.id.desc())
    .limit(bindparam("limit"))
    .subquery()
)
_ITEM_COLUMNS = (OrderItem.line, OrderItem.sku, OrderItem.quantity, OrderItem.unit_price)
_RECENT_WITH_ITEMS = (
    select(_RECENT, *_ITEM_COLUMNS)
    .outerjoin(OrderItem, OrderItem.order_id == _RECENT.c.id)
    .order_by(_RECENT.c.placed_at.desc(), _RECENT.c.id.desc(), OrderItem.line)
)


def list_customer_orders(session: Session, customer_id: uuid.UUID, *, limit: int) -> list[schemas.OrderRead]:
    """The customer's most recent orders with their items, newest first. The customer 360 reads these on
    every view: one query built once (see `read_rows`), joined to the items, read as columns."""
    items: dict[int, list[schemas.OrderItemRead]] = defaultdict(list)
    orders: dict[int, Any] = {}
    for row in read_rows(session, _RECENT_WITH_ITEMS, customer_id=customer_id, limit=limit):
        orders.setdefault(row.id, row)
        if row.line is not None:  # the outer join keeps an order even without item rows
            items[row.id].append(_item_read(row))
    return [_order_read(order, items[order_id]) for order_id, order in orders.items()]


def to_read(session: Session, orders: Sequence[Any]) -> list[schemas.OrderRead]:
    """API representations of orders (Order objects, or rows of their columns), with their items."""
    items: dict[int, list[schemas.OrderItemRead]] = defaultdict(list)
    if orders:
        rows = session.execute(
            select(OrderItem.order_id, *_ITEM_COLUMNS)
            .where(OrderItem.order_id.in_([o.id for o in orders]))
            .order_by(OrderItem.order_id, OrderItem.line)
        )
        for item in rows:
            items[item.order_id].append(_item_read(item))
    return [_order_read(o, items.get(o.id, [])) for o in orders]


def _item_read(item: Any) -> schemas.OrderItemRead:
    return schemas.OrderItemRead(
        line=item.line,
        sku=item.sku,
        quantity=item.quantity,
        unit_price=item.unit_price,
        line_total=(item.unit_price * item.quantity).quantize(CENT),
    )


def _order_read(o: Any, items: list[schemas.OrderItemRead]) -> schemas.OrderRead:
    return schemas.OrderRead(
        id=o.id,
        source=o.source,
        external_id=o.external_id,
        customer_id=o.customer_id,
        placed_at=as_utc(o.placed_at),
        channel=o.channel,
        currency=o.currency,
        status=schemas.OrderStatus(o.status),
        total=o.total,
        items=items,
    )
