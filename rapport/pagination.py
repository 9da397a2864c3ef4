"""Opaque keyset cursors for `?limit=&cursor=` pagination."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from rapport.db import as_utc
from rapport.errors import Invalid

MAX_LIMIT = 1000
# The `?limit=` of every list route.
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """A page of a list: `next_cursor` is null on the last page; `total` only when asked for."""

    items: list[T]
    next_cursor: str | None
    total: int | None = None


def encode_cursor(key: list[Any]) -> str:
    """The cursor after the row whose sort key is `key` (JSON-serialisable values)."""
    return base64.urlsafe_b64encode(orjson.dumps(key, default=str)).decode().rstrip("=")


def _foreign_cursor() -> Invalid:
    return Invalid(
        "The cursor is not one this service issued; start again without it.",
        errors=[{"loc": "query.cursor", "msg": "malformed cursor"}],
    )


def decode_cursor(cursor: str | None, *, arity: int) -> list[Any] | None:
    """The sort key inside `cursor`; raises Invalid (422) naming `cursor` when it was tampered with."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError) as error:
        raise _foreign_cursor() from error
    if not isinstance(key, list) or len(key) != arity:
        raise _foreign_cursor()
    return key


def newest_first(
    session: Session,
    query: Select[T],
    *,
    moment: InstrumentedAttribute[datetime],
    row_id: InstrumentedAttribute[uuid.UUID],
    limit: int,
    cursor: str | None,
) -> tuple[list[T], str | None]:
    """One page of `query`'s rows newest first by (`moment`, `row_id`), after `cursor`, and the cursor of
    the next page (None on the last). The key is unique, so rows sharing a moment are neither skipped nor
    repeated between pages."""
    query = query.order_by(moment.desc(), row_id.desc()).limit(limit + 1)
    key = decode_cursor(cursor, arity=2)
    if key is not None:
        try:
            at, last_id = datetime.fromisoformat(key[0]), uuid.UUID(key[1])
        except (TypeError, ValueError) as error:
            raise _foreign_cursor() from error
        query = query.where((moment < at) | ((moment == at) & (row_id < last_id)))
    rows = list(session.scalars(query))
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    when: datetime = getattr(last, moment.key)
    return rows[:limit], encode_cursor([as_utc(when).isoformat(), str(getattr(last, row_id.key))])
