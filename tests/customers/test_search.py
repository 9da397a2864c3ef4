"""Customer search over HTTP equals a brute-force filter over the same stored customers (hypothesis)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.customers import search
from tests.support import assert_problem

CITIES = ["Shanghai", "Beijing", "London", "Shenzhen"]
GENDERS = ["female", "male", "unknown"]
BANDS = ["low", "middle", "high", "very_high"]
TAGS = ["vip", "newsletter", "b2b"]


def _people(count: int) -> list[dict[str, Any]]:
    rng = random.Random(5)
    people = []
    for i in range(count):
        person: dict[str, Any] = {"source": "t", "external_id": str(i)}
        if rng.random() < 0.85:
            person["city"] = rng.choice(CITIES)
        if rng.random() < 0.9:
            person["gender"] = rng.choice(GENDERS)
        if rng.random() < 0.8:
            person["income_band"] = rng.choice(BANDS)
        if rng.random() < 0.8:
            person["birth_date"] = date(rng.randint(1950, 2005), rng.randint(1, 12), rng.randint(1, 28)).isoformat()
        person["tags"] = rng.sample(TAGS, rng.randint(0, 2))
        if rng.random() < 0.5:
            person["attributes"] = {"level": rng.randint(1, 5)}
        people.append(person)
    return people


def _orders(ids: list[str]) -> list[dict[str, Any]]:
    rng = random.Random(6)
    orders = []
    for n, external_id in enumerate(ids):
        for k in range(rng.randint(0, 3)):
            orders.append(
                {
                    "source": "t", "external_id": f"{n}-{k}", "customer": {"source": "t", "external_id": external_id},
                    "placed_at": f"2025-{rng.randint(1, 12):02d}-10", "currency": "USD",
                    "items": [{"sku": "S", "quantity": 1, "unit_price": str(rng.randint(1, 300))}],
                }
            )  # fmt: skip
    return orders


def _age(birth: str | None, today: date) -> int | None:
    if birth is None:
        return None
    born = date.fromisoformat(birth)
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _value(customer: dict[str, Any], field: str, today: date) -> Any:
    if field == "age":
        return _age(customer["birth_date"], today)
    if field == "total_spent":
        return Decimal(customer["purchases"]["total_spent"])
    if field == "order_count":
        return customer["purchases"]["order_count"]
    if field == "attributes.level":
        return customer["attributes"].get("level")
    return customer[field]


def _matches(customer: dict[str, Any], node: dict[str, Any], today: date) -> bool:
    """The filter language's semantics, written independently of rapport.filters."""
    if "all" in node:
        return all(_matches(customer, child, today) for child in node["all"])
    if "any" in node:
        return any(_matches(customer, child, today) for child in node["any"])
    if "not" in node:
        return not _matches(customer, node["not"], today)
    field, op, wanted = node["field"], node["op"], node["value"]
    value = _value(customer, field, today)
    if field == "tags":
        return {"contains": wanted in value, "exists": bool(value) == wanted}.get(op, False)
    if op == "exists":
        return (value is not None) == wanted
    if value is None:
        return False
    if field == "total_spent":
        wanted = [Decimal(str(w)) for w in wanted] if isinstance(wanted, list) else Decimal(str(wanted))
    return {
        "eq": lambda: value == wanted,
        "ne": lambda: value != wanted,
        "lt": lambda: value < wanted,
        "gte": lambda: value >= wanted,
        "in": lambda: value in wanted,
        "not_in": lambda: value not in wanted,
        "between": lambda: wanted[0] <= value <= wanted[1],
    }[op]()


conditions = st.one_of(
    st.builds(lambda op, v: {"field": "city", "op": op, "value": v}, st.sampled_from(["eq", "ne"]), st.sampled_from(CITIES)),
    st.builds(lambda op, v: {"field": "city", "op": op, "value": v}, st.sampled_from(["in", "not_in"]),
              st.lists(st.sampled_from(CITIES), min_size=1, max_size=3, unique=True)),
    st.builds(lambda v: {"field": "gender", "op": "eq", "value": v}, st.sampled_from(GENDERS)),
    st.builds(lambda v: {"field": "income_band", "op": "in", "value": v}, st.lists(st.sampled_from(BANDS), min_size=1, unique=True)),
    st.builds(lambda lo, span: {"field": "age", "op": "between", "value": [lo, lo + span]}, st.integers(18, 75), st.integers(0, 20)),
    st.builds(lambda op, v: {"field": "age", "op": op, "value": v}, st.sampled_from(["lt", "gte", "eq"]), st.integers(18, 75)),
    st.builds(lambda op, v: {"field": "total_spent", "op": op, "value": v}, st.sampled_from(["gte", "lt"]), st.integers(0, 600)),
    st.builds(lambda v: {"field": "order_count", "op": "gte", "value": v}, st.integers(0, 3)),
    st.builds(lambda v: {"field": "tags", "op": "contains", "value": v}, st.sampled_from(TAGS)),
    st.builds(lambda f, v: {"field": f, "op": "exists", "value": v}, st.sampled_from(["city", "birth_date", "tags"]), st.booleans()),
    st.builds(lambda op, v: {"field": "attributes.level", "op": op, "value": v}, st.sampled_from(["eq", "gte"]), st.integers(1, 5)),
)  # fmt: skip
filters = st.recursive(
    conditions,
    lambda children: st.one_of(
        st.builds(lambda xs: {"all": xs}, st.lists(children, max_size=3)),
        st.builds(lambda xs: {"any": xs}, st.lists(children, max_size=3)),
        st.builds(lambda x: {"not": x}, children),
    ),
    max_leaves=5,
)


