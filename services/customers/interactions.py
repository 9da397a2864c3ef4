"""Interactions (page views, campaign e-mails and responses, app opens, service contacts): stored in bulk
from import files, idempotently, and listed per customer.

An interaction has no id of its own in the source systems, so it is identified by its content: the
dedup key is the SHA-256 of "source|customer_source/customer_external_id|type|occurred_at|properties"
with occurred_at as UTC "YYYY-MM-DD HH:MM:SS.ffffff" and properties as compact JSON with sorted keys.
The same interaction imported twice, from CSV or NDJSON, in one file or two, is stored once.

Import columns: source, customer_external_id, type, occurred_at, properties (a JSON object; optional).
The type is trimmed and lower-cased; it must be 1-32 letters, digits or _ . : - starting with a letter.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session

from rapport.db import as_utc
from rapport.pagination import decode_cursor, encode_cursor

from . import cleaning
from .importing import bulk, chunks, lookups
from .importing import columns as col
from .importing.files import Block
from .models import Interaction
from .schemas import ExternalId

REQUIRED = ("customer_external_id", "type", "occurred_at")
OPTIONAL = ("properties",)
TYPE_PATTERN = r"^[a-z][a-z0-9_.:-]{0,31}$"
PROPERTIES_MAX_CHARS = 10_000
_EXTERNAL_ID: TypeAdapter[str] = TypeAdapter(ExternalId)


@dataclass
class Prepared:
    block: Block
    problems: col.Problems
    customer_external_id: pa.Array
    type: pa.Array
    occurred_at: np.ndarray  # epoch microseconds
    properties: pa.Array  # canonical JSON text
    dedup_key: pa.Array


def _types(values: pa.Array, problems: col.Problems) -> pa.Array:
    encoded = values.dictionary_encode()
    names = [
        None if v is None else (cleaning.clean_text(v, field="type") or "").lower()
        for v in encoded.dictionary.to_pylist()
    ]
    cleaned = pa.array(names, pa.string()).take(encoded.indices)
    bad = ~col.null_mask(values) & ~col.mask(pc.match_substring_regex(cleaned, TYPE_PATTERN))
    problems.add(bad, "type: 1-32 letters, digits or _ . : - starting with a letter, such as page_view")
    return cleaned


def _properties(values: pa.Array, problems: col.Problems) -> pa.Array:
    """Each row's properties as compact JSON with sorted keys ("{}" when empty)."""
    out = np.full(len(values), "{}", dtype=object)
    for text, rows in col.distinct(values, ~col.null_mask(values)):
        reason = None
        if len(text) > PROPERTIES_MAX_CHARS:
            reason = f"properties: at most {PROPERTIES_MAX_CHARS:,} characters"
        else:
            try:
                parsed = orjson.loads(text)
            except orjson.JSONDecodeError as error:
                parsed, reason = None, f"properties: not valid JSON: {error}"
            if reason is None and not isinstance(parsed, dict):
                reason = "properties: expected a JSON object"
        if reason is not None:
            bad = np.zeros(len(values), dtype=bool)
            bad[rows] = True
            problems.add(bad, reason)
            continue
        out[rows] = orjson.dumps(parsed, option=orjson.OPT_SORT_KEYS).decode()
    return pa.array(out.tolist(), pa.string())


def dedup_keys(
    source: str, customer_external_id: pa.Array, types: pa.Array, occurred_at: np.ndarray, properties: pa.Array
) -> pa.Array:
    """The SHA-256 content key of each interaction (see the module docstring)."""
    stamps = pa.array(occurred_at, pa.int64()).cast(pa.timestamp("us")).cast(pa.string())
    texts = pc.binary_join_element_wise(
        source, pc.binary_join_element_wise(source, customer_external_id, "/"), types, stamps, properties, "|"
    )
    return pa.array([hashlib.sha256(t.encode()).hexdigest() if t else None for t in texts.to_pylist()], pa.string())


