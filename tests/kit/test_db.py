from __future__ import annotations

import uuid

from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, insert, select, text

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


def test_a_prebuilt_read_runs_in_the_session_transaction_with_its_own_parameters(database_url: str) -> None:
    engine = make_engine(database_url)
    metadata = MetaData()
    table = Table(f"read_rows_{uuid.uuid4().hex[:8]}", metadata, Column("k", Integer), Column("v", String(10)))
    metadata.create_all(engine)
    by_key = select(table.c.v).where(table.c.k == bindparam("k")).order_by(table.c.v)
    try:
        with make_sessionmaker(engine)() as session:
            session.execute(insert(table), [{"k": 1, "v": "b"}, {"k": 1, "v": "a"}, {"k": 2, "v": "c"}])
            # Not committed: the read sees the session's own writes, so it runs in its transaction.
            assert [row.v for row in read_rows(session, by_key, k=1)] == ["a", "b"]
            assert [row.v for row in read_rows(session, by_key, k=2)] == ["c"]  # the same statement, rebound
            session.rollback()
            assert read_rows(session, by_key, k=1) == []
    finally:
        metadata.drop_all(engine)
        engine.dispose()
