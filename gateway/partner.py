"""Partner keys are bound to one source system: they may only sync records of that source.

The gateway refuses a batch naming another source before it reaches the customers service, and sets
the trusted `X-Rapport-Source` header so the service enforces the same rule on every record it writes."""

from __future__ import annotations

from typing import Any

import orjson

from rapport.errors import Forbidden

from .keys import Caller
from .routes import PREFIX

SYNC_PATHS = frozenset({f"{PREFIX}/customers:batchUpsert", f"{PREFIX}/orders:batchUpsert"})


def foreign_records(records: list[Any], source: str) -> list[dict[str, str]]:
    """One error per record whose `source` is not `source` (records that are not objects are left to
    the service's own validation)."""
    return [
        {"loc": f"body.records.{index}.source", "msg": f"must be {source!r}, got {record.get('source')!r}"}
        for index, record in enumerate(records)
        if isinstance(record, dict) and record.get("source") != source
    ]


def check_records(path: str, body: bytes | None, caller: Caller) -> None:
    """Raise Forbidden (403 naming each offending record) when a partner batch writes another source."""
    if path not in SYNC_PATHS or not body or caller.source is None:
        return
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return  # malformed JSON: the service answers its 422
    records = document.get("records") if isinstance(document, dict) else None
    if not isinstance(records, list):
        return
    errors = foreign_records(records, caller.source)
    if errors:
        raise Forbidden(
            f"This partner key writes only records of source {caller.source!r}; {len(errors)} record(s) name another.",
            errors=errors,
        )
