"""Customer rows of an import file, validated and cleaned a block at a time, then upserted with the batch
API's own write (`sync.write_customers`).

Columns: source, external_id and the profile fields of `POST /v1/customers:batchUpsert` (given_name ...
signed_up_at, tags, attributes, consents); `created_at`, the demo generator's name for the sign-up
time, is read as signed_up_at. tags, attributes and consents hold JSON in a CSV cell (tags may also be
text separated by commas). A column present in the file is set on every row: an empty cell clears the
field, as a null does in the batch API.

Each row goes through the batch record schema (`CustomerBatchRecord`, one pydantic call per block) and
then the batch API's own cleaning (`sync.clean_profiles`: one frame per block, each distinct value cleaned
once), so a file row and a batch record are cleaned alike. When an external id comes twice in a block,
the last row wins, as a second upsert would.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from rapport.errors import validation_errors

from .. import cleaning, sync
from ..schemas import CustomerBatchRecord, CustomerFields
from . import chunks
from . import columns as col
from .files import Block

FIELDS = tuple(CustomerFields.model_fields)
REQUIRED = ("external_id",)
OPTIONAL = (*FIELDS, "created_at")
_JSON_FIELDS = ("tags", "attributes", "consents")
_RECORDS: TypeAdapter[list[CustomerBatchRecord]] = TypeAdapter(list[CustomerBatchRecord])


@dataclass
class Prepared:
    block: Block
    problems: col.Problems
    customers: list[sync.CleanCustomer]  # index = block row
    superseded: np.ndarray  # rows replaced by a later row of the same customer


def _json_cells(name: str, values: pa.Array, problems: col.Problems) -> list[Any]:
    """The JSON documents of a tags / attributes / consents column (tags may be comma-separated text)."""
    out: list[Any] = [None] * len(values)
    for text, rows in col.distinct(values, ~col.null_mask(values)):
        try:
            if name == "tags" and not text.lstrip().startswith("["):
                parsed: Any = cleaning.normalise_tags(text)
            else:
                parsed = orjson.loads(text)
        except (orjson.JSONDecodeError, cleaning.CleaningError) as error:
            reason = error.message if isinstance(error, cleaning.CleaningError) else f"not valid JSON: {error}"
            problems.add(_mask(rows, problems.size), f"{name}: {reason}")
            continue
        for row in rows.tolist():
            out[row] = parsed
    return out


def _mask(rows: np.ndarray, size: int) -> np.ndarray:
    selected = np.zeros(size, dtype=bool)
    selected[rows] = True
    return selected


def _records(block: Block, context: chunks.Context, problems: col.Problems) -> tuple[list[str], list[dict[str, Any]]]:
    names = [name for name in block.columns if name in (*REQUIRED, *OPTIONAL, "source")]
    if "created_at" in names and "signed_up_at" in names:
        names.remove("created_at")  # signed_up_at wins
    columns: dict[str, list[Any]] = {}
    for name in names:
        values = block.columns[name]
        key = "signed_up_at" if name == "created_at" else name
        columns[key] = _json_cells(key, values, problems) if key in _JSON_FIELDS else values.to_pylist()
    sources = block.columns.get("source", pa.nulls(block.size, pa.string()))
    columns["source"] = pc.fill_null(sources, context.source).to_pylist()
    keys = list(columns)
    return keys, [dict(zip(keys, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def _validated(records: list[dict[str, Any]], problems: col.Problems) -> dict[int, CustomerBatchRecord]:
    """The records that pass the batch record schema, by row; the others are rejected with its messages."""
    rows = np.flatnonzero(~problems.rejected).tolist()
    try:
        models = _RECORDS.validate_python([records[row] for row in rows])
        return dict(zip(rows, models, strict=True))
    except ValidationError as error:
        reasons: dict[int, list[str]] = defaultdict(list)
        for item in validation_errors(error.errors()):
            position, _, loc = item["loc"].partition(".")
            reasons[rows[int(position)]].append(f"{loc}: {item['msg']}")
        _add_per_row(problems, {row: "; ".join(messages) for row, messages in reasons.items()})
        good = [row for row in rows if row not in reasons]
        return dict(zip(good, _RECORDS.validate_python([records[row] for row in good]), strict=True))


def prepare(block: Block, context: chunks.Context) -> Prepared:
    problems = col.Problems(block.size)
    chunks.reject_unknown_fields((*REQUIRED, *OPTIONAL), block, problems)
    sources = block.columns.get("source")
    if sources is not None:
        differs = col.mask(pc.not_equal(sources, context.source))
        problems.add(differs, f"source: differs from this import's source {context.source!r}")
    _, records = _records(block, context, problems)
    models = _validated(records, problems)
    rows = list(models)
    dumps = [models[row].model_dump(exclude_unset=True, exclude={"source", "external_id"}) for row in rows]
    outcomes = sync.clean_profiles(dumps, default_region=context.default_region)
    reasons = {
        row: "; ".join(f"{error.loc}: {error.msg}" for error in errors)
        for row, (profile, errors) in zip(rows, outcomes, strict=True)
        if profile is None
    }
    _add_per_row(problems, reasons)
    bad = problems.rejected
    customers = [
        sync.CleanCustomer(row, models[row].source, models[row].external_id, *profile)
        for row, (profile, _) in zip(rows, outcomes, strict=True)
        if profile is not None and not bad[row]
    ]
    return Prepared(block, problems, *_last_of_each(customers, block.size))


def _add_per_row(problems: col.Problems, reasons: dict[int, str]) -> None:
    if reasons:
        per_row = np.empty(problems.size, dtype=object)
        for row, reason in reasons.items():
            per_row[row] = reason
        problems.add(_mask(np.array(list(reasons)), problems.size), per_row)


def _last_of_each(customers: list[sync.CleanCustomer], size: int) -> tuple[list[sync.CleanCustomer], np.ndarray]:
    last: dict[tuple[str, str], sync.CleanCustomer] = {}
    superseded = np.zeros(size, dtype=bool)
    for customer in customers:
        earlier = last.get((customer.source, customer.external_id))
        if earlier is not None:
            superseded[earlier.index] = True
        last[(customer.source, customer.external_id)] = customer
    return list(last.values()), superseded


def write(session: Session, prepared: Prepared) -> chunks.Outcome:
    batch = sync.Batch(prepared.block.size)
    sync.write_customers(session, prepared.customers, batch)
    counts: dict[str, int] = defaultdict(int)
    for result in batch.results.values():
        counts[result.status.value] += 1
    rejected = prepared.problems.rejected
    processed = int((~rejected).sum())
    return chunks.Outcome(processed, chunks.failures(prepared.block, prepared.problems), dict(counts))