def _search_all(api: httpx.Client, filter_: dict[str, Any]) -> tuple[set[str], int]:
    found: set[str] = set()
    cursor = None
    total = -1
    while True:
        body: dict[str, Any] = {"filter": filter_, "limit": 25, "with_total": cursor is None}
        if cursor:
            body["cursor"] = cursor
        page = api.post("/v1/customers:search", json=body)
        assert page.status_code == 200, page.text
        payload = page.json()
        if cursor is None:
            total = payload["total"]
        found |= {item["id"] for item in payload["items"]}
        cursor = payload["next_cursor"]
        if cursor is None:
            return found, total


def test_search_equals_brute_force(api: httpx.Client) -> None:
    answer = api.post("/v1/customers:batchUpsert", json={"records": _people(80)}).json()
    assert answer["counts"]["created"] == 80
    assert api.post("/v1/orders:batchUpsert", json={"records": _orders([str(i) for i in range(80)])}).status_code == 200
    customers = [api.get(f"/v1/customers/{r['id']}").json() for r in answer["results"]]
    today = datetime.now(UTC).date()

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(filters)
    def check(filter_: dict[str, Any]) -> None:
        expected = {c["id"] for c in customers if _matches(c, filter_, today)}
        found, total = _search_all(api, filter_)
        assert found == expected
        assert total == len(expected)
        assert api.post("/v1/customers:count", json={"filter": filter_}).json()["count"] == len(expected)

    check()


def test_unknown_field_and_wrong_type_are_422_naming_the_field(api: httpx.Client) -> None:
    unknown = assert_problem(
        api.post("/v1/customers:count", json={"filter": {"field": "citty", "op": "eq", "value": "x"}}), 422
    )
    assert "citty" in str(unknown["errors"])
    wrong = assert_problem(
        api.post("/v1/customers:search", json={"filter": {"field": "age", "op": "gt", "value": "old"}}), 422
    )
    assert "age" in str(wrong["errors"])


@pytest.mark.parametrize("enumerate_below", [0, 1_000_000])
def test_pages_and_totals_skip_merged_and_erased_customers(
    api: httpx.Client, monkeypatch: pytest.MonkeyPatch, enumerate_below: int
) -> None:
    """Both first-page strategies (walk the id order, or enumerate the matches and sort them) list the
    same live customers in id order, and the total leaves merged-away and erased customers out."""
    monkeypatch.setattr(search, "ENUMERATE_BELOW", enumerate_below)
    monkeypatch.setattr(search, "ENUMERATE_WITHIN_SECONDS", 60.0)
    people = [{"source": "t", "external_id": str(i), "city": "Shanghai", "tags": ["vip"]} for i in range(30)]
    ids = [r["id"] for r in api.post("/v1/customers:batchUpsert", json={"records": people}).json()["results"]]
    assert api.post(f"/v1/customers/{ids[0]}:merge", json={"from": [ids[1]]}).status_code == 200
    assert api.delete(f"/v1/customers/{ids[2]}").status_code == 204
    live = set(ids) - {ids[1], ids[2]}
    for filter_ in (
        {"field": "city", "op": "eq", "value": "Shanghai"},
        {
            "all": [
                {"field": "tags", "op": "contains", "value": "vip"},
                {"field": "city", "op": "exists", "value": True},
            ]
        },
    ):
        found, total = _search_all(api, filter_)
        assert found == live
        assert total == len(live)
        assert api.post("/v1/customers:count", json={"filter": filter_}).json()["count"] == len(live)
        first = api.post("/v1/customers:search", json={"filter": filter_, "limit": 10}).json()["items"]
        assert [item["id"] for item in first] == sorted(live)[:10]


def test_attribute_eq_on_strings_and_booleans_matches_only_that_kind(api: httpx.Client) -> None:
    """String and boolean `eq` on an attribute also compile to jsonb containment on PostgreSQL (for its
    GIN index); the answer is the same: only that value of that kind, and `not` takes the rest."""
    documents = [{"tier": "gold", "vip": True}, {"tier": "Gold", "vip": "true"}, {"tier": 1, "vip": False}, {}]
    people = [{"source": "t", "external_id": str(i), "attributes": doc} for i, doc in enumerate(documents)]
    ids = [r["id"] for r in api.post("/v1/customers:batchUpsert", json={"records": people}).json()["results"]]
    cases = {
        ("tier", "gold"): {ids[0]},
        ("tier", "Gold"): {ids[1]},
        ("vip", True): {ids[0]},
        ("vip", False): {ids[2]},
        ("vip", "true"): {ids[1]},
    }
    for (key, value), expected in cases.items():
        condition = {"field": f"attributes.{key}", "op": "eq", "value": value}
        assert _search_all(api, condition) == (expected, len(expected))
        assert _search_all(api, {"not": condition}) == (set(ids) - expected, len(ids) - len(expected))
