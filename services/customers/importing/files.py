"""Reading an uploaded CSV or NDJSON file in blocks of whole records, with each record's line number and
byte offset, so a job can commit a block and resume right after it.

A block is cut at the last record boundary before `max_bytes`. In CSV a newline inside a quoted value
does not end a record: a newline ends one when the number of quote characters before it is even (an
escaped quote is two quotes, so the parity rule holds). Line numbers are physical lines of the file
(a CSV header is line 1), so a reported line is the one an editor shows; blank lines are skipped.

Values come out as text columns (pyarrow string arrays; an empty CSV field or a JSON null is null),
parsed by `records`; a record that cannot be split into fields is a `BadRecord` of the block.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
import orjson
import pyarrow as pa

from .records import BadRecord, Records, json_text, parse_csv, parse_ndjson

Format = Literal["csv", "ndjson"]
FORMATS: tuple[Format, ...] = ("csv", "ndjson")
EXTENSIONS: dict[str, Format] = {".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson"}
MEDIA_TYPES: dict[str, Format] = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "application/jsonl": "ndjson",
    "application/x-jsonlines": "ndjson",
}
BOM = b"\xef\xbb\xbf"
HEADER_MAX_BYTES = 1 << 20
_NEWLINE, _QUOTE = 10, 34


class FileProblem(ValueError):
    """The file as a whole cannot be imported (empty, not UTF-8, no usable header)."""


@dataclass(frozen=True)
class Header:
    columns: tuple[str, ...]
    data_offset: int  # where the first data record starts
    data_line: int  # lines before it (the CSV header's last line; 0 for NDJSON)
    first_row: dict[str, str | None]  # the first data record, for defaults such as the source


@dataclass
class Block:
    """Whole records of a file region: text columns of the parsed rows, and per row its line and offsets."""

    columns: dict[str, pa.Array]
    lines: np.ndarray  # physical line number of each row
    starts: np.ndarray  # absolute byte offset where each row's record starts
    ends: np.ndarray  # absolute byte offset where each row's text ends (before the line break)
    failed: list[BadRecord]
    end_offset: int  # absolute offset after the last record of the block
    end_line: int  # last physical line consumed
    eof: bool
    data: bytes = field(repr=False)
    base: int = 0  # absolute offset of data[0]

    @property
    def size(self) -> int:
        return len(self.lines)

    def raw(self, row: int) -> str:
        """The record of `row` as it is in the file (undecodable bytes replaced)."""
        start, end = int(self.starts[row]) - self.base, int(self.ends[row]) - self.base
        return self.data[start:end].decode("utf-8", errors="replace")

    def head(self, rows: int) -> Block:
        """The block cut before row `rows`: the rest is read again, as the start of the next block."""
        if rows >= self.size:
            return self
        cut = int(self.starts[rows])
        return replace(
            self,
            columns={name: values.slice(0, rows) for name, values in self.columns.items()},
            lines=self.lines[:rows],
            starts=self.starts[:rows],
            ends=self.ends[:rows],
            failed=[bad for bad in self.failed if bad.offset < cut],
            end_offset=cut,
            end_line=int(self.lines[rows]) - 1,
            eof=False,
        )


def detect_format(declared: str | None, filename: str | None, content_type: str | None, head: bytes) -> Format:
    """The declared format, else the one named by the file's extension or media type, else sniffed: NDJSON
    when the first non-blank character opens a JSON object. Raises FileProblem for an unknown declared one."""
    if declared:
        name = declared.strip().lower()
        for known in FORMATS:
            if name == known or (known == "ndjson" and name in ("jsonl", "json")):
                return known
        raise FileProblem(f"unknown format {declared!r}; use one of {', '.join(FORMATS)}")
    suffix = Path(filename or "").suffix.lower()
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in MEDIA_TYPES:
        return MEDIA_TYPES[media]
    return "ndjson" if head.removeprefix(BOM).lstrip().startswith(b"{") else "csv"


def _boundaries(data: np.ndarray, fmt: Format) -> np.ndarray:
    """Positions of the newlines that end a record."""
    newlines = np.flatnonzero(data == _NEWLINE)
    if fmt == "ndjson" or len(newlines) == 0:
        return newlines
    quotes = np.flatnonzero(data == _QUOTE)
    if len(quotes) == 0:
        return newlines
    return newlines[np.searchsorted(quotes, newlines) % 2 == 0]


def _first_record(head: bytes, fmt: Format) -> tuple[bytes, int]:
    """The first non-blank record of `head` (without its line break) and the offset after it."""
    raw = np.frombuffer(head, dtype=np.uint8)
    start = 0
    for stop in [*(_boundaries(raw, fmt) + 1).tolist(), len(head)]:
        record = head[start:stop]
        if record.strip():
            return record.rstrip(b"\r\n"), stop
        start = stop
    return b"", len(head)


def inspect(path: Path, fmt: Format) -> Header:
    """The columns of the file and where its data starts. Raises FileProblem when the file is empty, has
    no data rows, or its header (CSV) or first record (NDJSON) is not UTF-8 or cannot be read."""
    with open(path, "rb") as handle:
        head = handle.read(HEADER_MAX_BYTES)
    offset = len(BOM) if head.startswith(BOM) else 0
    first, after = _first_record(head[offset:], fmt)
    if not first:
        raise FileProblem("the file is empty")
    if after == len(head) - offset and len(head) == HEADER_MAX_BYTES:
        raise FileProblem(f"the first line is longer than {HEADER_MAX_BYTES:,} bytes")
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FileProblem(
            f"the file is not UTF-8 text (byte 0x{first[error.start]:02x} in its first line); save it as UTF-8"
        ) from None
    if fmt == "ndjson":
        try:
            record = orjson.loads(text)
        except orjson.JSONDecodeError as error:
            raise FileProblem(f"the first line is not valid JSON: {error}") from None
        if not isinstance(record, dict) or not record:
            raise FileProblem("the first line is not a JSON object with fields")
        first_row = {str(name): json_text(value) for name, value in record.items()}
        return Header(tuple(first_row), offset, 0, first_row)
    try:
        columns = tuple(name.strip() for name in next(csv.reader(io.StringIO(text, newline=""), strict=True)))
    except csv.Error as error:
        raise FileProblem(f"the header line is not valid CSV: {error}") from None
    if any(not name for name in columns):
        raise FileProblem("the header has an empty column name")
    duplicates = sorted({name for name in columns if columns.count(name) > 1})
    if duplicates:
        raise FileProblem(f"the header names these columns twice: {', '.join(duplicates)}")
    data_offset = offset + after
    header_lines = head[offset:data_offset].count(b"\n")
    rest = read_block(path, fmt, columns, offset=data_offset, line=header_lines, max_bytes=1 << 16)
    if not rest.size and not rest.failed:
        raise FileProblem("the file has a header but no data rows")
    first_row = {name: values[0].as_py() for name, values in rest.columns.items()} if rest.size else {}
    return Header(columns, data_offset, header_lines, first_row)


def read_block(
    path: Path,
    fmt: Format,
    columns: Sequence[str],
    *,
    offset: int,
    line: int,
    max_bytes: int,
) -> Block:
    """The whole records from `offset` (which starts line `line` + 1) within about `max_bytes` (more when
    one record is longer). `columns` name the CSV fields (NDJSON records name their own)."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        data = handle.read(max_bytes)
        eof = len(data) < max_bytes
        while True:
            raw = np.frombuffer(data, dtype=np.uint8)
            ends = _boundaries(raw, fmt)
            if eof or len(ends):
                break
            more = handle.read(len(data))  # one record longer than the block: read on until it ends
            eof = len(more) < len(data)
            data += more
    stops = (ends + 1).astype(np.int64)
    cut = len(data) if eof else int(stops[-1])
    if eof and cut > (stops[-1] if len(stops) else 0):
        stops = np.append(stops, cut)  # the last record has no line break
    starts = np.concatenate(([0], stops[:-1])).astype(np.int64)
    content_ends = _content_ends(raw, starts, stops)
    all_newlines = np.flatnonzero(raw[:cut] == _NEWLINE)
    lines = line + 1 + np.searchsorted(all_newlines, starts)
    end_line = line + len(all_newlines) + (1 if cut and raw[cut - 1] != _NEWLINE else 0)
    blank = content_ends == starts if fmt == "csv" else _blank_json(data, starts, content_ends)
    keep = ~blank
    records = Records(data[:cut], starts[keep], content_ends[keep], lines[keep], offset)
    parsed, good, failed = parse_csv(records, columns) if fmt == "csv" else parse_ndjson(records)
    return Block(
        columns=parsed,
        lines=records.lines[good],
        starts=records.starts[good] + offset,
        ends=records.ends[good] + offset,
        failed=failed,
        end_offset=offset + cut,
        end_line=int(end_line),
        eof=eof,
        data=data[:cut],
        base=offset,
    )


def _content_ends(raw: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """Each record's end without its line break ("\\n" or "\\r\\n")."""
    ends = stops.copy()
    if len(ends) == 0:
        return ends
    newline = (ends > starts) & (raw[np.maximum(ends - 1, 0)] == _NEWLINE)
    ends[newline] -= 1
    carriage = (ends > starts) & (raw[np.maximum(ends - 1, 0)] == 13)
    ends[carriage] -= 1
    return ends


def _blank_json(data: bytes, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    blank = ends == starts
    short = np.flatnonzero(~blank & (ends - starts < 8))  # whitespace-only lines are short in practice
    for index in short:
        blank[index] = not data[starts[index] : ends[index]].strip()
    return blank
