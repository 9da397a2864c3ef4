"""Merging customers over HTTP: what moves, what the survivor keeps, totals, errors and chains."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from rapport.config import Settings
from rapport.db import make_engine
from services.customers.models import AuditRecord, Change, Customer, Interaction, Merge
from tests.support import assert_problem

ACTOR = {"X-Rapport-Actor": "admin:alice"}


@pytest.fixture
def db(database_url: str, api: httpx.Client) -> Iterator[Engine]:
    """The service's own database (already migrated by the running app)."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _upsert(api: httpx.Client, path: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    response = api.post(path, json={"records": records})
    assert response.status_code == 200, response.text
    results = list(response.json()["results"])
    assert all(r["status"] != "error" for r in results), results
    return results


def _customer(api: httpx.Client, source: str, external_id: str, **fields: Any) -> str:
    record = {"source": source, "external_id": external_id, **fields}
    return str(_upsert(api, "/v1/customers:batchUpsert", [record])[0]["id"])


ORDERS: list[dict[str, Any]] = [
    {"owner": ("crm", "1"), "id": "o1", "currency": "USD", "status": "paid", "at": "2024-02-01", "items": [(2, "19.99")]},
    {"owner": ("crm", "2"), "id": "o2", "currency": "CNY", "status": "paid", "at": "2023-05-05", "items": [(3, "33.33")]},
    {"owner": ("crm", "2"), "id": "o3", "currency": "USD", "status": "refunded", "at": "2024-03-01", "items": [(1, "80")]},
    {"owner": ("web", "abc"), "id": "o4", "currency": "EUR", "status": "placed", "at": "2024-06-30", "items": [(1, "9.95"), (4, "1.05")]},
    {"owner": ("web", "abc"), "id": "o5", "currency": "USD", "status": "cancelled", "at": "2024-07-01", "items": [(1, "5")]},
]  # fmt: skip


def _order_record(order: dict[str, Any]) -> dict[str, Any]:
    source, external_id = order["owner"]
    return {
        "source": "shop",
        "external_id": order["id"],
        "customer": {"source": source, "external_id": external_id},
        "placed_at": order["at"],
        "currency": order["currency"],
        "status": order["status"],
        "items": [{"sku": f"SKU-{n}", "quantity": q, "unit_price": p} for n, (q, p) in enumerate(order["items"])],
    }


def _expected_facts(orders: list[dict[str, Any]]) -> tuple[int, Decimal]:
    """Order count and total spent computed here, from the inputs: placed and paid orders, base currency."""
    rates = Settings().fx_rates
    counted = [o for o in orders if o["status"] in ("placed", "paid")]
    total = sum(
        (
            (sum((q * Decimal(p) for q, p in o["items"]), Decimal(0)) * rates[o["currency"]]).quantize(
                Decimal("0.01"), ROUND_HALF_UP
            )
            for o in counted
        ),
        Decimal(0),
    )
    return len(counted), total


def _three(api: httpx.Client, db: Engine) -> tuple[str, str, str]:
    """A survivor and two duplicates with identities, tags, attributes, consents, orders, interactions."""
    s = _customer(
        api,
        "crm",
        "1",
        given_name="Mei",
        family_name="Lin",
        email="mei@lin.example",
        tags=["vip"],
        consents={"email": True},
    )
    m1 = _customer(
        api,
        "crm",
        "2",
        given_name="May",
        phone="13912345678",
        city="Suzhou",
        tags=["newsletter"],
        attributes={"shoe_size": 38, "vip_level": 1},
    )
    m2 = _customer(
        api, "web", "abc", occupation="Engineer", address="1 Garden Rd", tags=["vip", "app"],
        attributes={"vip_level": 3}, consents={"email": False, "sms": True},
    )  # fmt: skip
    _upsert(api, "/v1/orders:batchUpsert", [_order_record(order) for order in ORDERS])
    with Session(db) as session, session.begin():
        session.execute(
            insert(Interaction),
            [
                {
                    "customer_id": uuid.UUID(owner),
                    "type": kind,
                    "occurred_at": datetime(2024, 1, n + 1, tzinfo=UTC),
                    "properties": {"page": f"/p/{n}"},
                    "source": "web",
                    "dedup_key": f"merge-test-{n}",
                }
                for n, (owner, kind) in enumerate([(m1, "visit"), (m1, "campaign"), (m2, "service_contact")])
            ],
        )
    return s, m1, m2


