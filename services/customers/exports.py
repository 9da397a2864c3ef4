"""Streaming exports of customers, order lines and interactions as NDJSON, CSV or Parquet.

Rows are read in keyset chunks, each chunk in its own short transaction, so no transaction, cursor or
connection is held while the client reads, and memory is bounded by one chunk (one Parquet row
group), never by the table. The encoders are plain generators: the API hands them to a
StreamingResponse, which pulls every chunk in a worker thread, off the event loop.

The database formats the values (UUIDs, timestamps and money come back as their export text), so
Python moves tuples of strings and numbers and never builds a UUID, datetime or Decimal per value:
that doubled the rows per second of the first, object-based version.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import String, Text, Uuid, any_, case, cast, func, literal, select, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, sessionmaker

from rapport import db

from . import orders, store
from .models import Customer, CustomerTag, Interaction, Order, OrderItem

CUSTOMERS_PER_CHUNK = 1_000
ORDERS_PER_CHUNK = 1_000  # about 4,000 lines
INTERACTIONS_PER_CHUNK = 5_000
ROW_GROUP_ROWS = 100_000  # Parquet row group: big enough for readers, small enough to buffer
ROW_GROUP_BYTES = 32 * 2**20


class ExportEntity(StrEnum):
    customers = "customers"
    orders = "orders"
    interactions = "interactions"


class ExportFormat(StrEnum):
    ndjson = "ndjson"
    csv = "csv"
    parquet = "parquet"

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self]


MEDIA_TYPES = {
    ExportFormat.ndjson: "application/x-ndjson",
    ExportFormat.csv: "text/csv; charset=utf-8",
    ExportFormat.parquet: "application/vnd.apache.parquet",
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # text, uuid, int, money, timestamp, date, bool, json (an object), tags (a list of text)


def _columns(spec: str) -> tuple[Column, ...]:
    return tuple(Column(*item.split(":")) for item in spec.split())


COLUMNS: dict[ExportEntity, tuple[Column, ...]] = {
    ExportEntity.customers: _columns(
        "id:uuid given_name:text family_name:text email:text phone:text gender:text birth_date:date"
        " income:money income_band:text occupation:text education:text country:text region:text city:text"
        " address:text signed_up_at:timestamp tags:tags attributes:json consent_email:bool consent_sms:bool"
        " consent_personalisation:bool created_at:timestamp updated_at:timestamp first_order_at:timestamp"
        " last_order_at:timestamp order_count:int total_spent:money"
    ),
    ExportEntity.orders: _columns(
        "order_id:int order_source:text order_external_id:text customer_id:uuid placed_at:timestamp"
        " channel:text status:text currency:text line:int sku:text quantity:int unit_price:money"
        " line_total:money line_total_base:money"
    ),
    ExportEntity.interactions: _columns(
        "id:int customer_id:uuid type:text occurred_at:timestamp source:text properties:json"
    ),
}


@dataclass(frozen=True)
class Plan:
    """What one export reads: rows with since <= time < until (time: when the customer became one,
    the order's placed_at, the interaction's occurred_at) and, for orders and interactions,
    id <= high_water, so rows inserted after the export started are not chased."""

    entity: ExportEntity
    since: datetime | None
    until: datetime | None
    high_water: int
    started_at: datetime
    base_currency: str
    fx_rates: Mapping[str, Decimal]


def plan(
    session: Session,
    entity: ExportEntity,
    *,
    since: datetime | None,
    until: datetime | None,
    base_currency: str,
    fx_rates: Mapping[str, Decimal],
) -> Plan:
    """Fix the bounds of an export before its first byte is sent (so a database error is still a
    problem+json answer). `since` and `until` must be aware UTC datetimes."""
    high_water = 0
    if entity is not ExportEntity.customers:
        table = Order if entity is ExportEntity.orders else Interaction
        high_water = session.scalar(select(func.max(table.id))) or 0
    return Plan(entity, since, until, high_water, store.now(), base_currency, fx_rates)


def filename(plan: Plan, fmt: ExportFormat) -> str:
    return f"{plan.entity.value}-{plan.started_at:%Y%m%dT%H%M%SZ}.{fmt.value}"


def stream(sessions: sessionmaker[Session], plan: Plan, fmt: ExportFormat) -> Iterator[bytes]:
    """The export's bytes, one piece per chunk (per row group for Parquet), read lazily."""
    readers = {
        ExportEntity.customers: _customer_chunks,
        ExportEntity.orders: _order_line_chunks,
        ExportEntity.interactions: _interaction_chunks,
    }
    chunks = readers[plan.entity](sessions, plan)
    encoders = {ExportFormat.ndjson: _ndjson, ExportFormat.csv: _csv, ExportFormat.parquet: _parquet}
    return encoders[fmt](COLUMNS[plan.entity], chunks, plan)


# --- reading -------------------------------------------------------------------------------------

Rows = Sequence[Sequence[Any]]