def prepare(block: Block, context: chunks.Context) -> Prepared:
    """Validate and normalise a block of interaction rows (no database)."""
    data = block.columns
    problems = col.Problems(block.size)
    chunks.reject_unknown_fields((*REQUIRED, *OPTIONAL), block, problems)
    if "source" in data:
        differs = col.mask(pc.not_equal(data["source"], context.source))
        problems.add(differs, f"source: differs from this import's source {context.source!r}")
    for name in REQUIRED:
        problems.require(data[name], name)
    customer = data["customer_external_id"]
    length = pc.utf8_length(customer)
    fast = col.mask(pc.and_(pc.greater_equal(length, 1), pc.less_equal(length, 128)))
    col.check(customer, "customer_external_id", _EXTERNAL_ID, problems, fast=fast)
    types = _types(data["type"], problems)
    occurred_at = col.timestamps(data["occurred_at"], "occurred_at", problems)
    properties = _properties(data.get("properties", pa.nulls(block.size, pa.string())), problems)
    keys = dedup_keys(context.source, customer, types, occurred_at, properties)
    return Prepared(block, problems, customer, types, occurred_at, properties, keys)


def write(session: Session, prepared: Prepared, context: chunks.Context) -> chunks.Outcome:
    """Insert the valid interactions not stored yet; rows of unknown customers are rejected."""
    problems = prepared.problems
    valid = ~problems.rejected
    wanted = pc.unique(prepared.customer_external_id.filter(pa.array(valid))).to_pylist()
    owners = lookups.customer_ids(session, source=context.source, external_ids=wanted)
    names = prepared.customer_external_id.to_pylist()
    customer = np.array([None if (o := owners.get(n)) is None else o.hex for n in names], dtype=object)
    unknown = valid & (customer == None)  # noqa: E711 - element-wise
    if unknown.any():
        problems.add(
            unknown,
            lambda row: (
                f"customer_external_id: unknown customer {context.source}/{names[row]}; import the customer first"
            ),
        )
        valid &= ~unknown
    index = pa.array(np.flatnonzero(valid))
    size = len(index)
    rows = (
        bulk.Rows("interactions", size)
        .add("customer_id", "uuid", pa.array(customer[valid].tolist(), pa.string()))
        .add("type", "text", prepared.type.take(index))
        .add("occurred_at", "timestamp", prepared.occurred_at[valid])
        .add("properties", "json", prepared.properties.take(index))
        .add("source", "text", pa.array([context.source] * size, pa.string()))
        .add("dedup_key", "text", prepared.dedup_key.take(index))
    )
    created = bulk.insert_ignoring_conflicts(session, rows, key="dedup_key")
    counts = {"created": created, "unchanged": size - created}
    return chunks.Outcome(size, chunks.failures(prepared.block, problems), counts)


@dataclass(frozen=True)
class InteractionRow:
    id: int
    customer_id: uuid.UUID
    type: str
    occurred_at: datetime
    properties: dict[str, Any]
    source: str


def list_for_customer(
    session: Session, customer_id: uuid.UUID, *, limit: int, cursor: str | None, kind: str | None = None
) -> tuple[list[InteractionRow], str | None]:
    """A page of the customer's interactions, newest first (of one type if `kind` is given), and the
    cursor of the next page."""
    query = select(Interaction).where(Interaction.customer_id == customer_id)
    if kind is not None:
        query = query.where(Interaction.type == kind.strip().lower())
    after = decode_cursor(cursor, arity=2)
    if after is not None:
        stamp, last_id = datetime.fromisoformat(str(after[0])), int(after[1])
        query = query.where(
            (Interaction.occurred_at < stamp) | ((Interaction.occurred_at == stamp) & (Interaction.id < last_id))
        )
    query = query.order_by(Interaction.occurred_at.desc(), Interaction.id.desc()).limit(limit + 1)
    found = list(session.scalars(query))
    rows = [
        InteractionRow(
            row.id,
            row.customer_id,
            row.type,
            as_utc(row.occurred_at),
            row.properties or {},
            row.source,
        )
        for row in found[:limit]
    ]
    next_cursor = None
    if len(found) > limit:
        last = found[limit - 1]
        next_cursor = encode_cursor([as_utc(last.occurred_at).isoformat(), last.id])
    return rows, next_cursor
