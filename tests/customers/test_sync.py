"""Bulk sync over HTTP: per-record results, idempotent replay, orders and purchase facts, partner scoping."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import Engine, text

from rapport.db import make_engine
from tests.conftest import BACKEND
from tests.support import assert_problem


def _batch(api: httpx.Client, path: str, records: list[dict], **headers: str) -> dict:
    response = api.post(path, json={"records": records}, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _total(api: httpx.Client) -> int:
    return int(api.get("/v1/customers", params={"with_total": True, "limit": 1}).json()["total"])


def test_mixed_batch_writes_valid_records_and_reports_each_invalid_one(api: httpx.Client) -> None:
    answer = _batch(
        api,
        "/v1/customers:batchUpsert",
        [
            {"source": "crm", "external_id": "1", "email": "A@x.com", "city": "shanghai"},
            {"source": "crm", "external_id": "2", "email": "broken", "phone": "138 0000 0000"},
            {"source": "crm", "external_id": "3", "income": "lots"},
            {"source": "crm", "external_id": "4", "gender": "F"},
            {"source": "crm", "external_id": "1", "email": "dup@x.com"},
            {"external_id": "5"},
        ],
    )
    statuses = [result["status"] for result in answer["results"]]
    assert statuses == ["created", "error", "error", "created", "error", "error"]
    assert answer["counts"] == {"created": 2, "updated": 0, "unchanged": 0, "error": 4}
    errors = {result["index"]: {e["loc"] for e in result["errors"]} for result in answer["results"] if result["errors"]}
    assert errors == {1: {"email"}, 2: {"income"}, 4: {"external_id"}, 5: {"source"}}
    assert _total(api) == 2
    first = api.get(f"/v1/customers/{answer['results'][0]['id']}").json()
    assert first["email"] == "a@x.com"
    assert first["city"] == "Shanghai"


def test_rerun_is_unchanged_and_a_change_is_an_update(api: httpx.Client) -> None:
    records = [{"source": "crm", "external_id": str(i), "email": f"c{i}@x.com", "tags": ["a"]} for i in range(5)]
    assert _batch(api, "/v1/customers:batchUpsert", records)["counts"]["created"] == 5
    assert _batch(api, "/v1/customers:batchUpsert", records)["counts"]["unchanged"] == 5
    records[2]["email"] = "new@x.com"
    records[3]["tags"] = ["a", "b"]
    answer = _batch(api, "/v1/customers:batchUpsert", records)
    assert [r["status"] for r in answer["results"]] == ["unchanged", "unchanged", "updated", "updated", "unchanged"]
    updated = api.get(f"/v1/customers/{answer['results'][3]['id']}")
    assert updated.json()["tags"] == ["a", "b"]
    assert updated.headers["etag"] == '"2"'
    assert _total(api) == 5


def test_idempotency_key_replays_the_stored_answer(api: httpx.Client) -> None:
    records = [{"source": "crm", "external_id": "k1", "email": "k@x.com"}]
    first = api.post("/v1/customers:batchUpsert", json={"records": records}, headers={"Idempotency-Key": "abc"})
    again = api.post("/v1/customers:batchUpsert", json={"records": records}, headers={"Idempotency-Key": "abc"})
    assert again.status_code == 200
    assert again.json() == first.json()
    assert again.json()["counts"]["created"] == 1
    assert again.headers["idempotent-replayed"] == "true"
    other = api.post(
        "/v1/customers:batchUpsert",
        json={"records": [{**records[0], "email": "other@x.com"}]},
        headers={"Idempotency-Key": "abc"},
    )
    assert_problem(other, 409)
    assert _total(api) == 1


def test_batch_over_the_limit_is_422(api: httpx.Client) -> None:
    records = [{"source": "s", "external_id": str(i)} for i in range(10_001)]
    body = assert_problem(api.post("/v1/customers:batchUpsert", json={"records": records}), 422)
    assert "10,000" in str(body["detail"])
    assert _total(api) == 0


def _customers(api: httpx.Client) -> dict[str, str]:
    answer = _batch(
        api,
        "/v1/customers:batchUpsert",
        [{"source": "shop", "external_id": "a"}, {"source": "shop", "external_id": "b"}],
    )
    return {"a": answer["results"][0]["id"], "b": answer["results"][1]["id"]}


def test_orders_derive_totals_and_keep_purchase_facts(api: httpx.Client) -> None:
    ids = _customers(api)
    answer = _batch(
        api,
        "/v1/orders:batchUpsert",
        [
            {
                "source": "shop", "external_id": "o1", "customer": {"source": "shop", "external_id": "a"},
                "placed_at": "2025-01-02T10:00:00+08:00", "currency": "USD", "total": "999",
                "items": [{"sku": "S1", "quantity": 2, "unit_price": "10.25"}, {"sku": "S2", "quantity": 1, "unit_price": "5"}],
            },
            {
                "source": "shop", "external_id": "o2", "customer": {"source": "shop", "external_id": "a"},
                "placed_at": "2025-03-01", "currency": "CNY", "items": [{"sku": "S1", "quantity": 1, "unit_price": "100"}],
            },
            {
                "source": "shop", "external_id": "o3", "customer": {"source": "shop", "external_id": "a"},
                "placed_at": "2025-04-01", "currency": "USD", "status": "refunded",
                "items": [{"sku": "S3", "quantity": 1, "unit_price": "50"}],
            },
            {
                "source": "shop", "external_id": "o4", "customer": {"source": "shop", "external_id": "nobody"},
                "placed_at": "2025-04-01", "currency": "USD", "items": [{"sku": "S3", "quantity": 1, "unit_price": "50"}],
            },
            {
                "source": "shop", "external_id": "o5", "customer": {"source": "shop", "external_id": "b"},
                "placed_at": "2025-04-01", "currency": "XXX", "items": [{"sku": "S3", "quantity": 0, "unit_price": "-1"}],
            },
        ],
    )  # fmt: skip
    assert [r["status"] for r in answer["results"]] == ["created", "created", "created", "error", "error"]
    assert {e["loc"] for e in answer["results"][3]["errors"]} == {"customer"}
    assert {e["loc"] for e in answer["results"][4]["errors"]} == {"items.0.quantity", "items.0.unit_price"}
    order = api.get(f"/v1/orders/{answer['results'][0]['id']}").json()
    assert order["total"] == "25.50"
    assert order["placed_at"].startswith("2025-01-02T02:00:00")
    customer = api.get(f"/v1/customers/{ids['a']}").json()
    purchases = customer["purchases"]
    assert purchases["order_count"] == 2  # the refunded order does not count
    assert Decimal(purchases["total_spent"]) == Decimal("25.50") + Decimal("14.00")  # 100 CNY at 0.14
    assert purchases["first_order_at"].startswith("2025-01-02")
    assert purchases["last_order_at"].startswith("2025-03-01")
    assert customer["version"] == 1  # purchase facts are derived, not a profile edit
    recent = api.get(f"/v1/customers/{ids['a']}/orders").json()
    assert [o["external_id"] for o in recent] == ["o3", "o2", "o1"]


def test_order_update_moves_facts_and_rerun_is_unchanged(api: httpx.Client) -> None:
    ids = _customers(api)
    order = {
        "source": "shop", "external_id": "o1", "customer": {"source": "shop", "external_id": "a"},
        "placed_at": "2025-01-02T00:00:00Z", "currency": "USD", "items": [{"sku": "S1", "quantity": 1, "unit_price": "10"}],
    }  # fmt: skip
    assert _batch(api, "/v1/orders:batchUpsert", [order])["counts"]["created"] == 1
    assert _batch(api, "/v1/orders:batchUpsert", [order])["counts"]["unchanged"] == 1
    moved = {**order, "customer": {"source": "shop", "external_id": "b"}, "status": "paid"}
    moved["items"] = [{"sku": "S1", "quantity": 3, "unit_price": "10"}]
    assert _batch(api, "/v1/orders:batchUpsert", [moved])["counts"]["updated"] == 1
    a = api.get(f"/v1/customers/{ids['a']}").json()["purchases"]
    b = api.get(f"/v1/customers/{ids['b']}").json()["purchases"]
    assert (a["order_count"], a["total_spent"], a["last_order_at"]) == (0, "0.00", None)
    assert (b["order_count"], b["total_spent"]) == (1, "30.00")


def test_partner_may_only_sync_its_own_source(api: httpx.Client) -> None:
    answer = _batch(
        api,
        "/v1/customers:batchUpsert",
        [{"source": "shop", "external_id": "1"}, {"source": "crm", "external_id": "2"}],
        **{"X-Rapport-Source": "shop"},
    )
    assert [r["status"] for r in answer["results"]] == ["created", "error"]
    assert answer["results"][1]["errors"][0]["loc"] == "source"
    orders = _batch(
        api,
        "/v1/orders:batchUpsert",
        [
            {
                "source": "crm", "external_id": "o", "customer": {"source": "shop", "external_id": "1"},
                "placed_at": "2025-01-01", "currency": "USD", "items": [{"sku": "S", "quantity": 1, "unit_price": "1"}],
            }
        ],
        **{"X-Rapport-Source": "shop"},
    )  # fmt: skip
    assert orders["results"][0]["status"] == "error"


@pytest.mark.skipif(BACKEND != "postgresql", reason="row locks between concurrent writers are PostgreSQL's")
def test_batch_waiting_on_a_merge_writes_to_the_survivor(api: httpx.Client, database_url: str) -> None:
    """A merge commits while a batch for the merged-away customer waits on its row: the batch's update lands
    on the survivor, and the merged-away row keeps its old values."""
    loser, survivor = (
        r["id"]
        for r in _batch(
            api,
            "/v1/customers:batchUpsert",
            [
                {"source": "crm", "external_id": "L", "city": "Hangzhou"},
                {"source": "crm", "external_id": "S", "city": "Ningbo"},
            ],
        )["results"]
    )
    engine = make_engine(database_url)
    try:
        with engine.connect() as merging:
            # What a merge does to the rows, held uncommitted so the batch has to wait for it.
            merging.execute(text("UPDATE customers SET merged_into = :s WHERE id = :l"), {"s": survivor, "l": loser})
            with ThreadPoolExecutor(1) as pool:
                pending = pool.submit(
                    _batch, api, "/v1/customers:batchUpsert", [{"source": "crm", "external_id": "L", "city": "Wuxi"}]
                )
                _wait_for_a_lock_wait(engine)
                merging.commit()
                result = pending.result(timeout=30)["results"][0]
    finally:
        engine.dispose()
    assert (result["status"], result["id"]) == ("updated", survivor)
    assert api.get(f"/v1/customers/{survivor}").json()["city"] == "Wuxi"
    with make_engine(database_url).connect() as connection:
        assert connection.execute(text("SELECT city FROM customers WHERE id = :l"), {"l": loser}).scalar() == "Hangzhou"


def _wait_for_a_lock_wait(engine: Engine) -> None:
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    deadline = time.monotonic() + 20
    with engine.connect() as watcher:
        while watcher.execute(query).scalar() == 0:
            assert time.monotonic() < deadline, "the batch never waited on the merge's row lock"
            time.sleep(0.05)