def test_merge_moves_everything_and_keeps_totals_right(api: httpx.Client, db: Engine) -> None:
    s, m1, m2 = _three(api, db)
    before = sum(Decimal(api.get(f"/v1/customers/{i}").json()["purchases"]["total_spent"]) for i in (s, m1, m2))
    response = api.post(f"/v1/customers/{s}:merge", json={"from": [m1, m2]}, headers=ACTOR)
    assert response.status_code == 200, response.text
    survivor = response.json()
    assert response.headers["etag"] == f'"{survivor["version"]}"'
    assert survivor["id"] == s
    assert survivor["merged_into"] is None
    assert survivor["identities"] == [
        {"source": "crm", "external_id": "1"},
        {"source": "crm", "external_id": "2"},
        {"source": "web", "external_id": "abc"},
    ]
    count, total = _expected_facts(ORDERS)
    assert survivor["purchases"]["order_count"] == count == 3
    assert Decimal(survivor["purchases"]["total_spent"]) == total == before
    assert survivor["purchases"]["first_order_at"].startswith("2023-05-05")
    assert survivor["purchases"]["last_order_at"].startswith("2024-06-30")
    orders = api.get(f"/v1/customers/{s}/orders").json()
    assert sorted(o["external_id"] for o in orders) == ["o1", "o2", "o3", "o4", "o5"]
    assert {o["customer_id"] for o in orders} == {s}
    for merged in (m1, m2):
        row = api.get(f"/v1/customers/{merged}")
        assert row.status_code == 200
        assert row.json()["merged_into"] == s
        assert row.json()["purchases"]["order_count"] == 0
        assert row.json()["identities"] == []
        assert row.headers["link"] == f'</v1/customers/{s}>; rel="canonical"'
        followed = api.get(f"/v1/customers/{merged}/orders")
        assert followed.status_code == 200
        assert len(followed.json()) == 5
        assert s in followed.headers["link"]
        activity = api.get(f"/v1/customers/{merged}/interactions")
        assert activity.status_code == 200
        assert len(activity.json()["items"]) == 3
        assert s in activity.headers["link"]
    with Session(db) as session:
        owners = session.scalars(select(Interaction.customer_id)).all()
        assert [str(owner) for owner in owners] == [s, s, s]
        merges = session.scalars(select(Merge).order_by(Merge.id)).all()
        assert [(str(m.survivor_id), str(m.merged_id), m.actor) for m in merges] == [
            (s, m1, "admin:alice"),
            (s, m2, "admin:alice"),
        ]
        assert merges[0].details["orders"] == 2
        assert merges[0].details["interactions"] == 2
        audits = session.scalars(select(AuditRecord).order_by(AuditRecord.id)).all()
        assert [(a.action, a.target, a.actor) for a in audits] == [
            ("merge", m1, "admin:alice"),
            ("merge", m2, "admin:alice"),
        ]
        last = session.scalars(select(Change).order_by(Change.seq.desc()).limit(3)).all()[::-1]
        assert [(c.entity_id, c.kind, c.data) for c in last] == [
            (m1, "merged", {"survivor_id": s}),
            (m2, "merged", {"survivor_id": s}),
            (s, "updated", {}),
        ]
        assert session.get(Customer, uuid.UUID(m1)).merged_into == uuid.UUID(s)  # type: ignore[union-attr]


