"""Newest-first keyset pages on a real database: every row once, in order, even when rows share a moment."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import DateTime, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from rapport.db import make_engine, make_sessionmaker
from rapport.errors import Invalid
from rapport.pagination import encode_cursor, newest_first


class _Base(DeclarativeBase):
    pass


class _Event(_Base):
    __tablename__ = "paged_events"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(8))


def test_pages_walk_every_row_newest_first_once(database_url: str) -> None:
    engine = make_engine(database_url)
    _Base.metadata.create_all(engine)
    sessions = make_sessionmaker(engine)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    # Runs of three rows share a moment, so a page boundary falls inside a run of equal timestamps.
    events = [_Event(at=start + timedelta(minutes=i // 3), kind="a" if i % 2 else "b") for i in range(20)]
    try:
        with sessions() as session, session.begin():
            session.add_all(events)
        expected = sorted(((e.at, e.id) for e in events if e.kind == "a"), reverse=True)
        seen: list[tuple[datetime, uuid.UUID]] = []
        cursor = None
        pages = 0
        with sessions() as session:
            while True:
                query = select(_Event).where(_Event.kind == "a")
                rows, cursor = newest_first(session, query, moment=_Event.at, row_id=_Event.id, limit=4, cursor=cursor)
                pages += 1
                seen += [(row.at.replace(tzinfo=UTC) if row.at.tzinfo is None else row.at, row.id) for row in rows]
                if cursor is None:
                    break
        assert seen == expected
        assert pages == 3  # 10 rows, 4 a page: the last page is not followed by an empty one
    finally:
        engine.dispose()


@pytest.mark.parametrize("key", [["not a time", str(uuid.uuid4())], ["2026-01-01T00:00:00+00:00", "not-a-uuid"]])
def test_a_tampered_cursor_is_a_422_naming_the_cursor(database_url: str, key: list[str]) -> None:
    engine = make_engine(database_url)
    _Base.metadata.create_all(engine)
    try:
        with make_sessionmaker(engine)() as session, pytest.raises(Invalid) as raised:
            newest_first(
                session, select(_Event), moment=_Event.at, row_id=_Event.id, limit=5, cursor=encode_cursor(key)
            )
        assert raised.value.errors == [{"loc": "query.cursor", "msg": "malformed cursor"}]
    finally:
        engine.dispose()
