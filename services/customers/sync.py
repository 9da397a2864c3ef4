"""Bulk sync: upsert batches of customers and orders by (source, external_id), set-based.

Each record is validated and cleaned on its own, so a bad record is reported and skipped while the
valid ones are written; nothing of an invalid record is ever written. The database work per batch
is a handful of set-based statements, not one round trip per record.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from pydantic import ValidationError
from sqlalchemy import update
from sqlalchemy.orm import Session

from rapport.db import as_utc, bulk_insert, plan_for_current_sizes
from rapport.errors import validation_errors

from . import cleaning, store
from .models import Customer, Identity
from .schemas import CustomerBatchRecord, FieldError, RecordResult, RecordStatus


@dataclass
class Batch:
    """Per-record results being filled in, in input order."""

    size: int
    results: dict[int, RecordResult] = field(default_factory=dict)

    def fail(self, index: int, external_id: str | None, errors: Sequence[FieldError]) -> None:
        self.results[index] = RecordResult(
            index=index, external_id=external_id, status=RecordStatus.error, errors=list(errors)
        )

    def done(self, index: int, external_id: str, status: RecordStatus, record_id: Any) -> None:
        self.results[index] = RecordResult(index=index, external_id=external_id, status=status, id=str(record_id))

    def ordered(self) -> list[RecordResult]:
        return [self.results[index] for index in range(self.size)]


def pydantic_errors(error: ValidationError, prefix: str = "") -> list[FieldError]:
    return [FieldError(loc=prefix + item["loc"], msg=item["msg"]) for item in validation_errors(error.errors())]


def external_id_of(raw: Any) -> str | None:
    value = raw.get("external_id") if isinstance(raw, Mapping) else None
    return str(value) if value is not None else None


@dataclass
class CleanCustomer:
    index: int
    source: str
    external_id: str
    fields: dict[str, Any]  # cleaned profile columns that the record set (None clears)
    tags: list[str] | None
    consents: dict[str, bool | None]


# Cleaned profile columns, tags (None when the client did not send them), consents.
CleanProfile = tuple[dict[str, Any], list[str] | None, dict[str, bool | None]]


def clean_profile(given: dict[str, Any], *, default_region: str) -> tuple[CleanProfile, list[FieldError]]:
    """Split a client's profile fields into (cleaned columns, tags or None if absent, consents), or errors."""
    given = dict(given)
    consents = given.pop("consents", None) or {}
    cleaned, issues = cleaning.clean_customer(given, default_region=default_region)
    errors = [FieldError(loc=issue.loc, msg=issue.msg) for issue in issues]
    if "signed_up_at" in given:
        try:
            cleaned["signed_up_at"] = cleaning.parse_datetime(given["signed_up_at"], field="signed_up_at")
        except cleaning.CleaningError as error:
            errors.append(FieldError(loc=error.field, msg=error.message))
    # Tags are replaced only when the record carries them; an explicit null clears them.
    tags = (cleaned.pop("tags", None) or []) if "tags" in given else None
    cleaned.pop("tags", None)
    return (cleaned, tags, consents), errors


# Below this many records with the same fields, cleaning record by record is cheaper than building a frame.
FRAME_MIN_RECORDS = 32
_PASSED_THROUGH = ("consents", "signed_up_at")


def clean_profiles(
    given: Sequence[dict[str, Any]], *, default_region: str
) -> list[tuple[CleanProfile | None, list[FieldError]]]:
    """`clean_profile` of many records: (profile, []) or (None, errors) for each, in order.

    Records that carry the same fields are cleaned together as a frame (`cleaning.clean_customers_frame`),
    each distinct value once: names, cities, vocabularies, dates and email domains repeat across a batch.
    The frame cleaner gives exactly the per-record result, so grouping never changes an answer.
    """
    outcomes: list[tuple[CleanProfile | None, list[FieldError]]] = [(None, [])] * len(given)
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for position, record in enumerate(given):
        groups[tuple(sorted(record))].append(position)
    for fields, positions in groups.items():
        members = [given[position] for position in positions]
        if len(members) < FRAME_MIN_RECORDS:
            cleaned = [_outcome(*clean_profile(member, default_region=default_region)) for member in members]
        else:
            cleaned = _clean_group(members, fields, default_region=default_region)
        for position, outcome in zip(positions, cleaned, strict=True):
            outcomes[position] = outcome
    return outcomes


def _outcome(profile: CleanProfile, errors: list[FieldError]) -> tuple[CleanProfile | None, list[FieldError]]:
    return (None, errors) if errors else (profile, errors)