class _Text:
    """SQL that renders a column as its export value on this backend: canonical UUIDs, ISO-8601 UTC
    timestamps with microseconds ("2026-01-31T09:30:00.000000Z"), money with two decimals, JSON text."""

    def __init__(self, session: Session) -> None:
        self.postgres = session.get_bind().dialect.name == "postgresql"

    def render(self, kind: str, value: Any) -> Any:
        """`value` as the database should hand it back for a column of `kind`."""
        if kind in ("int", "bool"):
            return value
        method: Callable[[Any], Any] = getattr(self, kind, self.text)
        return method(value)

    def text(self, value: Any) -> Any:
        return type_coerce(value, String)

    def uuid(self, value: Any) -> Any:
        if self.postgres:
            return cast(value, Text)
        # SQLite stores a UUID as 32 lower-case hex digits.
        parts = [func.substr(value, start, size, type_=String) for start, size in _UUID_PARTS]
        return parts[0] + "-" + parts[1] + "-" + parts[2] + "-" + parts[3] + "-" + parts[4]

    def timestamp(self, value: Any) -> Any:
        if self.postgres:
            return func.to_char(func.timezone("UTC", value), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"', type_=String)
        # SQLite stores "YYYY-MM-DD HH:MM:SS.ffffff" in UTC (the service writes UTC only).
        return func.substr(value, 1, 10, type_=String) + "T" + func.substr(value, 12, type_=String) + "Z"

    def date(self, value: Any) -> Any:
        return func.to_char(value, "YYYY-MM-DD", type_=String) if self.postgres else self.text(value)

    def money(self, value: Any) -> Any:
        if self.postgres:
            return cast(func.round(value, 2), Text)
        # SQLite keeps money as binary floating point; printf rounds it to cents (and NULL to 0.00).
        return case((value.is_(None), None), else_=func.printf("%.2f", value, type_=String))

    def json(self, value: Any) -> Any:
        return cast(value, Text) if self.postgres else self.text(value)

    def one_of(self, column: Any, uuids: Iterable[str]) -> Any:
        """`column` (a UUID) is one of `uuids` (canonical text), as one array parameter on PostgreSQL."""
        if self.postgres:
            return column == any_(cast(literal(list(uuids), ARRAY(Text)), ARRAY(Uuid)))
        return type_coerce(column, String).in_([value.replace("-", "") for value in uuids])

    def rate(self, value: Decimal) -> Any:
        return literal(value) if self.postgres else literal(float(value))


_UUID_PARTS = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))


def _select(as_text: _Text, columns: tuple[Column, ...], sources: Mapping[str, Any]) -> Any:
    """SELECT of `columns` (those found in `sources`, in order), each rendered for the export."""
    return select(*(as_text.render(c.kind, sources[c.name]) for c in columns if c.name in sources))


def _window(query: Any, column: Any, plan: Plan) -> Any:
    if plan.since is not None:
        query = query.where(column >= plan.since)
    if plan.until is not None:
        query = query.where(column < plan.until)
    return query


def _customer_chunks(sessions: sessionmaker[Session], plan: Plan) -> Iterator[Rows]:
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
            as_text = _Text(session)
            query = _select(as_text, columns, sources).where(
                Customer.merged_into.is_(None), Customer.erased_at.is_(None)
            )
            if after is not None:
                query = query.where(Customer.id > after)
            query = _window(query, customer_since, plan).order_by(Customer.id).limit(CUSTOMERS_PER_CHUNK)
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
    session: Session, as_text: _Text, after: uuid.UUID | None, last: uuid.UUID, until: datetime
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


def _order_line_chunks(sessions: sessionmaker[Session], plan: Plan) -> Iterator[Rows]:
    """One row per order line, in (order id, line) order; all orders, whoever the customer is now
    (a merge moved them to the survivor; an erased customer's orders stay, keyed by its id)."""
    after = 0
    while True:
        with db.transaction(sessions) as session:
            ids = select(Order.id).where(Order.id > after, Order.id <= plan.high_water)
            ids = _window(ids, Order.placed_at, plan).order_by(Order.id).limit(ORDERS_PER_CHUNK).subquery()
            last = session.scalar(select(func.max(ids.c.id)))
            if last is None:
                return
            as_text = _Text(session)
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
            query = _select(as_text, COLUMNS[ExportEntity.orders], sources).join(
                OrderItem, OrderItem.order_id == Order.id
            )
            # The range on both sides lets each use its index (PostgreSQL does not infer the second).
            query = query.where(
                Order.id > after, Order.id <= last, OrderItem.order_id > after, OrderItem.order_id <= last
            )
            query = _window(query, Order.placed_at, plan)
            rows = session.connection().execute(query.order_by(Order.id, OrderItem.line)).all()
        yield rows
        after = last


