from __future__ import annotations

from sqlalchemy import String, bindparam, insert, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from rapport.db import make_engine, make_sessionmaker, ping, plan_for_current_sizes, read_rows
from tests.conftest import BACKEND


def test_engine_answers_on_the_backend_under_test(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        ping(engine)
        assert engine.dialect.name == ("postgresql" if BACKEND == "postgresql" else "sqlite")
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/nested/folder/x.db")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        engine.dispose()
    assert (tmp_path / "nested" / "folder" / "x.db").exists()


def test_bulk_writers_plan_for_current_sizes_in_their_transaction_only(database_url: str) -> None:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    setting = text("SELECT current_setting('plan_cache_mode')")
    try:
        with sessions() as session, session.begin():
            plan_for_current_sizes(session)  # a no-op on SQLite, which has no plan cache to distrust
            if BACKEND == "postgresql":
                assert session.execute(setting).scalar() == "force_custom_plan"
        if BACKEND == "postgresql":
            with sessions() as session:  # the pooled connection is back to cached plans for everyone else
                assert session.execute(setting).scalar() == "auto"
    finally:
        engine.dispose()


class _Base(DeclarativeBase):
    pass


class _Note(_Base):
    __tablename__ = "read_rows_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    k: Mapped[int]
    v: Mapped[str] = mapped_column(String(10))


_NOTES_BY_KEY = select(_Note.v).where(_Note.k == bindparam("k")).order_by(_Note.v)


def test_a_prebuilt_read_sees_the_session_own_pending_writes_with_its_own_parameters(database_url: str) -> None:
    engine = make_engine(database_url)
    _Base.metadata.create_all(engine)
    try:
        with make_sessionmaker(engine)() as session:
            session.execute(insert(_Note), [{"k": 1, "v": "b"}, {"k": 2, "v": "c"}])  # not committed
            session.add(_Note(k=1, v="a"))  # not even flushed: read_rows flushes first, as execute would
            assert [row.v for row in read_rows(session, _NOTES_BY_KEY, k=1)] == ["a", "b"]
            assert [row.v for row in read_rows(session, _NOTES_BY_KEY, k=2)] == ["c"]  # the same statement, rebound
            session.rollback()
            assert read_rows(session, _NOTES_BY_KEY, k=1) == []
    finally:
        _Base.metadata.drop_all(engine)
        engine.dispose()
