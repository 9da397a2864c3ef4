"""Opaque keyset cursors for `?limit=&cursor=` pagination."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel

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


def decode_cursor(cursor: str | None, *, arity: int) -> list[Any] | None:
    """The sort key inside `cursor`; raises Invalid (422) naming `cursor` when it was tampered with."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError) as error:
        raise Invalid(
            "The cursor is not one this service issued; start again without it.",
            errors=[{"loc": "query.cursor", "msg": "malformed cursor"}],
        ) from error
    if not isinstance(key, list) or len(key) != arity:
        raise Invalid(
            "The cursor is not one this service issued; start again without it.",
            errors=[{"loc": "query.cursor", "msg": "malformed cursor"}],
        )
    return key