def _interaction_chunks(sessions: sessionmaker[Session], plan: Plan) -> Iterator[Rows]:
    """Interactions of live customers, in id order."""
    columns = COLUMNS[ExportEntity.interactions]
    sources = {c.name: getattr(Interaction, c.name) for c in columns}
    after = 0
    while True:
        with db.transaction(sessions) as session:
            as_text = _Text(session)
            query = _select(as_text, columns, sources).where(Interaction.id > after, Interaction.id <= plan.high_water)
            query = _window(query, Interaction.occurred_at, plan).order_by(Interaction.id).limit(INTERACTIONS_PER_CHUNK)
            rows = session.connection().execute(query).all()
            if not rows:
                return
            gone = _not_live(session, as_text, {row[1] for row in rows})
        yield [row for row in rows if row[1] not in gone] if gone else rows
        after = rows[-1][0]


def _not_live(session: Session, as_text: _Text, customer_ids: set[str]) -> set[str]:
    """Which of these customers were merged away or erased. A lookup by primary key, not a join: with
    a join (or NOT EXISTS) the planner may start from the customers and scan them for every chunk."""
    query = select(as_text.uuid(Customer.id)).where(
        as_text.one_of(Customer.id, customer_ids), Customer.merged_into.is_not(None) | Customer.erased_at.is_not(None)
    )
    return set(session.connection().execute(query).scalars())


# --- encoding ------------------------------------------------------------------------------------


def _converting(columns: tuple[Column, ...], converters: Mapping[str, Callable[[Any], Any]]) -> Callable[[Rows], Rows]:
    """A function that applies `converters` (by column kind) to every row of a chunk."""
    wanted = [(i, converters[c.kind]) for i, c in enumerate(columns) if c.kind in converters]
    if not wanted:
        return lambda rows: rows

    def convert(rows: Rows) -> Rows:
        converted: list[tuple[Any, ...]] = []
        for row in rows:
            values = list(row)
            for i, function in wanted:
                if values[i] is not None:
                    values[i] = function(values[i])
            converted.append(tuple(values))
        return converted

    return convert


def _ndjson(columns: tuple[Column, ...], chunks: Iterator[Rows], plan: Plan) -> Iterator[bytes]:
    names = [column.name for column in columns]
    json_names = [column.name for column in columns if column.kind == "json"]
    dumps, newline, embed = orjson.dumps, orjson.OPT_APPEND_NEWLINE, orjson.Fragment
    for rows in chunks:
        lines = []
        for row in rows:
            record = dict(zip(names, row, strict=True))
            for name in json_names:  # JSON text from the database, embedded as is
                if record[name] is not None:
                    record[name] = embed(record[name])
            lines.append(dumps(record, option=newline))
        yield b"".join(lines)


def _csv(columns: tuple[Column, ...], chunks: Iterator[Rows], plan: Plan) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([column.name for column in columns])
    convert = _converting(columns, {"bool": lambda value: "true" if value else "false", "tags": _json_text})
    for rows in chunks:
        writer.writerows(convert(rows))
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()  # the header of an empty export


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


# Arrow type of each column kind, and the type its database text or number is read as first.
_ARROW_TYPES = {
    "text": (pa.string(), pa.string()),
    "uuid": (pa.string(), pa.string()),
    "int": (pa.int64(), pa.int64()),
    "money": (pa.decimal128(20, 2), pa.string()),
    "timestamp": (pa.timestamp("us", tz="UTC"), pa.string()),
    "date": (pa.date32(), pa.string()),
    "bool": (pa.bool_(), pa.bool_()),
    "json": (pa.string(), pa.string()),
    "tags": (pa.list_(pa.string()), pa.list_(pa.string())),
}


class _Spool:
    """A write-only file the Parquet writer appends to and the stream drains after each row group."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0
        self.closed = False

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def drain(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def _parquet(columns: tuple[Column, ...], chunks: Iterator[Rows], plan: Plan) -> Iterator[bytes]:
    metadata = {
        "rapport.entity": plan.entity.value,
        "rapport.base_currency": plan.base_currency,
        "rapport.exported_at": plan.started_at.isoformat(),
    }
    schema = pa.schema([pa.field(c.name, _ARROW_TYPES[c.kind][0]) for c in columns], metadata=metadata)
    sink = _Spool()
    pending: list[pa.RecordBatch] = []
    with pq.ParquetWriter(sink, schema, compression="zstd") as writer:
        for rows in chunks:
            if rows:
                pending.append(_record_batch(schema, columns, rows))
            if sum(b.num_rows for b in pending) >= ROW_GROUP_ROWS or sum(b.nbytes for b in pending) >= ROW_GROUP_BYTES:
                _write_row_group(writer, pending, schema)
                yield sink.drain()
        if pending:
            _write_row_group(writer, pending, schema)
    yield sink.drain()


def _write_row_group(writer: pq.ParquetWriter, batches: list[pa.RecordBatch], schema: pa.Schema) -> None:
    table = pa.Table.from_batches(batches, schema)
    writer.write_table(table, row_group_size=max(1, table.num_rows))
    batches.clear()


def _record_batch(schema: pa.Schema, columns: tuple[Column, ...], rows: Rows) -> pa.RecordBatch:
    arrays = [
        pa.array(values, type=_ARROW_TYPES[column.kind][1]).cast(field.type)
        for field, column, values in zip(schema, columns, zip(*rows, strict=True), strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