def test_merge_fills_empty_fields_unions_tags_and_takes_the_latest_consent(api: httpx.Client, db: Engine) -> None:
    s, m1, m2 = _three(api, db)
    survivor = api.post(f"/v1/customers/{s}:merge", json={"from": [m1, m2]}).json()
    assert (survivor["given_name"], survivor["family_name"]) == ("Mei", "Lin")  # the survivor's values win
    assert survivor["email"] == "mei@lin.example"
    assert (survivor["phone"], survivor["city"]) == ("+8613912345678", "Suzhou")  # filled from m1
    assert (survivor["occupation"], survivor["address"]) == ("Engineer", "1 Garden Rd")  # filled from m2
    assert survivor["attributes"] == {"shoe_size": 38, "vip_level": 3}  # m2 was updated last
    assert survivor["tags"] == ["app", "newsletter", "vip"]
    assert survivor["consents"]["email"]["granted"] is False  # m2's decision is the most recent
    assert survivor["consents"]["sms"]["granted"] is True
    assert survivor["consents"]["personalisation"]["granted"] is None
    assert api.get(f"/v1/customers/{m1}").json()["tags"] == []


def test_batch_upsert_through_a_merged_away_identity_updates_the_survivor(api: httpx.Client, db: Engine) -> None:
    s, m1, m2 = _three(api, db)
    assert api.post(f"/v1/customers/{s}:merge", json={"from": [m1, m2]}).status_code == 200
    version = api.get(f"/v1/customers/{s}").json()["version"]
    result = _upsert(api, "/v1/customers:batchUpsert", [{"source": "crm", "external_id": "2", "city": "Chengdu"}])
    assert (result[0]["status"], result[0]["id"]) == ("updated", s)
    survivor = api.get(f"/v1/customers/{s}").json()
    assert survivor["city"] == "Chengdu"
    assert survivor["version"] == version + 1
    assert api.get(f"/v1/customers/{m1}").json()["city"] == "Suzhou"  # the tombstone is not written to
    extra: dict[str, Any] = {"owner": ("web", "abc"), "id": "o6", "currency": "USD", "status": "paid"}
    extra |= {"at": "2025-01-01", "items": [(1, "100")]}
    _upsert(api, "/v1/orders:batchUpsert", [_order_record(extra)])
    count, total = _expected_facts([*ORDERS, extra])
    purchases = api.get(f"/v1/customers/{s}").json()["purchases"]
    assert (purchases["order_count"], Decimal(purchases["total_spent"])) == (count, total)


def test_merge_errors_name_the_ids_at_fault(api: httpx.Client) -> None:
    a = _customer(api, "crm", "a", given_name="A")
    b = _customer(api, "crm", "b", given_name="B")
    c = _customer(api, "crm", "c", given_name="C")
    unknown = str(uuid.uuid4())
    assert "itself" in str(assert_problem(api.post(f"/v1/customers/{a}:merge", json={"from": [a]}), 422)["detail"])
    body = assert_problem(api.post(f"/v1/customers/{a}:merge", json={"from": [b, unknown]}), 422)
    assert unknown in str(body["detail"])
    assert body["errors"] == [{"loc": "body.from.1", "msg": f"no customer with id {unknown}"}]
    assert_problem(api.post(f"/v1/customers/{a}:merge", json={"from": [b, b]}), 422)
    assert_problem(api.post(f"/v1/customers/{a}:merge", json={"from": []}), 422)
    assert_problem(api.post(f"/v1/customers/{a}:merge", json={"from": [str(uuid.uuid4()) for _ in range(51)]}), 422)
    assert_problem(api.post(f"/v1/customers/{a}:merge", json={"form": [b]}), 422)
    assert_problem(api.post(f"/v1/customers/{unknown}:merge", json={"from": [b]}), 404)
    assert api.get(f"/v1/customers/{b}").json()["merged_into"] is None  # nothing was written by the failures
    assert api.post(f"/v1/customers/{a}:merge", json={"from": [b]}).status_code == 200
    again = assert_problem(api.post(f"/v1/customers/{c}:merge", json={"from": [b]}), 409)
    assert again["merged_into"] == {b: a}
    assert a in str(again["detail"])
    into_merged = assert_problem(api.post(f"/v1/customers/{b}:merge", json={"from": [c]}), 409)
    assert a in str(into_merged["detail"])
    patch = assert_problem(api.patch(f"/v1/customers/{b}", json={"city": "Xi'an"}, headers={"If-Match": "*"}), 409)
    assert patch["merged_into"] == a


