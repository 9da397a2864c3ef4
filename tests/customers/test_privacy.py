"""Privacy over HTTP: export everything held about a person; erase them from every table of the service."""

from __future__ import annotations

import json
import uuid
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, MetaData, func, insert, select
from sqlalchemy.exc import SAWarning
from sqlalchemy.orm import Session

from rapport.db import make_engine
from services.customers.models import AuditRecord, Change, Customer, Interaction, Order
from tests.support import assert_problem

PERSON = {
    "given_name": "Xiulan",
    "family_name": "Qiao",
    "email": "Xiulan.Qiao@Mail.example",
    "phone": "+86 139 8765 4321",
    "birth_date": "1984-04-12",
    "gender": "female",
    "income": "8800",
    "occupation": "Veterinarian",
    "education": "master",
    "country": "CN",
    "region": "Zhejiang",
    "city": "Ningbo",
    "address": "88 Moonlight Lane",
    "attributes": {"nickname": "Lanlan", "loyalty_no": "LY-55501"},
    "tags": ["peanut-allergy"],
    "consents": {"email": True, "sms": False},
}
DUPLICATE = {
    "given_name": "Xiu Lan",
    "family_name": "Qiao",
    "email": "qiao.x@other.example",
    "phone": "13811112222",
    "address": "Room 5, 12 Harbor Street",
    "city": "Ningbo",
}
# Everything personal we sent, as it may be stored (normalised) anywhere.
NEEDLES = [
    "Xiulan", "Qiao", "Xiu Lan", "xiulan.qiao@mail.example", "qiao.x@other.example", "+8613987654321",
    "13987654321", "13811112222", "1984-04-12", "Veterinarian", "Zhejiang", "Ningbo", "Moonlight", "Harbor",
    "Lanlan", "LY-55501", "peanut-allergy", "qiao-77", "xl-2", "vet clinic near me",
]  # fmt: skip
OTHER = {"given_name": "Bob", "family_name": "Stone", "email": "bob@stone.example", "city": "Dalian"}


@pytest.fixture
def db(database_url: str, api: httpx.Client) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _upsert(api: httpx.Client, path: str, records: list[dict[str, Any]], **headers: str) -> list[dict[str, Any]]:
    response = api.post(path, json={"records": records}, headers=headers)
    assert response.status_code == 200, response.text
    results = list(response.json()["results"])
    assert all(r["status"] != "error" for r in results), results
    return results


def _order(external_id: str, owner: str, *items: tuple[int, str]) -> dict[str, Any]:
    return {
        "source": "shop",
        "external_id": external_id,
        "customer": {"source": owner.split("/")[0], "external_id": owner.split("/")[1]},
        "placed_at": "2024-05-01T08:00:00Z",
        "currency": "USD",
        "items": [{"sku": f"SKU-{n}", "quantity": q, "unit_price": p} for n, (q, p) in enumerate(items)],
    }


def _person(api: httpx.Client, db: Engine) -> tuple[str, str, str]:
    """The person (a survivor with a merged-away duplicate) and an unrelated customer, with a history."""
    person = _upsert(api, "/v1/customers:batchUpsert", [{"source": "crm", "external_id": "qiao-77", **PERSON}])[0]
    duplicate = _upsert(api, "/v1/customers:batchUpsert", [{"source": "web", "external_id": "xl-2", **DUPLICATE}])[0]
    other = _upsert(api, "/v1/customers:batchUpsert", [{"source": "crm", "external_id": "bob-1", **OTHER}])[0]
    p, d = person["id"], duplicate["id"]
    _upsert(
        api,
        "/v1/customers:batchUpsert",
        [{"source": "crm", "external_id": "qiao-77", "occupation": "Veterinarian"}],
        **{"Idempotency-Key": "replay-me"},
    )
    patched = api.patch(f"/v1/customers/{p}", json={"region": "Zhejiang"}, headers={"If-Match": "*"})
    assert patched.status_code == 200, patched.text
    _upsert(
        api,
        "/v1/orders:batchUpsert",
        [
            _order("q-1", "crm/qiao-77", (2, "12.50")),
            _order("q-2", "web/xl-2", (1, "99.90"), (3, "1.10")),
            _order("b-1", "crm/bob-1", (1, "7")),
        ],
    )
    with Session(db) as session, session.begin():
        session.execute(
            insert(Interaction),
            [
                {
                    "customer_id": uuid.UUID(owner),
                    "type": "visit",
                    "occurred_at": datetime(2024, 5, n + 1, tzinfo=UTC),
                    "properties": {"search": "vet clinic near me", "email": "xiulan.qiao@mail.example"},
                    "source": "web",
                    "dedup_key": f"privacy-{n}",
                }
                for n, owner in enumerate([p, d])
            ],
        )
    merged = api.post(f"/v1/customers/{p}:merge", json={"from": [d]}, headers={"X-Rapport-Actor": "admin:erin"})
    assert merged.status_code == 200, merged.text
    return p, d, other["id"]


def _dump(db: Engine) -> dict[str, list[str]]:
    """Every value of every column of every table in the service's database, as text, by table."""
    metadata = MetaData()
    with warnings.catch_warnings():  # the expression index cannot be reflected; its table can
        warnings.simplefilter("ignore", SAWarning)
        metadata.reflect(db)
    found: dict[str, list[str]] = {}
    with db.connect() as connection:
        for table in metadata.sorted_tables:
            values = []
            for row in connection.execute(select(table)):
                for value in row:
                    values.append(
                        json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)
                    )
            found[table.name] = values
    return found


