"""SQLAlchemy engine and session factory shared by every service.

SQLite (the embedded default) gets WAL journaling, foreign keys and a busy timeout so several
processes can read while one writes; PostgreSQL is used as configured by its URL.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any, overload

from sqlalchemy import Engine, Executable, MetaData, Row, create_engine, event, insert, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Deterministic constraint names, so alembic migrations are reproducible on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """A MetaData with the kit's naming convention; each service owns one."""
    return MetaData(naming_convention=NAMING_CONVENTION)


class Base(DeclarativeBase):
    """Declarative base for services that keep one metadata per service (subclass and set `metadata`)."""

    metadata = new_metadata()


@overload
def as_utc(moment: datetime) -> datetime: ...
@overload
def as_utc(moment: None) -> None: ...
def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored one is UTC, and every one leaving a store is aware UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for `url`; creates the folder of a SQLite file if it is missing."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(parsed, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commits on success, rolls back on any error."""
    with factory() as session, session.begin():
        yield session


def ping(engine: Engine) -> None:
    """Run a trivial query; raises if the database does not answer."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in `url` if it does not exist (no-op on SQLite).

    Safe when several processes race: a concurrent creation is treated as success.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or not parsed.database:
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
            ).first()
            if exists:
                return
            try:
                connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
            except Exception as error:  # a replica that lost the race sees duplicate_database
                if "already exists" not in str(error):
                    raise
    finally:
        admin.dispose()


def drop_database(url: str) -> None:
    """Drop a PostgreSQL database (terminating its connections) or delete a SQLite file."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            for suffix in ("", "-wal", "-shm"):
                Path(parsed.database + suffix).unlink(missing_ok=True)
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    finally:
        admin.dispose()


def plan_for_current_sizes(session: Session) -> None:
    """PostgreSQL: plan this transaction's statements for the tables as they are now, not from a cache.

    psycopg prepares a statement on its sixth run, and PostgreSQL may then keep one generic plan for it.
    A bulk load grows its tables a hundredfold between two autovacuum analyses, so a lookup prepared
    while a table was small keeps scanning it whole: measured, an identity lookup of 1,000 keys went
    from milliseconds to two seconds at 200,000 rows. Bulk writers call this first; planning costs
    them well under a millisecond per batch. Ends with the transaction (SET LOCAL)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


def read_rows(session: Session, statement: Executable, **params: Any) -> Sequence[Row[*tuple[Any, ...]]]:
    """The rows of a prebuilt Core `statement` (bound parameters in `params`), run in the session's
    transaction on its connection.

    For the hottest reads (the customer 360's): building a select costs more than running it
    (coercions, then a cache key), while a statement built once at import memoises its cache key. Running
    it on the connection skips the ORM's layers too: these reads want columns, not entities. Pending ORM
    changes are flushed first, as the session's own execute would (autoflush)."""
    if session.autoflush:
        session.flush()  # returns at once when nothing is pending
    return session.connection().execute(statement, params).all()


def bulk_insert(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` (all with the same keys) at bulk speed, in the session's transaction.

    PostgreSQL: COPY FROM STDIN (executemany costs a round trip per row on psycopg, and one huge
    multi-row VALUES statement costs more to parse than the rows to load). SQLite: executemany, which
    is in-process and has no round trips.
    """
    if not rows:
        return
    target = getattr(table, "__table__", table)
    names = list(dict.fromkeys(name for row in rows for name in row))
    if any(len(row) != len(names) for row in rows):  # a missing key means NULL, as in a single INSERT
        rows = [{name: row.get(name) for name in names} for row in rows]
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(insert(target), rows)
        return
    from psycopg.types.json import JsonDumper  # PostgreSQL only

    columns = ", ".join(f'"{name}"' for name in names)
    raw = connection.connection.driver_connection
    assert raw is not None, "a live session connection has a driver connection"
    values = itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
    with raw.cursor() as cursor:
        # JSON cells (attributes, change data) dumped by psycopg itself, on this cursor only: no
        # per-cell wrapping in Python.
        cursor.adapters.register_dumper(dict, JsonDumper)
        cursor.adapters.register_dumper(list, JsonDumper)
        with cursor.copy(f'COPY "{target.name}" ({columns}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(values(row))


def bulk_insert_frame(session: Session, table: Any, frame: Any) -> None:
    """Insert a pandas DataFrame whose columns are `table`'s, without a Python object per row on PostgreSQL.

    PostgreSQL: the frame is encoded by pandas' C CSV writer in slices and sent with COPY ... (FORMAT csv);
    missing values (None, NaN, NaT, pd.NA) become NULL. SQLite: one executemany of row tuples.
    """
    if frame.empty:
        return
    target = getattr(table, "__table__", table)
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        clean = frame.astype(object).where(frame.notna(), None)
        session.execute(insert(target), clean.to_dict("records"))
        return
    columns = ", ".join(f'"{name}"' for name in frame.columns)
    raw = connection.connection.driver_connection
    assert raw is not None, "a live session connection has a driver connection"
    sql = f"COPY \"{target.name}\" ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
    with raw.cursor() as cursor, cursor.copy(sql) as copy:
        for start in range(0, len(frame), 100_000):
            copy.write(frame.iloc[start : start + 100_000].to_csv(index=False, header=False, na_rep="\\N"))