def test_merging_a_survivor_later_repoints_everything(api: httpx.Client, db: Engine) -> None:
    s, m1, m2 = _three(api, db)
    assert api.post(f"/v1/customers/{s}:merge", json={"from": [m1]}).status_code == 200
    final = _customer(api, "pos", "9", given_name="Mei", family_name="Lin", tags=["pos"])
    response = api.post(f"/v1/customers/{final}:merge", json={"from": [s, m2]})
    assert response.status_code == 200, response.text
    survivor = response.json()
    assert {i["external_id"] for i in survivor["identities"]} == {"1", "2", "abc", "9"}
    count, total = _expected_facts(ORDERS)
    assert (survivor["purchases"]["order_count"], Decimal(survivor["purchases"]["total_spent"])) == (count, total)
    for old in (s, m1, m2):
        assert api.get(f"/v1/customers/{old}").json()["merged_into"] == final  # chains stay one hop long
    result = _upsert(api, "/v1/customers:batchUpsert", [{"source": "crm", "external_id": "2", "region": "Jiangsu"}])
    assert result[0]["id"] == final
    assert api.get(f"/v1/customers/{final}").json()["region"] == "Jiangsu"
    assert len(api.get(f"/v1/customers/{m1}/orders").json()) == 5
    with Session(db) as session:
        assert {str(owner) for owner in session.scalars(select(Interaction.customer_id))} == {final}


def test_concurrent_merges_of_one_customer_let_exactly_one_win(api: httpx.Client) -> None:
    """PostgreSQL serialises them on the row locks; on SQLite the unique merged_id is the backstop."""
    b = _customer(api, "crm", "b", given_name="B")
    survivors = [_customer(api, "crm", f"s{i}", given_name="S") for i in range(4)]

    def merge_into(survivor: str) -> int:
        with httpx.Client(base_url=str(api.base_url), headers=dict(api.headers), timeout=30) as client:
            return client.post(f"/v1/customers/{survivor}:merge", json={"from": [b]}).status_code

    with ThreadPoolExecutor(len(survivors)) as pool:
        statuses = sorted(pool.map(merge_into, survivors))
    assert statuses == [200, 409, 409, 409]
    winner = api.get(f"/v1/customers/{b}").json()["merged_into"]
    assert winner in survivors
    identities = api.get(f"/v1/customers/{winner}").json()["identities"]
    assert {"source": "crm", "external_id": "b"} in identities


def test_identities_resolve_to_the_live_customer_after_a_merge(api: httpx.Client) -> None:
    survivor = _customer(api, "crm", "r1", given_name="Ana")
    merged = _customer(api, "web", "r2", given_name="Ana")
    assert api.post(f"/v1/customers/{survivor}:merge", json={"from": [merged]}).status_code == 200
    asked = [
        {"source": "web", "external_id": "r2"},
        {"source": "crm", "external_id": "r1"},
        {"source": "crm", "external_id": "nobody"},
    ]
    answer = api.post("/v1/identities:resolve", json={"identities": asked})
    assert answer.status_code == 200, answer.text
    assert [row["customer_id"] for row in answer.json()["identities"]] == [survivor, survivor, None]
    assert_problem(api.post("/v1/identities:resolve", json={"identities": []}), 422)
