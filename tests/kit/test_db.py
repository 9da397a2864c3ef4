from __future__ import annotations

from sqlalchemy import text

from rapport.db import make_engine, make_sessionmaker, ping, plan_for_current_sizes
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
