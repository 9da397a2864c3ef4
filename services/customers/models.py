"""SQLAlchemy tables of the customers service, on its own metadata.

Purchase facts (first/last order, order count, total spent) live on the customer row and are kept
current on every order write, so search and segmentation never aggregate orders on the fly.
Money is stored in the order's currency and, for purchase facts, in the base currency.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    literal_column,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from rapport.db import new_metadata

MONEY = Numeric(16, 2)
# BIGINT on PostgreSQL, INTEGER on SQLite (only INTEGER PRIMARY KEY autoincrements there).
BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = new_metadata()


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    given_name: Mapped[str | None] = mapped_column(String(200))
    family_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    gender: Mapped[str | None] = mapped_column(String(16))
    birth_date: Mapped[date | None] = mapped_column(Date, index=True)
    income: Mapped[Decimal | None] = mapped_column(MONEY)
    income_band: Mapped[str | None] = mapped_column(String(16), index=True)
    occupation: Mapped[str | None] = mapped_column(String(100))
    education: Mapped[str | None] = mapped_column(String(32))
    country: Mapped[str | None] = mapped_column(String(64))
    region: Mapped[str | None] = mapped_column(String(100))
    city: Mapped[str | None] = mapped_column(String(100))  # looked up by ix_customers_city_total_spent
    address: Mapped[str | None] = mapped_column(Text)
    # When the customer joined, as the source system says (tenure); created_at is when we first saw them.
    signed_up_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # jsonb on PostgreSQL: a GIN index finds `attributes.<key> eq <value>` (see ix_customers_live_attributes).
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON().with_variant(JSONB(), "postgresql"), default=dict)
    consent_email: Mapped[bool | None] = mapped_column(Boolean)
    consent_email_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    consent_sms: Mapped[bool | None] = mapped_column(Boolean)
    consent_sms_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    consent_personalisation: Mapped[bool | None] = mapped_column(Boolean)
    consent_personalisation_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)
    merged_into: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id"), index=True)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_order_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_order_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    order_count: Mapped[int] = mapped_column(Integer, default=0, index=True)
    total_spent: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))

    __table_args__ = (
        # The common search shape "where in city X, spent more than Y" and its listing order.
        Index("ix_customers_city_total_spent", "city", "total_spent"),
    )


def name_key(column: Any) -> ColumnElement[str]:
    """A name part as duplicate detection compares it (duplicates.py): lower-cased, a missing part as ''."""
    return func.coalesce(func.lower(column), literal_column("''"))


# The blocking keys "same name and city" and "same name and birth date" (the exact expressions), and the
# groups duplicates/candidates.py recounts junk by (a common name alone matches thousands of rows).
Index("ix_customers_name_city_key", name_key(Customer.family_name), name_key(Customer.given_name), Customer.city)
Index(
    "ix_customers_name_birth_date_key",
    name_key(Customer.family_name),
    name_key(Customer.given_name),
    Customer.birth_date,
)

# Search (search.py): partial indexes over live customers only (the predicate every search carries), each
# led by the columns of a common query shape and, on PostgreSQL, covering the other often-filtered
# columns and the id. So an exact count, and the ids of the first page, come from an index-only scan
# instead of a visit to every candidate row (bench/customers_search.py: 10-20x at 1M customers).
LIVE = "merged_into IS NULL AND erased_at IS NULL"
SEARCH_COVERED = (
    "id", "gender", "birth_date", "income_band", "education", "country", "city", "email",
    "total_spent", "order_count", "last_order_at", "consent_email",
)  # fmt: skip
# A range over total_spent reads a large share of its index, so that one covers only what is asked with
# it (the other purchase facts, consent, age, country): half as wide, twice as fast (revision cust0007facts).
FACTS_COVERED = ("id", "order_count", "last_order_at", "consent_email", "birth_date", "country")
SEARCH_INDEXES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # name: (keys, covered)
    "ix_customers_live_city": (("city", "gender", "birth_date"), SEARCH_COVERED),
    "ix_customers_live_country": (("country", "birth_date"), SEARCH_COVERED),
    "ix_customers_live_demographics": (("gender", "education", "income_band"), SEARCH_COVERED),
    "ix_customers_live_total_spent": (("total_spent",), FACTS_COVERED),
}
for _name, (_keys, _covered) in SEARCH_INDEXES.items():
    Index(
        _name,
        *(Customer.__table__.c[key] for key in _keys),  # columns, not names: names would bind no table
        postgresql_where=literal_column(LIVE),
        sqlite_where=literal_column(LIVE),
        postgresql_include=[column for column in _covered if column not in _keys],
    )
# The filter compiler adds `attributes @> {"key": value}` next to each string / boolean eq on a json key.
Index(
    "ix_customers_live_attributes",
    Customer.attributes,
    postgresql_using="gin",
    postgresql_ops={"attributes": "jsonb_path_ops"},
    postgresql_where=literal_column(LIVE),
).ddl_if(dialect="postgresql")


class CustomerTag(Base):
    """Tags as rows, so `tags contains X` is an indexed lookup on every backend."""

    __tablename__ = "customer_tags"

    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)

    # `tags contains X` counted by an index-only scan: the customers holding a tag, without the heap.
    __table_args__ = (Index("ix_customer_tags_tag_customer_id", "tag", "customer_id"),)


class Identity(Base):
    """A customer as known to one source system (partner CRM, web shop, app)."""

    __tablename__ = "identities"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(128))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("source", "external_id"),)


class Product(Base):
    __tablename__ = "products"

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    category: Mapped[str | None] = mapped_column(String(100), index=True)
    brand: Mapped[str | None] = mapped_column(String(100))
    price: Mapped[Decimal | None] = mapped_column(MONEY)
    currency: Mapped[str | None] = mapped_column(String(3))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(128))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    channel: Mapped[str | None] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    # Derived from the items, never taken from the input.
    total: Mapped[Decimal] = mapped_column(MONEY)
    total_base: Mapped[Decimal] = mapped_column(MONEY)
    item_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("source", "external_id"),)


class OrderItem(Base):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    line: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(64))  # no index: nothing looks items up by sku
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(MONEY)


class Interaction(Base):
    __tablename__ = "interactions"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    type: Mapped[str] = mapped_column(String(32), index=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(64))
    # Hash of the interaction's content: an import run twice stores each interaction once.
    dedup_key: Mapped[str] = mapped_column(String(64), unique=True)


class Change(Base):
    """The change feed other services follow (`GET /v1/changes?after=seq`)."""

    __tablename__ = "changes"

    seq: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ChangeRetention(Base):
    """One row: the highest `changes.seq` pruned by retention, so a follower behind it learns it missed events."""

    __tablename__ = "change_retention"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pruned_through: Mapped[int] = mapped_column(BIG_ID)
    pruned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Merge(Base):
    __tablename__ = "merges"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    survivor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    merged_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), unique=True)
    merged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str | None] = mapped_column(String(128))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AuditRecord(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str | None] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(64), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class IdempotentResponse(Base):
    """The stored answer to a request sent with an Idempotency-Key, replayed on a retry."""

    __tablename__ = "idempotent_responses"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    route: Mapped[str] = mapped_column(String(100), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class ImportJob(Base):
    __tablename__ = "import_jobs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(16))
    format: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    file_path: Mapped[str] = mapped_column(Text)
    total_bytes: Mapped[int] = mapped_column(BIG_ID)
    processed_bytes: Mapped[int] = mapped_column(BIG_ID, default=0)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    # Lines up to here are committed; a restarted job resumes after it.
    committed_line: Mapped[int] = mapped_column(BIG_ID, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CandidatePair(Base):
    """A stored duplicate candidate pair (duplicates/candidates.py): customer_a < customer_b, the
    uncapped points and the evidence mask (score and reasons are derived from them). Every pair sharing
    a bounded key group is kept, also those at 0 points or less, so a refresh finds a changed customer's
    former partners here."""

    __tablename__ = "duplicate_candidates"

    customer_a: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    customer_b: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)
    points: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# The listing's keyset order: best first, ties in id order.
Index(
    "ix_duplicate_candidates_rank",
    CandidatePair.points.desc(),
    CandidatePair.customer_a,
    CandidatePair.customer_b,
)


class JunkKey(Base):
    """A blocking-key value shared by more live customers than the key allows (no pairs, reported)."""

    __tablename__ = "duplicate_junk_keys"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))
    family_key: Mapped[str | None] = mapped_column(String(200))
    given_key: Mapped[str | None] = mapped_column(String(200))
    birth_date: Mapped[date | None] = mapped_column(Date)
    city: Mapped[str | None] = mapped_column(String(100))
    customers: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_duplicate_junk_keys_key_customers", "key", "customers"),)


class DuplicateRefresh(Base):
    """One row: how far the stored candidates follow the change feed."""

    __tablename__ = "duplicate_refreshes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    change_seq: Mapped[int] = mapped_column(BIG_ID)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    refreshed_all_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Customers changed since the whole refresh: a bound on how far a stored junk count may run high.
    changed_since_all: Mapped[int] = mapped_column(Integer, default=0)


class DuplicateScope(Base):
    """Scratch rows of one refresh transaction: the customers whose pairs it recomputes."""

    __tablename__ = "duplicate_scope"

    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
