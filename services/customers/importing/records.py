"""Records of a file block parsed into text columns: pyarrow's C++ readers first, and for a block they
refuse (bad UTF-8, broken JSON, mixed value types), Python record by record to tell the bad records from
the good ones. NDJSON numbers, booleans and nested values become their JSON text, so CSV and NDJSON files
holding the same data parse to the same columns."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json


@dataclass(frozen=True)
class BadRecord:
    """A record that could not even be split into fields."""

    line: int
    offset: int
    raw: str
    reason: str


@dataclass
class Records:
    """Non-blank records of a block: positions relative to `data`, line numbers, and `base`, the absolute
    offset of data[0]."""

    data: bytes
    starts: np.ndarray  # relative to data
    ends: np.ndarray
    lines: np.ndarray
    base: int

    def text(self, index: int) -> bytes:
        return self.data[self.starts[index] : self.ends[index]]

    def bad(self, index: int, reason: str) -> BadRecord:
        raw = self.text(index).decode("utf-8", errors="replace")
        return BadRecord(int(self.lines[index]), int(self.starts[index]) + self.base, raw, reason)


Parsed = tuple[dict[str, pa.Array], np.ndarray, list[BadRecord]]


def parse_csv(records: Records, columns: Sequence[str]) -> Parsed:
    names = list(columns)
    if len(records.starts) == 0:
        return {name: pa.array([], pa.string()) for name in names}, np.zeros(0, dtype=np.int64), []
    invalid: list[int] = []

    def skip(row: pa_csv.InvalidRow) -> str:
        invalid.append(row.number)
        return "skip"

    try:
        table = pa_csv.read_csv(
            io.BytesIO(records.data),
            read_options=pa_csv.ReadOptions(column_names=names, use_threads=False, block_size=len(records.data) + 1),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True, invalid_row_handler=skip),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return _parse_csv_slowly(records, names)
    bad_rows = np.array(invalid, dtype=np.int64) - 1  # pyarrow numbers the non-blank records from 1
    if table.num_rows + len(bad_rows) != len(records.starts):
        return _parse_csv_slowly(records, names)
    good = np.setdiff1d(np.arange(len(records.starts)), bad_rows)
    failed = [records.bad(int(i), _field_count_reason(records, int(i), len(names))) for i in bad_rows]
    return {name: table.column(name).combine_chunks() for name in names}, good, failed


def _field_count_reason(records: Records, index: int, expected: int) -> str:
    text = records.text(index).decode("utf-8", errors="replace")
    try:
        got = len(next(csv.reader([text], strict=True), []))
    except csv.Error as error:
        return f"not a valid CSV record: {error}"
    return f"expected {expected} fields, got {got}"


def _parse_csv_slowly(records: Records, names: list[str]) -> Parsed:
    values: list[list[str | None]] = [[] for _ in names]
    good: list[int] = []
    failed: list[BadRecord] = []
    for index in range(len(records.starts)):
        try:
            text = records.text(index).decode("utf-8")
        except UnicodeDecodeError as error:
            failed.append(records.bad(index, f"not UTF-8 text (byte 0x{error.object[error.start]:02x})"))
            continue
        try:
            rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
        except csv.Error as error:
            failed.append(records.bad(index, f"not a valid CSV record: {error}"))
            continue
        fields = rows[0] if len(rows) == 1 else []
        if len(fields) != len(names):
            failed.append(records.bad(index, f"expected {len(names)} fields, got {len(fields)}"))
            continue
        good.append(index)
        for column, value in zip(values, fields, strict=True):
            column.append(value if value != "" else None)
    arrays = {name: pa.array(column, pa.string()) for name, column in zip(names, values, strict=True)}
    return arrays, np.array(good, dtype=np.int64), failed


def parse_ndjson(records: Records) -> Parsed:
    if len(records.starts) == 0:
        return {}, np.zeros(0, dtype=np.int64), []
    try:
        table = pa_json.read_json(
            io.BytesIO(records.data),
            read_options=pa_json.ReadOptions(use_threads=False, block_size=len(records.data) + 1),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return _parse_ndjson_slowly(records)
    if table.num_rows != len(records.starts) or any(pa.types.is_nested(f.type) for f in table.schema):
        return _parse_ndjson_slowly(records)
    columns: dict[str, pa.Array] = {}
    for name, values in zip(table.column_names, table.columns, strict=True):
        array = values.combine_chunks()
        columns[name] = array if pa.types.is_string(array.type) else array.cast(pa.string())
    return columns, np.arange(len(records.starts)), []


def json_text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _parse_ndjson_slowly(records: Records) -> Parsed:
    rows: list[dict[str, object]] = []
    good: list[int] = []
    failed: list[BadRecord] = []
    for index in range(len(records.starts)):
        try:
            record = orjson.loads(records.text(index))
        except orjson.JSONDecodeError as error:
            failed.append(records.bad(index, f"not valid JSON: {error}"))
            continue
        if not isinstance(record, dict):
            failed.append(records.bad(index, f"expected a JSON object, got {type(record).__name__}"))
            continue
        rows.append(record)
        good.append(index)
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    columns = {name: pa.array([json_text(row.get(name)) for row in rows], pa.string()) for name in names}
    return columns, np.array(good, dtype=np.int64), failed
