"""Encoders: chunks of rows -> the bytes of an NDJSON, CSV or Parquet file, one piece per chunk (per row
group for Parquet). Plain generators: the API hands them to a StreamingResponse, which pulls every
piece in a worker thread, off the event loop."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from .spec import Column, Plan, Rows

ROW_GROUP_ROWS = 100_000  # Parquet row group: big enough for readers, small enough to buffer
ROW_GROUP_BYTES = 32 * 2**20

Encoder = Callable[[tuple[Column, ...], Iterator[Rows], Plan], Iterator[bytes]]


def _converting(columns: tuple[Column, ...], converters: Mapping[str, Callable[[Any], Any]]) -> Callable[[Rows], Rows]:
    """A function that applies `converters` (by column kind) to every row of a chunk."""
    wanted = [(i, converters[c.kind]) for i, c in enumerate(columns) if c.kind in converters]
    if not wanted:
        return lambda rows: rows

    def convert(rows: Rows) -> Rows:
        converted: list[tuple[Any, ...]] = []
        for row in rows:
            values = list(row)
            for i, function in wanted:
                if values[i] is not None:
                    values[i] = function(values[i])
            converted.append(tuple(values))
        return converted

    return convert


def ndjson(columns: tuple[Column, ...], chunks: Iterator[Rows], plan: Plan) -> Iterator[bytes]:
    names = [column.name for column in columns]
    json_names = [column.name for column in columns if column.kind == "json"]
    dumps, newline, embed = orjson.dumps, orjson.OPT_APPEND_NEWLINE, orjson.Fragment
    for rows in chunks:
        lines = []
        for row in rows:
            record = dict(zip(names, row, strict=True))
            for name in json_names:  # JSON text from the database, embedded as is
                if record[name] is not None:
                    record[name] = embed(record[name])
            lines.append(dumps(record, option=newline))
        yield b"".join(lines)


def csv_(columns: tuple[Column, ...], chunks: Iterator[Rows], plan: Plan) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([column.name for column in columns])
    convert = _converting(columns, {"bool": lambda value: "true" if value else "false", "tags": _json_text})
    for rows in chunks:
        writer.writerows(convert(rows))
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()  # the header of an empty export


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


# Arrow type of each column kind, and the type its database text or number is read as first.
_ARROW_TYPES = {
    "text": (pa.string(), pa.string()),
    "uuid": (pa.string(), pa.string()),
    "int": (pa.int64(), pa.int64()),
    "money": (pa.decimal128(20, 2), pa.string()),
    "timestamp": (pa.timestamp("us", tz="UTC"), pa.string()),
    "date": (pa.date32(), pa.string()),
    "bool": (pa.bool_(), pa.bool_()),
    "json": (pa.string(), pa.string()),
    "tags": (pa.list_(pa.string()), pa.list_(pa.string())),
}


class _Spool:
    """A write-only file the Parquet writer appends to and the stream drains after each row group."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0
        self.closed = False

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def drain(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def parquet(columns: tuple[Column, ...], chunks: Iterator[Rows], plan: Plan) -> Iterator[bytes]:
    metadata = {
        "rapport.entity": plan.entity.value,
        "rapport.base_currency": plan.base_currency,
        "rapport.exported_at": plan.started_at.isoformat(),
    }
    schema = pa.schema([pa.field(c.name, _ARROW_TYPES[c.kind][0]) for c in columns], metadata=metadata)
    sink = _Spool()
    pending: list[pa.RecordBatch] = []
    with pq.ParquetWriter(sink, schema, compression="zstd") as writer:
        for rows in chunks:
            if rows:
                pending.append(_record_batch(schema, columns, rows))
            if sum(b.num_rows for b in pending) >= ROW_GROUP_ROWS or sum(b.nbytes for b in pending) >= ROW_GROUP_BYTES:
                _write_row_group(writer, pending, schema)
                yield sink.drain()
        if pending:
            _write_row_group(writer, pending, schema)
    yield sink.drain()


def _write_row_group(writer: pq.ParquetWriter, batches: list[pa.RecordBatch], schema: pa.Schema) -> None:
    table = pa.Table.from_batches(batches, schema)
    writer.write_table(table, row_group_size=max(1, table.num_rows))
    batches.clear()


def _record_batch(schema: pa.Schema, columns: tuple[Column, ...], rows: Rows) -> pa.RecordBatch:
    arrays = [
        pa.array(values, type=_ARROW_TYPES[column.kind][1]).cast(field.type)
        for field, column, values in zip(schema, columns, zip(*rows, strict=True), strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
