"""Multi-condition customer search: the filter language over profile fields, tags, attributes and
purchase facts, compiled to one SQL query (a page, and a count when asked)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, func, select, text
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


def _tune(session: Session) -> None:
    # A count over 1M rows is costed far above jit_above_cost, and compiling it takes longer (50-100 ms)
    # than running it from an index; SET LOCAL lasts until the request's transaction ends.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))


def count(session: Session, raw_filter: Any) -> int:
    """The exact number of live customers matching the filter; raises Invalid (422)."""
    condition = compile_filter(raw_filter)
    _tune(session)
    return _count(session, condition)


def _count(session: Session, condition: ColumnElement[bool]) -> int:
    # Only columns of the filter are read, so the partial covering indexes over live customers
    # (models.SEARCH_INDEXES) can answer it by an index-only scan.
    return int(session.scalar(select(func.count()).select_from(Customer).where(_live(), condition)) or 0)


#: The first page's ids come either from walking the primary key in id order (it meets a match every
#: N_live / total rows) or from enumerating every match and sorting them, which re-runs the count's own
#: scan. Enumerate when there are few matches and the count was quick (its index led to the matches
#: themselves, not to many more candidates). At 1M customers a walk that passes 7,000 rows costs 20-70 ms,
#: re-running a 5-10 ms index-only count about the same again; results are identical either way.
ENUMERATE_BELOW = 20_000
ENUMERATE_WITHIN_SECONDS = 0.015


def search(
    session: Session, raw_filter: Any, *, limit: int, cursor: str | None, with_total: bool
) -> tuple[list[Customer], str | None, int | None]:
    """A page of matching live customers in id order, the next cursor, and the total when asked.

    Raises Invalid (422) for a bad filter or cursor."""
    condition = compile_filter(raw_filter)
    after = decode_cursor(cursor, arity=1)
    _tune(session)
    started = time.perf_counter()
    total = _count(session, condition) if with_total else None
    quick = time.perf_counter() - started <= ENUMERATE_WITHIN_SECONDS
    matches = select(Customer.id).where(_live(), condition)
    if after is not None:
        matches = matches.where(Customer.id > uuid.UUID(str(after[0])))
    if total is not None and total <= ENUMERATE_BELOW and quick:
        # MATERIALIZED keeps PostgreSQL from walking the primary key for the ORDER BY ... LIMIT.
        enumerated = matches.cte("matches").prefix_with("MATERIALIZED", dialect="postgresql")
        ids = select(enumerated.c.id).order_by(enumerated.c.id).limit(limit + 1)
    else:
        ids = matches.order_by(Customer.id).limit(limit + 1)
    # The page's ids first, then only their rows.
    query = select(Customer).where(Customer.id.in_(ids.scalar_subquery())).order_by(Customer.id)
    rows = list(session.scalars(query))
    next_cursor = encode_cursor([str(rows[limit - 1].id)]) if len(rows) > limit else None
    return rows[:limit], next_cursor, total