def _clean_group(
    members: Sequence[dict[str, Any]], fields: Sequence[str], *, default_region: str
) -> list[tuple[CleanProfile | None, list[FieldError]]]:
    # object columns keep each value as sent: a column of ints with a None must not become floats.
    frame = pd.DataFrame({name: pd.Series([m[name] for m in members], dtype=object) for name in fields})
    profile = frame.drop(columns=[name for name in _PASSED_THROUGH if name in fields])
    cleaned, rejected = cleaning.clean_customers_frame(profile, default_region=default_region)
    errors: list[list[FieldError]] = [[] for _ in members]
    for row, issues in zip(rejected.index.tolist(), rejected[cleaning.REASONS].tolist(), strict=True):
        errors[row] = [FieldError(loc=issue.loc, msg=issue.msg) for issue in issues]
    signed_up: list[datetime | None] = [None] * len(members)
    if "signed_up_at" in fields:
        parsed: dict[Any, datetime | FieldError | None] = {}  # each distinct value parsed once
        for row, member in enumerate(members):
            raw = member["signed_up_at"]
            key = raw if isinstance(raw, str | None) else repr(raw)
            if key not in parsed:
                try:
                    parsed[key] = cleaning.parse_datetime(raw, field="signed_up_at")
                except cleaning.CleaningError as error:
                    parsed[key] = FieldError(loc=error.field, msg=error.message)
            outcome = parsed[key]
            if isinstance(outcome, FieldError):
                errors[row].append(outcome)
            else:
                signed_up[row] = outcome
    outcomes: list[tuple[CleanProfile | None, list[FieldError]]] = [(None, row_errors) for row_errors in errors]
    for row, values in zip(cleaned.index.tolist(), cleaned.to_dict("records"), strict=True):
        if errors[row]:
            continue
        columns = {str(name): value for name, value in values.items()}
        tags = columns.pop("tags", None)
        if "income_band" not in fields and columns.get("income") is None:
            columns.pop("income_band", None)  # a band is only derived from an income, as in clean_customer
        if "signed_up_at" in fields:
            columns["signed_up_at"] = signed_up[row]
        consents = members[row].get("consents") or {}
        outcomes[row] = ((columns, (tags or []) if "tags" in fields else None, consents), [])
    return outcomes


def admission_error(
    index: int,
    key: tuple[str, str],
    *,
    sources: Sequence[str],
    seen: dict[tuple[str, str], int],
    partner_source: str | None,
) -> FieldError | None:
    """Why record `index` may not be written in this batch: a source the partner does not own, or a
    (source, external_id) key an earlier record already used. Records the key as seen when admitted."""
    if partner_source is not None and any(source != partner_source for source in sources):
        return FieldError(loc="source", msg=f"this partner may only sync source {partner_source!r}")
    if key in seen:
        return FieldError(loc="external_id", msg=f"duplicate of record {seen[key]} in this batch")
    seen[key] = index
    return None


def _validate_customers(
    records: Sequence[Any], batch: Batch, *, default_region: str, partner_source: str | None
) -> list[CleanCustomer]:
    admitted: list[tuple[int, CustomerBatchRecord]] = []
    seen: dict[tuple[str, str], int] = {}
    for index, raw in enumerate(records):
        try:
            record = CustomerBatchRecord.model_validate(raw)
        except ValidationError as error:
            batch.fail(index, external_id_of(raw), pydantic_errors(error))
            continue
        refused = admission_error(
            index,
            (record.source, record.external_id),
            sources=(record.source,),
            seen=seen,
            partner_source=partner_source,
        )
        if refused is not None:
            batch.fail(index, record.external_id, [refused])
            continue
        admitted.append((index, record))
    given = [record.model_dump(exclude_unset=True, exclude={"source", "external_id"}) for _, record in admitted]
    valid: list[CleanCustomer] = []
    for (index, record), (profile, errors) in zip(
        admitted, clean_profiles(given, default_region=default_region), strict=True
    ):
        if profile is None:
            batch.fail(index, record.external_id, errors)
        else:
            valid.append(CleanCustomer(index, record.source, record.external_id, *profile))
    return valid


def _stored(value: Any) -> Any:
    # SQLite hands back naive UTC datetimes; cleaned values are aware, so compare both as aware UTC.
    return as_utc(value) if isinstance(value, datetime) else value


