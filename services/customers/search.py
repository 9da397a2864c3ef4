"""Multi-condition customer search: the filter language over profile fields, tags, attributes and
purchase facts, compiled to one SQL query (a page, and a count when asked)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from rapport import filters
from rapport.filters import Field, FieldType
from rapport.pagination import decode_cursor, encode_cursor

from .models import Customer, CustomerTag


def _column(name: str) -> Callable[[], ColumnElement[Any]]:
    return lambda: Customer.__table__.c[name]


def _fields() -> dict[str, Field]:
    typed = {
        FieldType.STRING: ("given_name", "family_name", "email", "phone", "gender", "income_band", "occupation",
                           "education", "country", "region", "city"),
        FieldType.DATE: ("birth_date",),
        FieldType.NUMBER: ("income", "total_spent"),
        FieldType.INTEGER: ("order_count",),
        FieldType.DATETIME: ("signed_up_at", "created_at", "updated_at", "first_order_at", "last_order_at"),
        FieldType.BOOLEAN: ("consent_email", "consent_sms", "consent_personalisation"),
        FieldType.JSON: ("attributes",),
    }  # fmt: skip
    fields = {name: Field(name, kind, sql=_column(name)) for kind, names in typed.items() for name in names}
    fields["age"] = filters.age_field(_column("birth_date"))
    fields["tags"] = filters.set_table_field(
        "tags",
        owner_key=_column("id"),
        member_key=lambda: CustomerTag.__table__.c.customer_id,
        member_value=lambda: CustomerTag.__table__.c.tag,
    )
    return fields


FIELDS = _fields()


def _live() -> ColumnElement[bool]:
    return Customer.merged_into.is_(None) & Customer.erased_at.is_(None)


def compile_filter(raw: Any) -> ColumnElement[bool]:
    """SQL condition of a filter document; raises Invalid (422) naming the offending field."""
    return filters.to_sql(filters.parse_filter(raw, FIELDS), FIELDS)


def count(session: Session, raw_filter: Any) -> int:
    condition = compile_filter(raw_filter)
    return int(session.scalar(select(func.count()).select_from(Customer).where(_live(), condition)) or 0)


def search(
    session: Session, raw_filter: Any, *, limit: int, cursor: str | None, with_total: bool
) -> tuple[list[Customer], str | None, int | None]:
    """A page of matching live customers in id order, the next cursor, and the total when asked."""
    condition = compile_filter(raw_filter)
    after = decode_cursor(cursor, arity=1)
    query = select(Customer).where(_live(), condition).order_by(Customer.id).limit(limit + 1)
    if after is not None:
        query = query.where(Customer.id > uuid.UUID(str(after[0])))
    rows = list(session.scalars(query))
    next_cursor = encode_cursor([str(rows[limit - 1].id)]) if len(rows) > limit else None
    total = count(session, raw_filter) if with_total else None
    return rows[:limit], next_cursor, total
