"""Pydantic models of the customers API: XIn (create), XPatch (all optional), XRead; enums, not str.

Inputs are deliberately loose where partners send messy data (dates, phones, genders as text): the
cleaning module turns them into the stored, normalised form and reports field errors.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

# Money leaves the service as a decimal string (DESIGN: "money as decimal strings").
Money = Annotated[Decimal, PlainSerializer(lambda value: f"{value:.2f}", return_type=str)]
Text200 = Annotated[str, Field(max_length=200)]
SourceName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
ExternalId = Annotated[str, Field(min_length=1, max_length=128)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrderStatus(StrEnum):
    placed = "placed"
    paid = "paid"
    refunded = "refunded"
    cancelled = "cancelled"


class RecordStatus(StrEnum):
    created = "created"
    updated = "updated"
    unchanged = "unchanged"
    error = "error"


class IdentityRef(Strict):
    source: SourceName
    external_id: ExternalId


class ConsentsIn(Strict):
    email: bool | None = None
    sms: bool | None = None
    personalisation: bool | None = None


class CustomerFields(Strict):
    """Profile fields a client may send; all optional, all cleaned before storage."""

    given_name: Text200 | None = None
    family_name: Text200 | None = None
    email: Annotated[str, Field(max_length=320)] | None = None
    phone: Annotated[str, Field(max_length=64)] | None = None
    gender: Annotated[str, Field(max_length=32)] | None = None
    birth_date: date | Annotated[str, Field(max_length=40)] | None = None
    income: Decimal | None = Field(default=None, ge=0, le=Decimal("1e12"))
    income_band: Annotated[str, Field(max_length=32)] | None = None
    occupation: Annotated[str, Field(max_length=100)] | None = None
    education: Annotated[str, Field(max_length=64)] | None = None
    country: Annotated[str, Field(max_length=64)] | None = None
    region: Annotated[str, Field(max_length=100)] | None = None
    city: Annotated[str, Field(max_length=100)] | None = None
    address: Annotated[str, Field(max_length=1000)] | None = None
    signed_up_at: datetime | Annotated[str, Field(max_length=40)] | None = None
    tags: list[Annotated[str, Field(max_length=64)]] | None = Field(default=None, max_length=50)
    attributes: dict[str, str | int | float | bool | None] | None = Field(default=None, max_length=100)
    consents: ConsentsIn | None = None


class CustomerIn(CustomerFields):
    identities: list[IdentityRef] = Field(default_factory=list, max_length=20)


class CustomerPatch(CustomerFields):
    """JSON merge-patch: absent fields are kept, `null` clears a field."""


class CustomerBatchRecord(CustomerFields):
    source: SourceName
    external_id: ExternalId


class Consent(BaseModel):
    granted: bool | None
    at: datetime | None


class PurchaseFacts(BaseModel):
    first_order_at: datetime | None
    last_order_at: datetime | None
    order_count: int
    total_spent: Money
    currency: str


class CustomerRead(BaseModel):
    id: uuid.UUID
    given_name: str | None
    family_name: str | None
    email: str | None
    phone: str | None
    gender: str | None
    birth_date: date | None
    income: Money | None
    income_band: str | None
    occupation: str | None
    education: str | None
    country: str | None
    region: str | None
    city: str | None
    address: str | None
    signed_up_at: datetime | None
    tags: list[str]
    attributes: dict[str, Any]
    consents: dict[str, Consent]
    identities: list[IdentityRef]
    purchases: PurchaseFacts
    created_at: datetime
    updated_at: datetime
    version: int
    merged_into: uuid.UUID | None


class IdentityResolveIn(Strict):
    identities: list[IdentityRef] = Field(min_length=1, max_length=10_000)


class ResolvedIdentity(BaseModel):
    source: str
    external_id: str
    customer_id: uuid.UUID | None = Field(description="the live customer (after merges); null when unknown")


class IdentityResolveRead(BaseModel):
    identities: list[ResolvedIdentity]


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None
    total: int | None = None


class FieldError(BaseModel):
    loc: str
    msg: str


class RecordResult(BaseModel):
    index: int
    external_id: str | None
    status: RecordStatus
    id: str | None = None
    errors: list[FieldError] = Field(default_factory=list)


class BatchIn(Strict):
    # Records are validated one by one, so one bad record does not reject the batch.
    records: list[dict[str, Any]] = Field(min_length=1)


class BatchResult(BaseModel):
    results: list[RecordResult]
    counts: dict[RecordStatus, int]


class ProductIn(Strict):
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    name: Annotated[str, Field(min_length=1, max_length=300)]
    category: Annotated[str, Field(max_length=100)] | None = None
    brand: Annotated[str, Field(max_length=100)] | None = None
    price: Decimal | None = Field(default=None, ge=0, le=Decimal("1e10"))
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    active: bool = True


class ProductPatch(Strict):
    name: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    category: Annotated[str, Field(max_length=100)] | None = None
    brand: Annotated[str, Field(max_length=100)] | None = None
    price: Decimal | None = Field(default=None, ge=0, le=Decimal("1e10"))
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    active: bool | None = None


class ProductRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sku: str
    name: str
    category: str | None
    brand: str | None
    price: Money | None
    currency: str | None
    active: bool
    created_at: datetime
    updated_at: datetime
    version: int


class OrderItemIn(Strict):
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: int = Field(ge=1, le=1_000_000)
    unit_price: Decimal = Field(ge=0, le=Decimal("1e10"))


class OrderBatchRecord(Strict):
    source: SourceName
    external_id: ExternalId
    customer: IdentityRef
    placed_at: datetime | Annotated[str, Field(max_length=40)] | int | float
    channel: Annotated[str, Field(max_length=32)] | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Za-z]{3}$")]
    status: OrderStatus = OrderStatus.paid
    items: list[OrderItemIn] = Field(min_length=1, max_length=1000)
    # Accepted for partners' convenience and ignored: totals are always derived from the items.
    total: Decimal | str | None = Field(default=None, exclude=True)


class OrderItemRead(BaseModel):
    line: int
    sku: str
    quantity: int
    unit_price: Money
    line_total: Money


class OrderRead(BaseModel):
    id: int
    source: str
    external_id: str
    customer_id: uuid.UUID
    placed_at: datetime
    channel: str | None
    currency: str
    status: OrderStatus
    total: Money
    items: list[OrderItemRead]


class OrderStatsRow(BaseModel):
    period: date = Field(description="first day of the period")
    orders: int
    revenue: Money


class OrderStatsRead(BaseModel):
    """Placed and paid orders per period; revenue in the base currency."""

    start: date
    end: date
    interval: str
    currency: str
    totals: OrderStatsRow
    series: list[OrderStatsRow]


class CustomerWithOrdersRead(CustomerRead):
    """A profile with the customer's most recent orders (`GET /v1/customers/{id}?recent_orders=N`)."""

    recent_orders: list[OrderRead]


