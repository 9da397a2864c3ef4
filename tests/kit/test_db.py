from __future__ import annotations

from sqlalchemy import text

from rapport.db import make_engine, ping
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
