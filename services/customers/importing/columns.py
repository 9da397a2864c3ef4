"""Vectorised parsing of the text columns of an import with the batch API's rules.

Each parser takes a pyarrow string column and returns the parsed values plus the rows it rejects, with
the reason the batch API gives for the same value. Common spellings take a pyarrow fast path (an ISO-8601
UTC timestamp, a plain decimal, plain digits); every other value is checked once per distinct value by
the very validator the batch API uses (the pydantic field of `schemas`, `cleaning.parse_datetime`), so a
value is accepted, normalised and refused exactly as `POST /v1/orders:batchUpsert` would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import TypeAdapter, ValidationError

from .. import cleaning
from ..cleaning.dates import EPOCH

_ISO_UTC = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"
_PLAIN_DECIMAL = r"^(?P<units>\d{1,10})(?:\.(?P<fraction>\d{1,2}))?$"
_PLAIN_INTEGER = r"^\d{1,9}$"
_MICROSECOND = timedelta(microseconds=1)


class Problems:
    """Reasons for rejecting rows, collected check by check; only rejected rows cost Python work."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._checks: list[tuple[np.ndarray, Reason]] = []

    def add(self, rows: np.ndarray, reason: Reason) -> None:
        """Reject `rows` (a boolean mask) for `reason`: one text, an object array of texts per row, or a
        function of the row (called for rejected rows only, when the report is written)."""
        if rows.any():
            self._checks.append((rows, reason))

    def require(self, values: pa.Array, name: str) -> None:
        self.add(null_mask(values), f"{name}: required")

    @property
    def rejected(self) -> np.ndarray:
        mask = np.zeros(self.size, dtype=bool)
        for rows, _ in self._checks:
            mask |= rows
        return mask

    def reasons(self, row: int) -> list[str]:
        return [_reason(reason, row) for rows, reason in self._checks if rows[row]]


Reason = str | np.ndarray | Callable[[int], str]


def _reason(reason: Reason, row: int) -> str:
    if isinstance(reason, str):
        return reason
    if isinstance(reason, np.ndarray):
        return str(reason[row])
    return reason(row)


def null_mask(values: pa.Array) -> np.ndarray:
    return np.asarray(values.is_null().to_numpy(zero_copy_only=False), dtype=bool)


def mask(values: pa.Array) -> np.ndarray:
    """A boolean array (nulls as False) as numpy."""
    return np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=bool)


def distinct(values: pa.Array, rows: np.ndarray) -> Iterator[tuple[Any, np.ndarray]]:
    """(value, its row numbers) for each distinct non-null value among `rows` (a boolean mask)."""
    positions = np.flatnonzero(rows)
    if len(positions) == 0:
        return
    encoded = values.take(pa.array(positions)).dictionary_encode()
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    for group in np.split(order, bounds):
        yield encoded.dictionary[int(codes[group[0]])].as_py(), positions[group]


def first_error(error: ValidationError) -> str:
    return str(error.errors()[0]["msg"])


def check(
    values: pa.Array, name: str, adapter: TypeAdapter[Any], problems: Problems, *, fast: np.ndarray | None = None
) -> None:
    """Reject non-null values that `adapter` refuses; `fast` marks rows already known to be valid."""
    todo = ~null_mask(values) if fast is None else ~null_mask(values) & ~fast
    for value, rows in distinct(values, todo):
        try:
            adapter.validate_python(value)
        except ValidationError as error:
            problems.add(_rows_mask(rows, problems.size), f"{name}: {first_error(error)}")


def _rows_mask(rows: np.ndarray, size: int) -> np.ndarray:
    selected = np.zeros(size, dtype=bool)
    selected[rows] = True
    return selected


def map_values(
    values: pa.Array,
    rows: np.ndarray,
    convert: Callable[[Any], Any],
    out: np.ndarray,
    name: str,
    problems: Problems,
    *,
    errors: tuple[type[Exception], ...],
    message: Callable[[Exception], str],
) -> None:
    """out[row] = convert(value) for the distinct values of `rows`; a raised error rejects the rows."""
    for value, positions in distinct(values, rows):
        try:
            out[positions] = convert(value)
        except errors as error:
            problems.add(_rows_mask(positions, problems.size), f"{name}: {message(error)}")