def changed_columns(
    current: Mapping[str, Any], fields: Mapping[str, Any], consents: Mapping[str, bool | None], stamp: datetime
) -> dict[str, Any]:
    """The columns that cleaned `fields` and `consents` change on a customer whose values are `current`
    (attributes merge key by key, a null attribute removes the key; a changed consent is timestamped)."""
    changes: dict[str, Any] = {}
    for name, value in fields.items():
        if name == "attributes":
            merged = {**(current.get("attributes") or {}), **(value or {})}
            merged = {key: item for key, item in merged.items() if item is not None}
            if merged != (current.get("attributes") or {}):
                changes["attributes"] = merged
        elif _stored(current.get(name)) != value:
            changes[name] = value
    for name, granted in consents.items():
        if current.get(f"consent_{name}") != granted:
            changes[f"consent_{name}"] = granted
            changes[f"consent_{name}_at"] = stamp
    return changes


_NEW_PROFILE: dict[str, Any] = dict.fromkeys(store.PROFILE_FIELDS)


def new_customer_columns(
    fields: Mapping[str, Any], consents: Mapping[str, bool | None], stamp: datetime
) -> dict[str, Any]:
    """The profile columns of a new customer: `changed_columns` against an empty profile, without the
    comparisons (a bulk load creates a million of these)."""
    row = _NEW_PROFILE | dict(fields)
    row["attributes"] = {key: item for key, item in (fields.get("attributes") or {}).items() if item is not None}
    for name in store.CONSENTS:  # every row the same keys, so a batch is written without reshaping
        granted = consents.get(name)
        row[f"consent_{name}"], row[f"consent_{name}_at"] = granted, None if granted is None else stamp
    return row


def upsert_customers(
    session: Session, records: Sequence[Any], *, default_region: str, partner_source: str | None = None
) -> list[RecordResult]:
    """Create or update one customer per record, keyed by its (source, external_id) identity."""
    batch = Batch(len(records))
    valid = _validate_customers(records, batch, default_region=default_region, partner_source=partner_source)
    plan_for_current_sizes(session)
    write_customers(session, valid, batch)
    return batch.ordered()


def write_customers(session: Session, valid: Sequence[CleanCustomer], batch: Batch) -> None:
    """Upsert validated, cleaned customers (unique (source, external_id) keys) and fill in `batch` with
    each one's result. Shared by the batch API and file imports, which clean a whole frame at once."""
    owners = store.identity_owners(session, [(r.source, r.external_id) for r in valid])
    current = store.current_profiles(session, set(owners.values()))
    stamp = store.now()
    new_rows: list[dict[str, Any]] = []
    new_identities: list[dict[str, Any]] = []
    pending: dict[uuid.UUID, dict[str, Any]] = {}
    tags: dict[uuid.UUID, list[str]] = {}
    for record in valid:
        owner = owners.get((record.source, record.external_id))
        if owner is None:
            customer_id = uuid.uuid4()
            row = new_customer_columns(record.fields, record.consents, stamp) | {
                "id": customer_id,
                "created_at": stamp,
                "updated_at": stamp,
                "version": 1,
                "order_count": 0,
                "total_spent": Decimal("0"),
            }
            new_rows.append(row)
            new_identities.append(
                {
                    "source": record.source,
                    "external_id": record.external_id,
                    "customer_id": customer_id,
                    "created_at": stamp,
                }
            )
            batch.done(record.index, record.external_id, RecordStatus.created, customer_id)
        else:
            customer_id = current[owner]["id"]  # a merged-away owner resolves to its survivor
            seen = current[customer_id] | pending.get(customer_id, {})
            changes = changed_columns(seen, record.fields, record.consents, stamp)
            tags_before = tags.get(customer_id, current[customer_id]["tags"])
            tags_changed = record.tags is not None and record.tags != tags_before
            if changes or tags_changed:
                pending.setdefault(customer_id, {}).update(changes)
            status = RecordStatus.updated if changes or tags_changed else RecordStatus.unchanged
            batch.done(record.index, record.external_id, status, customer_id)
        if record.tags is not None:
            tags[customer_id] = record.tags
    if new_rows:
        bulk_insert(session, Customer, new_rows)
        bulk_insert(session, Identity, new_identities)
    if pending:
        session.execute(
            update(Customer),
            [
                {"id": cid, **changes, "updated_at": stamp, "version": current[cid]["version"] + 1}
                for cid, changes in pending.items()
            ],
        )
    store.set_tags(session, tags.keys(), tags)
    store.record_changes(session, "customer", "created", [row["id"] for row in new_rows])
    store.record_changes(session, "customer", "updated", pending.keys())