class SearchIn(Strict):
    filter: dict[str, Any] = Field(default_factory=lambda: {"all": []}, description="DESIGN.md's filter language")
    limit: int = Field(default=50, ge=1, le=1000)
    cursor: str | None = None
    with_total: bool = False


class CountIn(Strict):
    filter: dict[str, Any] = Field(default_factory=lambda: {"all": []})


class CountOut(BaseModel):
    count: int


# Duplicate candidates and merge (duplicates/, merge.py).


class SkippedKey(BaseModel):
    key: str
    value: list[str | None]
    customers: int


class DuplicatePair(BaseModel):
    customer_ids: tuple[uuid.UUID, uuid.UUID]
    score: float
    reasons: list[str]


class DuplicatePage(BaseModel):
    items: list[DuplicatePair]
    next_cursor: str | None
    # Key values shared by more customers than the key allows, ignored as junk (first page only).
    skipped_keys: list[SkippedKey] | None = None
    # When the stored candidates were last brought up to date with the customers.
    computed_at: datetime | None = None
    # True when more change events were pending than a listing applies before answering: run a refresh.
    stale: bool = False
    pending_changes: int = 0


class DuplicateRefreshRead(BaseModel):
    computed_at: datetime
    mode: str  # "all" or "changed"
    customers: int | None  # customers whose pairs were recomputed ("changed" only)
    pairs: int  # candidate pairs written, every score
    skipped_keys: int
    seconds: float


class DuplicateCandidate(BaseModel):
    customer_id: uuid.UUID
    score: float
    reasons: list[str]
    customer: CustomerRead


class CustomerDuplicates(BaseModel):
    customer_id: uuid.UUID
    items: list[DuplicateCandidate]
    skipped_keys: list[SkippedKey]


class MergeIn(Strict):
    from_: list[uuid.UUID] = Field(alias="from", min_length=1, max_length=50)
