"""Set-based writes of many rows in the caller's transaction: COPY on PostgreSQL (psycopg), one
executemany on SQLite, each fed from columns rather than from one Python dict per row.

Values are written exactly as SQLAlchemy writes them through the models, so rows written here and rows
written by the batch API read back identically: UUIDs as 32 hex digits (SQLite CHAR(32); PostgreSQL reads
them too), timestamps as UTC (SQLite "YYYY-MM-DD HH:MM:SS.ffffff" text), money as NUMERIC (SQLite stores
SQLAlchemy's float), JSON as its text.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
from sqlalchemy import Uuid, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from .. import store
from ..cleaning.dates import EPOCH

Kind = Literal["int", "text", "uuid", "timestamp", "money", "json"]
_MONEY = pa.decimal128(16, 2)


def backend(session: Session) -> str:
    return session.get_bind().dialect.name


def driver_connection(session: Session) -> Any:
    """The DBAPI connection of the session's transaction (sqlite3 or psycopg)."""
    return session.connection().connection.driver_connection


@dataclass
class Rows:
    """Columns of rows to insert: ints, texts and 32-hex UUIDs as arrays, timestamps as epoch microseconds
    and money as cents (int64 numpy arrays)."""

    table: str
    size: int
    columns: dict[str, tuple[Kind, Any]] = field(default_factory=dict)

    def add(self, name: str, kind: Kind, values: Any) -> Rows:
        if len(values) != self.size:
            raise ValueError(f"column {name} has {len(values)} values, expected {self.size}")
        self.columns[name] = (kind, values)
        return self


def _money(cents: np.ndarray) -> pa.Array:
    # decimal128 stores the unscaled value as a 128-bit two's complement integer: (low, high) int64 words.
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = cents >> 63
    return pa.Array.from_buffers(_MONEY, len(cents), [None, pa.py_buffer(words)])


def _arrow(kind: Kind, values: Any) -> pa.Array:
    if kind == "timestamp":
        return pa.array(np.asarray(values, dtype=np.int64), pa.int64()).cast(pa.timestamp("us", tz="UTC"))
    if kind == "money":
        return _money(np.asarray(values, dtype=np.int64))
    if kind == "int":
        return pa.array(values, pa.int64())
    return values if isinstance(values, pa.Array) else pa.array(values, pa.string())


def _python(kind: Kind, values: Any) -> list[Any]:
    if kind == "timestamp":
        # Arrow prints microsecond timestamps as "2024-03-30 03:02:00.000000": SQLAlchemy's SQLite format.
        stamps = pa.array(np.asarray(values, dtype=np.int64)).cast(pa.timestamp("us"))
        return stamps.cast(pa.string()).to_pylist()
    if kind == "money":
        return (np.asarray(values, dtype=np.int64) / 100).tolist()
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values.to_pylist()
    return np.asarray(values).tolist() if not isinstance(values, list) else values


def insert(session: Session, rows: Rows) -> None:
    """INSERT the rows (no conflict handling: the caller checked the keys in this transaction)."""
    if rows.size == 0:
        return
    names = list(rows.columns)
    if backend(session) == "postgresql":
        table = pa.table({name: _arrow(kind, values) for name, (kind, values) in rows.columns.items()})
        buffer = io.BytesIO()
        pa_csv.write_csv(table, buffer, write_options=pa_csv.WriteOptions(include_header=False))
        with driver_connection(session).cursor() as cursor:
            statement = f"COPY {rows.table} ({', '.join(names)}) FROM STDIN WITH (FORMAT csv)"
            with cursor.copy(statement) as copy:
                copy.write(buffer.getbuffer())
        return
    values = [_python(kind, column) for kind, column in rows.columns.values()]
    statement = f"INSERT INTO {rows.table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    driver_connection(session).executemany(statement, zip(*values, strict=True))


def lock_parents(session: Session, table: str, ids: Sequence[Any]) -> bool:
    """Lock these rows of `table` (by UUID id) against deletion and key changes until the commit, as a
    foreign key check would (FOR KEY SHARE), in one statement; True when every one of them exists.
    PostgreSQL only (SQLite holds the whole database's write lock)."""
    if not ids:
        return True
    listed = bindparam("ids", list(ids), type_=ARRAY(Uuid))
    locked = session.execute(
        text(f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE id = ANY(:ids) FOR KEY SHARE) AS locked").bindparams(
            listed
        )
    ).scalar_one()
    return int(locked) == len(set(ids))


