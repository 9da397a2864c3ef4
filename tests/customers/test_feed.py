"""Change feed retention: old events are pruned, a follower behind the pruned point gets 410, not a gap."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import text

from rapport.db import make_engine, make_sessionmaker
from services.customers import housekeeping, store
from tests.conftest import settings_for
from tests.support import assert_problem


def _feed(api: httpx.Client, after: int) -> httpx.Response:
    return api.get("/v1/changes", params={"after": after, "limit": 1000})


def test_pruned_events_answer_410_and_the_feed_goes_on_after_them(
    api: httpx.Client, database_url: str, tmp_path: Path
) -> None:
    for n in range(6):
        created = api.post("/v1/customers", json={"given_name": f"P{n}"})
        assert created.status_code == 201, created.text
    seqs = [item["seq"] for item in _feed(api, 0).json()["items"]]
    assert len(seqs) == 6
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:  # the first four events happened 40 days ago
            old = store.now() - timedelta(days=40)
            connection.execute(
                text("UPDATE changes SET occurred_at = :old WHERE seq <= :seq"), {"old": old, "seq": seqs[3]}
            )
        removed = housekeeping.sweep(make_sessionmaker(engine), settings_for(tmp_path, changes_retention_days=30))
    finally:
        engine.dispose()
    assert removed["changes"] == 4
    problem = assert_problem(_feed(api, 0), 410)
    assert problem["pruned_through"] == seqs[3]
    assert_problem(_feed(api, seqs[2]), 410)
    rest = _feed(api, seqs[3]).json()
    assert [item["seq"] for item in rest["items"]] == seqs[4:]
    assert _feed(api, seqs[5]).json() == {"items": [], "next_cursor": str(seqs[5])}


def test_retention_never_prunes_the_newest_event(api: httpx.Client, database_url: str, tmp_path: Path) -> None:
    assert api.post("/v1/customers", json={"given_name": "Only"}).status_code == 201
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE changes SET occurred_at = :old"), {"old": store.now() - timedelta(days=400)}
            )
        assert housekeeping.sweep(make_sessionmaker(engine), settings_for(tmp_path))["changes"] == 0
    finally:
        engine.dispose()
    assert len(_feed(api, 0).json()["items"]) == 1