def timestamps(values: pa.Array, name: str, problems: Problems) -> np.ndarray:
    """Epoch microseconds (int64) of `cleaning.parse_datetime` for each row; 0 where null or rejected.

    Each distinct value is parsed once: ISO-8601 UTC ("2024-03-30T03:02:00Z") by pyarrow's strict cast
    (it refuses 2024-02-30), anything else by `parse_datetime`."""
    encoded = values.dictionary_encode()
    dictionary = encoded.dictionary
    micros = np.zeros(len(dictionary), dtype=np.int64)
    failed = np.empty(len(dictionary), dtype=object)
    iso = mask(pc.match_substring_regex(dictionary, _ISO_UTC))
    if iso.any():
        try:
            seconds = dictionary.filter(pa.array(iso)).cast(pa.timestamp("s", tz="UTC")).cast(pa.int64())
            micros[iso] = seconds.to_numpy(zero_copy_only=False) * 1_000_000
        except pa.ArrowInvalid:  # an impossible date among them: parse those one by one below
            iso[:] = False
    for position in np.flatnonzero(~iso):
        try:
            moment = cleaning.parse_datetime(dictionary[int(position)].as_py(), field=name)
        except cleaning.CleaningError as error:
            failed[position] = f"{name}: {error.message}"
            continue
        micros[position] = 0 if moment is None else (moment - EPOCH) // _MICROSECOND
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    present = codes >= 0
    out = np.zeros(len(values), dtype=np.int64)
    out[present] = micros[codes[present]]
    bad = np.flatnonzero(failed != None)  # noqa: E711 - element-wise on an object array
    if len(bad):
        rows = present & np.isin(codes, bad)
        reasons = np.empty(len(values), dtype=object)
        reasons[rows] = failed[codes[rows]]
        problems.add(rows, reasons)
    return out


def cents(values: pa.Array, name: str, adapter: TypeAdapter[Decimal], problems: Problems) -> np.ndarray:
    """Money in cents (int64), quantized to the cent as the batch API does (`Decimal.quantize`, half-even);
    `adapter` is the pydantic field of the amount. 0 where null or rejected."""
    out = np.zeros(len(values), dtype=np.int64)
    parts = pc.extract_regex(values, _PLAIN_DECIMAL)
    plain = ~null_mask(parts)
    if plain.any():  # at most two decimals: exact in integer cents, no rounding
        matched = parts.filter(pa.array(plain))
        units = pc.struct_field(matched, "units").cast(pa.int64()).to_numpy(zero_copy_only=False)
        fraction = pc.utf8_rpad(pc.struct_field(matched, "fraction"), width=2, padding="0")
        out[plain] = units * 100 + fraction.cast(pa.int64()).to_numpy(zero_copy_only=False)
    rest = ~plain & ~null_mask(values)

    def convert(value: Any) -> int:
        return int(adapter.validate_python(value).quantize(Decimal("0.01")).scaleb(2))

    map_values(values, rest, convert, out, name, problems, errors=(ValidationError,), message=first_error_of)
    return out


def first_error_of(error: Exception) -> str:
    return first_error(error) if isinstance(error, ValidationError) else str(error)


def integers(values: pa.Array, name: str, adapter: TypeAdapter[int], problems: Problems) -> np.ndarray:
    """Integers (int64) as the pydantic field `adapter` reads them; 0 where null or rejected."""
    out = np.zeros(len(values), dtype=np.int64)
    plain = mask(pc.match_substring_regex(values, _PLAIN_INTEGER))
    if plain.any():
        numbers = pc.if_else(pa.array(plain), values, None).cast(pa.int64()).to_numpy(zero_copy_only=False)
        numbers = np.nan_to_num(numbers).astype(np.int64) if numbers.dtype != np.int64 else numbers
        out[plain] = numbers[plain]
    rest = ~null_mask(values) & ~plain
    # Plain digits out of the field's bounds get the validator's own message too.
    if plain.any():
        for value, positions in distinct(pa.array(out), plain):
            try:
                adapter.validate_python(value)
            except ValidationError as error:
                problems.add(_rows_mask(positions, problems.size), f"{name}: {first_error(error)}")
    map_values(
        values, rest, adapter.validate_python, out, name, problems, errors=(ValidationError,), message=first_error_of
    )
    return out
