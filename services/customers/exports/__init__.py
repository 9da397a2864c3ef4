"""Streaming exports of customers, order lines and interactions as NDJSON, CSV or Parquet.

- `spec`: entities, formats, columns, and the `Plan` fixing an export's bounds before its first byte;
- `rows`: each entity's rows in keyset chunks, each chunk in its own short transaction, so no
  transaction, cursor or connection is held while the client reads, and memory is bounded by one chunk
  (one Parquet row group), never by the table;
- `as_text`: the SQL that has the database format the values (UUIDs, timestamps and money come back as
  their export text), so Python moves tuples of strings and numbers;
- `encoders`: chunks -> bytes, plain generators that the API hands to a StreamingResponse.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.orm import Session, sessionmaker

from . import encoders, rows
from .spec import COLUMNS, MEDIA_TYPES, Column, ExportEntity, ExportFormat, Plan, Rows, filename, plan

__all__ = [
    "COLUMNS",
    "MEDIA_TYPES",
    "Column",
    "ExportEntity",
    "ExportFormat",
    "Plan",
    "Rows",
    "filename",
    "plan",
    "stream",
]


def stream(sessions: sessionmaker[Session], plan: Plan, fmt: ExportFormat) -> Iterator[bytes]:
    """The export's bytes, one piece per chunk (per row group for Parquet), read lazily."""
    # Looked up at call time, so a test can substitute a reader or an encoder.
    readers = {
        ExportEntity.customers: rows.customer_chunks,
        ExportEntity.orders: rows.order_line_chunks,
        ExportEntity.interactions: rows.interaction_chunks,
    }
    encode = {
        ExportFormat.ndjson: encoders.ndjson,
        ExportFormat.csv: encoders.csv_,
        ExportFormat.parquet: encoders.parquet,
    }
    return encode[fmt](COLUMNS[plan.entity], readers[plan.entity](sessions, plan), plan)
