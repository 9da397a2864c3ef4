"""Streaming table writers for CSV, NDJSON and Parquet: open once, write chunk after chunk, close.

Files are written under a `.partial` name and renamed on a clean close, so a crashed run never
leaves a file that looks complete. Output is byte-for-byte deterministic for the same chunks.
Timestamps come out as ISO-8601 UTC ("2024-03-05T12:34:56Z") in CSV and NDJSON, money as decimal
with two places ("12.30"; a string in NDJSON, decimal(12, 2) in Parquet), and missing values as
empty fields (CSV) or null (NDJSON, Parquet).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

Format = Literal["csv", "ndjson", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "ndjson", "parquet")
_NEEDS_ESCAPE = r'["\\\x00-\x1f]'
_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"))


class TableWriter:
    """Writes chunks of one table to `path` in `fmt`; `rows` counts what was written."""

    def __init__(self, path: Path, fmt: Format) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
        self.path = path
        self.fmt = fmt
        self.rows = 0
        self._partial = path.with_name(path.name + ".partial")
        self._csv: pa_csv.CSVWriter | None = None
        self._parquet: pq.ParquetWriter | None = None
        self._file: BinaryIO | None = None

    def write(self, table: pa.Table) -> None:
        """Append the rows of `table` (all chunks of a file must share one schema)."""
        if self.fmt == "parquet":
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self._partial, table.schema, compression="zstd")
            self._parquet.write_table(table)
        elif self.fmt == "csv":
            text = _for_csv(table)
            if self._csv is None:
                self._csv = pa_csv.CSVWriter(self._partial, text.schema)
            self._csv.write_table(text)
        else:
            if self._file is None:
                self._file = open(self._partial, "wb")  # noqa: SIM115 - closed in close()
            self._file.write(ndjson_bytes(table))
        self.rows += table.num_rows

    def close(self) -> None:
        """Finish the file and move it to its final name (never given a table: an empty file)."""
        if not self._release():
            self._partial.write_bytes(b"")  # nothing was ever written: an empty CSV/NDJSON file
        os.replace(self._partial, self.path)

    def abort(self) -> None:
        """Close and delete the partial file (after an error); safe to call after `close`."""
        self._release()
        self._partial.unlink(missing_ok=True)

    def _release(self) -> bool:
        """Close the open handle, if any; return whether there was one."""
        handle = self._csv or self._parquet or self._file
        self._csv = self._parquet = self._file = None
        if handle is not None:
            handle.close()
        return handle is not None


def iso_utc(timestamps: pa.Array) -> pa.Array:
    """Return "YYYY-MM-DDTHH:MM:SSZ" strings for second-precision timestamps.

    Casting a naive timestamp to string is ten times faster than strftime or casting the
    tz-aware one, and the values are UTC already.
    """
    text = timestamps.cast(pa.timestamp("s")).cast(pa.string())
    return pc.binary_join_element_wise(pc.utf8_replace_slice(text, start=10, stop=11, replacement="T"), "Z", "")


def ndjson_bytes(table: pa.Table) -> bytes:
    """Return the rows of `table` as newline-delimited JSON objects (UTF-8, keys in column order)."""
    if table.num_rows == 0:
        return b""
    parts: list[pa.Array | str] = []
    for i, field in enumerate(table.schema):
        key = json.dumps(field.name, ensure_ascii=False)
        parts.append(("{" if i == 0 else ",") + key + ":")
        parts.append(_json_values(table.column(i).combine_chunks(), field.type))
    parts.append("}\n")
    lines = pc.binary_join_element_wise(*parts, "")
    # The data buffer of a string array holds all its values back to back: the whole file chunk.
    _, offsets, data = lines.buffers()
    bounds = np.frombuffer(offsets, dtype=np.int32)[[lines.offset, lines.offset + len(lines)]]
    return data.slice(int(bounds[0]), int(bounds[1] - bounds[0])).to_pybytes()


def _json_values(values: pa.Array, kind: pa.DataType) -> pa.Array:
    """Return the JSON text of each value; nulls become `null`."""
    if pa.types.is_timestamp(kind):
        text = _quoted(iso_utc(values))
    elif pa.types.is_string(kind):
        if pc.any(pc.match_substring_regex(values, _NEEDS_ESCAPE)).as_py():
            for raw, escaped in _ESCAPES:
                values = pc.replace_substring(values, raw, escaped)
            if pc.any(pc.match_substring_regex(values, r"[\x00-\x1f]")).as_py():
                raise ValueError("control characters other than \\n, \\r and \\t are not supported")
        text = _quoted(values)
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
        text = values.cast(pa.string())
    else:  # dates and decimals are strings in JSON
        text = _quoted(values.cast(pa.string()))
    return pc.fill_null(text, "null")


def _quoted(text: pa.Array) -> pa.Array:
    """Return each string wrapped in double quotes (null stays null)."""
    return pc.binary_join_element_wise('"', text, '"', "")


def _for_csv(table: pa.Table) -> pa.Table:
    """Return `table` with timestamps as ISO-8601 strings (the CSV writer's own form has a space)."""
    columns = [iso_utc(c.combine_chunks()) if pa.types.is_timestamp(c.type) else c for c in table.columns]
    return pa.table(columns, names=table.column_names)
