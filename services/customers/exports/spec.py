"""What an export is: its entity, format and columns, and the plan fixing its bounds before the first byte."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import store
from ..models import Interaction, Order


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


#: A chunk of rows as the database hands them back, in the order of the entity's COLUMNS.
Rows = Sequence[Sequence[Any]]

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