@contextmanager
def references_checked(session: Session, *, checked: bool) -> Iterator[None]:
    """Inside the block, rows written skip PostgreSQL's per-row foreign key triggers when `checked`:
    the caller has made sure, in this transaction, that every parent row they name exists and stays
    (it inserted them, updated them, or locked them with `lock_parents`). Those triggers look up and
    lock the parent of each row one by one, about 5 us a row, half the cost of an order item's COPY.

    Done with `SET LOCAL session_replication_role = replica`, which needs a superuser or (PostgreSQL 15)
    `GRANT SET ON PARAMETER session_replication_role`; without it the triggers run as usual. Rolled
    back with the transaction if the block fails. No-op on SQLite (its checks are cheap index probes)."""
    if not checked or backend(session) != "postgresql" or not _may_skip_triggers(session):
        yield
        return
    session.execute(text("SET LOCAL session_replication_role = replica"))
    yield
    session.execute(text("SET LOCAL session_replication_role = origin"))


def _may_skip_triggers(session: Session) -> bool:
    info = session.connection().info  # per database connection: the role does not change
    if "skip_triggers" not in info:
        version = session.get_bind().dialect.server_version_info or (0,)
        granted = " OR has_parameter_privilege('session_replication_role', 'SET')" if version >= (15,) else ""
        info["skip_triggers"] = bool(
            session.execute(text(f"SELECT current_setting('is_superuser') = 'on'{granted}")).scalar_one()
        )
    return bool(info["skip_triggers"])


def insert_ignoring_conflicts(session: Session, rows: Rows, *, key: str) -> int:
    """INSERT the rows, skipping those whose unique `key` is already stored; returns how many were new.
    PostgreSQL: COPY into a temporary table, then one INSERT ... SELECT ... ON CONFLICT DO NOTHING."""
    if rows.size == 0:
        return 0
    names = ", ".join(rows.columns)
    if backend(session) == "postgresql":
        staging = f"import_{rows.table}"
        # Only the columns written: LIKE ... INCLUDING DEFAULTS would draw ids from the table's sequence.
        session.execute(text(f"CREATE TEMPORARY TABLE {staging} AS SELECT {names} FROM {rows.table} WITH NO DATA"))
        insert(session, Rows(staging, rows.size, rows.columns))
        result = session.execute(
            text(f"INSERT INTO {rows.table} ({names}) SELECT {names} FROM {staging} ON CONFLICT ({key}) DO NOTHING")
        )
        session.execute(text(f"DROP TABLE {staging}"))
        return int(result.rowcount)  # type: ignore[attr-defined]
    values = [_python(kind, column) for kind, column in rows.columns.values()]
    marks = ", ".join("?" * len(rows.columns))
    cursor = driver_connection(session).cursor()
    before = driver_connection(session).total_changes
    cursor.executemany(
        f"INSERT INTO {rows.table} ({names}) VALUES ({marks}) ON CONFLICT ({key}) DO NOTHING",
        zip(*values, strict=True),
    )
    return int(driver_connection(session).total_changes - before)


def allocate_ids(session: Session, table: str, count: int) -> np.ndarray:
    """`count` new primary keys of `table` for rows this transaction inserts with explicit ids.

    PostgreSQL draws them from the table's sequence. SQLite numbers rows after the largest id as its own
    rowid allocation does; that is safe only while this transaction holds the write lock, so write
    something first (the import job's progress row)."""
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    if backend(session) == "postgresql":
        # The sequence's name is resolved once (a scalar subquery), not per row: 5 us -> 0.5 us per id.
        sequence = f"(SELECT pg_get_serial_sequence('{table}', 'id'))::regclass"
        draw = f"SELECT nextval({sequence}) AS id FROM generate_series(1, :count)"
        # Only the range travels back: without concurrent writers of the table the ids drawn are
        # consecutive (the sequence's cache is 1), otherwise the ids themselves are read.
        low, high, drawn = session.execute(
            text(f"SELECT min(id), max(id), count(*) FROM ({draw}) AS drawn"), {"count": count}
        ).one()
        if high - low + 1 == count == drawn:
            return np.arange(low, high + 1, dtype=np.int64)
        ids = session.execute(text(draw), {"count": count}).scalars()
        return np.fromiter(ids, dtype=np.int64, count=count)
    top = session.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one()
    return np.arange(int(top) + 1, int(top) + 1 + count, dtype=np.int64)


def record_changes(session: Session, entity: str, kind: str, ids: np.ndarray, *, stamp: datetime) -> None:
    """The change feed events `store.record_changes` writes (one per id, empty data), in one COPY or
    executemany. Like it, call this last in the transaction: on PostgreSQL it takes the feed's advisory
    lock, so sequence numbers are handed out in commit order."""
    size = len(ids)
    if size == 0:
        return
    if backend(session) == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(store.CHANGE_FEED_LOCK)))
    at = (stamp - EPOCH) // timedelta(microseconds=1)
    rows = (
        Rows("changes", size)
        .add("occurred_at", "timestamp", np.full(size, at, dtype=np.int64))
        .add("entity", "text", pa.array([entity] * size, pa.string()))
        .add("entity_id", "text", pa.array(ids).cast(pa.string()))
        .add("kind", "text", pa.array([kind] * size, pa.string()))
        .add("data", "json", pa.array(["{}"] * size, pa.string()))
    )
    insert(session, rows)
