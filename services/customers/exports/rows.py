"""Row sources: each entity's rows in keyset chunks, each chunk read in its own short transaction, so no
transaction, cursor or connection is held while the client reads."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, sessionmaker

from rapport import db

from .. import orders
from ..models import Customer, CustomerTag, Interaction, Order, OrderItem
from .as_text import AsText, select_rendered, within
from .spec import COLUMNS, ExportEntity, Plan, Rows

CUSTOMERS_PER_CHUNK = 1_000
ORDERS_PER_CHUNK = 1_000  # about 4,000 lines
INTERACTIONS_PER_CHUNK = 5_000


def customer_chunks(sessions: sessionmaker[Session], plan: Plan) -> Iterator[Rows]:
    """Live customers (not merged away, not erased) in id order. With `until`, purchase facts are
    recomputed from the orders placed before it, so a run as of a past date is reproducible."""
    columns = COLUMNS[ExportEntity.customers]
    tags_at = [c.name for c in columns].index("tags")
    sources = {c.name: getattr(Customer, c.name) for c in columns if c.name != "tags"}
    # A customer since signing up (since we first saw them, if the source did not say) or since their
    # first order, whichever came first: history loaded today still counts from when it happened.
    joined = func.coalesce(Customer.signed_up_at, Customer.created_at)
    customer_since = case((Customer.first_order_at < joined, Customer.first_order_at), else_=joined)
    after: uuid.UUID | None = None
    while True:
        with db.transaction(sessions) as session:
            as_text = AsText(session)
            query = select_rendered(as_text, columns, sources).where(
                Customer.merged_into.is_(None), Customer.erased_at.is_(None)
            )
            if after is not None:
                query = query.where(Customer.id > after)
            query = within(query, customer_since, plan).order_by(Customer.id).limit(CUSTOMERS_PER_CHUNK)
            rows = session.connection().execute(query).all()
            if not rows:
                return
            last = uuid.UUID(rows[-1][0])
            span = [CustomerTag.customer_id <= last] + ([CustomerTag.customer_id > after] if after else [])
            tags: dict[str, list[str]] = {}
            query = select(as_text.uuid(CustomerTag.customer_id), CustomerTag.tag).where(*span)
            for customer_id, tag in session.connection().execute(query.order_by(CustomerTag.tag)):
                tags.setdefault(customer_id, []).append(tag)
            facts = _facts_as_of(session, as_text, after, last, plan.until) if plan.until is not None else None
        chunk = []
        for row in rows:
            values = list(row)
            if facts is not None:
                values[-4:] = facts.get(row[0], (None, None, 0, "0.00"))
            chunk.append((*values[:tags_at], tags.get(row[0], []), *values[tags_at:]))
        yield chunk
        after = last


def _facts_as_of(
    session: Session, as_text: AsText, after: uuid.UUID | None, last: uuid.UUID, until: datetime
) -> dict[str, tuple[Any, ...]]:
    """First/last order time, order count and spend in the base currency of the customers with ids
    in (after, last], from orders placed before `until`, counted like the stored purchase facts."""
    query = (
        select(
            as_text.uuid(Order.customer_id),
            as_text.timestamp(func.min(Order.placed_at)),
            as_text.timestamp(func.max(Order.placed_at)),
            func.count(Order.id),
            as_text.money(func.coalesce(func.sum(Order.total_base), 0)),
        )
        .where(Order.customer_id <= last, Order.status.in_(orders.COUNTED_STATUSES), Order.placed_at < until)
        .group_by(Order.customer_id)
    )
    if after is not None:
        query = query.where(Order.customer_id > after)
    return {row[0]: tuple(row[1:]) for row in session.connection().execute(query)}


def order_line_chunks(sessions: sessionmaker[Session], plan: Plan) -> Iterator[Rows]:
    """One row per order line, in (order id, line) order; all orders, whoever the customer is now
    (a merge moved them to the survivor; an erased customer's orders stay, keyed by its id)."""
    after = 0
    while True:
        with db.transaction(sessions) as session:
            ids = select(Order.id).where(Order.id > after, Order.id <= plan.high_water)
            ids = within(ids, Order.placed_at, plan).order_by(Order.id).limit(ORDERS_PER_CHUNK).subquery()
            last = session.scalar(select(func.max(ids.c.id)))
            if last is None:
                return
            as_text = AsText(session)
            line_total = OrderItem.unit_price * OrderItem.quantity
            rate = case(
                {currency: as_text.rate(rate) for currency, rate in plan.fx_rates.items()}, value=Order.currency
            )
            sources = {
                "order_id": Order.id,
                "order_source": Order.source,
                "order_external_id": Order.external_id,
                **{
                    name: getattr(Order, name) for name in ("customer_id", "placed_at", "channel", "status", "currency")
                },
                **{name: getattr(OrderItem, name) for name in ("line", "sku", "quantity", "unit_price")},
                "line_total": line_total,
                "line_total_base": line_total * rate,
            }
            query = select_rendered(as_text, COLUMNS[ExportEntity.orders], sources).join(
                OrderItem, OrderItem.order_id == Order.id
            )
            # The range on both sides lets each use its index (PostgreSQL does not infer the second).
            query = query.where(
                Order.id > after, Order.id <= last, OrderItem.order_id > after, OrderItem.order_id <= last
            )
            query = within(query, Order.placed_at, plan)
            rows = session.connection().execute(query.order_by(Order.id, OrderItem.line)).all()
        yield rows
        after = last


def interaction_chunks(sessions: sessionmaker[Session], plan: Plan) -> Iterator[Rows]:
    """Interactions of live customers, in id order."""
    columns = COLUMNS[ExportEntity.interactions]
    sources = {c.name: getattr(Interaction, c.name) for c in columns}
    after = 0
    while True:
        with db.transaction(sessions) as session:
            as_text = AsText(session)
            query = select_rendered(as_text, columns, sources).where(
                Interaction.id > after, Interaction.id <= plan.high_water
            )
            query = within(query, Interaction.occurred_at, plan).order_by(Interaction.id).limit(INTERACTIONS_PER_CHUNK)
            rows = session.connection().execute(query).all()
            if not rows:
                return
            gone = _not_live(session, as_text, {row[1] for row in rows})
        yield [row for row in rows if row[1] not in gone] if gone else rows
        after = rows[-1][0]


def _not_live(session: Session, as_text: AsText, customer_ids: set[str]) -> set[str]:
    """Which of these customers were merged away or erased. A lookup by primary key, not a join: with
    a join (or NOT EXISTS) the planner may start from the customers and scan them for every chunk."""
    query = select(as_text.uuid(Customer.id)).where(
        as_text.one_of(Customer.id, customer_ids), Customer.merged_into.is_not(None) | Customer.erased_at.is_not(None)
    )
    return set(session.connection().execute(query).scalars())