def test_export_returns_everything_held_about_the_person(api: httpx.Client, db: Engine) -> None:
    p, d, other = _person(api, db)
    response = api.get(f"/v1/customers/{d}:export")  # through the merged-away id: the same person
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["link"] == f'</v1/customers/{p}>; rel="canonical"'
    document = response.json()
    assert document["customer_id"] == p
    assert document["customer_ids"] == [p, d]
    survivor, tombstone = document["profiles"]
    assert (survivor["id"], survivor["email"], survivor["tags"]) == (p, "xiulan.qiao@mail.example", ["peanut-allergy"])
    assert survivor["consents"]["email"]["granted"] is True
    assert {(i["source"], i["external_id"]) for i in survivor["identities"]} == {("crm", "qiao-77"), ("web", "xl-2")}
    assert (tombstone["id"], tombstone["merged_into"], tombstone["email"]) == (d, p, "qiao.x@other.example")
    assert sorted(o["external_id"] for o in document["orders"]) == ["q-1", "q-2"]
    assert [len(o["items"]) for o in sorted(document["orders"], key=lambda o: o["external_id"])] == [1, 2]
    assert [i["properties"]["search"] for i in document["interactions"]] == ["vet clinic near me"] * 2
    assert [(m["survivor_id"], m["merged_id"], m["actor"]) for m in document["merges"]] == [(p, d, "admin:erin")]
    assert [(a["action"], a["target"]) for a in document["audit"]] == [("merge", d)]
    kinds = {(c["entity"], c["entity_id"], c["kind"]) for c in document["changes"]}
    assert {("customer", p, "created"), ("customer", p, "updated"), ("customer", d, "merged")} <= kinds
    assert sum(c["entity"] == "order" for c in document["changes"]) == 2
    assert other not in response.text


def test_erase_leaves_no_personal_field_anywhere(api: httpx.Client, db: Engine) -> None:
    p, d, other = _person(api, db)
    before = _dump(db)
    assert any(needle.lower() in value.lower() for values in before.values() for value in values for needle in NEEDLES)
    spent = api.get(f"/v1/customers/{p}").json()["purchases"]
    response = api.delete(f"/v1/customers/{d}", headers={"X-Rapport-Actor": "admin:erin"})  # via the merged-away id
    assert response.status_code == 204, response.text
    leaks = [
        (table, needle, value)
        for table, values in _dump(db).items()
        for value in values
        for needle in NEEDLES
        if needle.lower() in value.lower()
    ]
    assert leaks == []
    with Session(db) as session:
        orders = session.execute(select(Order.external_id, Order.total, Order.customer_id).order_by(Order.external_id))
        assert [(e, t, str(c)) for e, t, c in orders] == [
            ("b-1", Decimal("7.00"), other),
            ("q-1", Decimal("25.00"), p),
            ("q-2", Decimal("103.20"), p),
        ]
        erased = session.get(Customer, uuid.UUID(p))
        assert erased is not None
        assert erased.erased_at is not None
        assert (erased.order_count, erased.total_spent) == (2, Decimal(spent["total_spent"]))
        assert (erased.income, erased.birth_date, erased.attributes) == (None, None, {})
        assert session.scalar(select(func.count()).select_from(Interaction)) == 2  # kept as counts, no content
        events = session.execute(select(Change.entity_id, Change.data).where(Change.kind == "erased")).all()
        assert sorted(events) == sorted([(p, {}), (d, {})])
        audit = session.scalars(select(AuditRecord).where(AuditRecord.action == "erase")).one()
        assert (audit.target, audit.actor, audit.details["customer_ids"]) == (d, "admin:erin", [p, d])
    assert api.get(f"/v1/customers/{other}").json()["email"] == "bob@stone.example"  # nobody else is touched


def test_an_erased_customer_is_gone_on_every_route_and_erase_is_idempotent(api: httpx.Client, db: Engine) -> None:
    p, d, _ = _person(api, db)
    assert api.delete(f"/v1/customers/{p}").status_code == 204
    for customer in (p, d):
        for path in ("", "/orders", "/interactions", "/duplicates", ":export"):
            assert_problem(api.get(f"/v1/customers/{customer}{path}"), 410)
        assert_problem(api.patch(f"/v1/customers/{customer}", json={"city": "X"}, headers={"If-Match": "*"}), 410)
        assert api.delete(f"/v1/customers/{customer}").status_code == 204  # again: nothing more to do
    assert_problem(api.post(f"/v1/customers/{p}:merge", json={"from": [str(uuid.uuid4())]}), 410)
    fresh = _upsert(api, "/v1/customers:batchUpsert", [{"source": "crm", "external_id": "new", "given_name": "N"}])
    assert_problem(api.post(f"/v1/customers/{fresh[0]['id']}:merge", json={"from": [d]}), 409)
    assert_problem(api.delete(f"/v1/customers/{uuid.uuid4()}"), 404)
    with Session(db) as session:
        assert session.scalar(select(func.count()).where(Change.kind == "erased")) == 2
        assert session.scalar(select(func.count()).where(AuditRecord.action == "erase")) == 1
    listed = api.get("/v1/customers", params={"with_total": True}).json()
    assert listed["total"] == 2  # Bob and the fresh one
