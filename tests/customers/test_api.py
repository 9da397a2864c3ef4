"""Customers and products over HTTP: cleaning on write, ETags, pagination."""

from __future__ import annotations

import httpx

from rapport.config import Settings
from tests.support import assert_problem


def _create(api: httpx.Client, **fields: object) -> dict:
    response = api.post("/v1/customers", json=fields)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_created_customer_is_stored_normalised(api: httpx.Client) -> None:
    created = _create(
        api,
        given_name="  伟 ",
        family_name="王",
        email="  Wang.Wei@Example.COM ",
        phone="138 1234 5678",
        gender="男",
        education="本科",
        city="上海市",
        birth_date="1990年3月5日",
        tags=["VIP", " vip ", "Newsletter"],
        identities=[{"source": "shop", "external_id": "u-1"}],
        consents={"email": True},
    )
    fetched = api.get(f"/v1/customers/{created['id']}")
    assert fetched.status_code == 200
    customer = fetched.json()
    assert customer["email"] == "wang.wei@example.com"
    assert customer["phone"] == "+8613812345678"
    assert customer["gender"] == "male"
    assert customer["education"] == "bachelor"
    assert customer["given_name"] == "伟"
    assert customer["birth_date"] == "1990-03-05"
    assert customer["tags"] == ["newsletter", "vip"]
    assert customer["identities"] == [{"source": "shop", "external_id": "u-1"}]
    assert customer["consents"]["email"]["granted"] is True
    assert customer["consents"]["email"]["at"] is not None
    assert customer["purchases"] == {
        "first_order_at": None,
        "last_order_at": None,
        "order_count": 0,
        "total_spent": "0.00",
        "currency": "USD",
    }
    assert fetched.headers["etag"] == '"1"'


def test_invalid_fields_are_422_naming_each_field(api: httpx.Client) -> None:
    response = api.post("/v1/customers", json={"email": "not-an-email", "phone": "12", "gender": "banana"})
    body = assert_problem(response, 422)
    assert {error["loc"] for error in body["errors"]} == {"body.email", "body.phone", "body.gender"}  # type: ignore[union-attr]
    assert api.get("/v1/customers", params={"with_total": True}).json()["total"] == 0


def test_identity_owned_by_another_customer_is_409(api: httpx.Client) -> None:
    _create(api, identities=[{"source": "crm", "external_id": "7"}])
    assert_problem(api.post("/v1/customers", json={"identities": [{"source": "crm", "external_id": "7"}]}), 409)


def test_patch_requires_the_current_etag(api: httpx.Client) -> None:
    created = _create(api, city="Beijing", attributes={"vip_level": 2, "note": "x"})
    url = f"/v1/customers/{created['id']}"
    assert_problem(api.patch(url, json={"city": "Shenzhen"}), 428)
    first = api.patch(url, json={"city": "Shenzhen", "attributes": {"note": None}}, headers={"If-Match": '"1"'})
    assert first.status_code == 200, first.text
    assert first.headers["etag"] == '"2"'
    assert first.json()["attributes"] == {"vip_level": 2}
    stale = api.patch(url, json={"city": "Hangzhou"}, headers={"If-Match": '"1"'})
    body = assert_problem(stale, 412)
    assert body["current_etag"] == '"2"'
    assert api.get(url).json()["city"] == "Shenzhen"


def test_patch_with_nothing_new_keeps_the_version(api: httpx.Client) -> None:
    created = _create(api, city="Beijing")
    response = api.patch(f"/v1/customers/{created['id']}", json={"city": "beijing"}, headers={"If-Match": '"1"'})
    assert response.status_code == 200
    assert response.headers["etag"] == '"1"'


def test_unknown_customer_is_404_and_bad_id_is_422(api: httpx.Client) -> None:
    assert_problem(api.get("/v1/customers/00000000-0000-4000-8000-000000000000"), 404)
    assert_problem(api.get("/v1/customers/not-a-uuid"), 422)


def test_list_pages_through_every_customer_once(api: httpx.Client) -> None:
    ids = {_create(api, given_name=f"n{i}")["id"] for i in range(7)}
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, object] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.get("/v1/customers", params=params).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert sorted(seen) == sorted(ids)
    assert_problem(api.get("/v1/customers", params={"cursor": "garbage!"}), 422)
    assert_problem(api.get("/v1/customers", params={"limit": 0}), 422)


def test_product_crud_with_etag(api: httpx.Client) -> None:
    created = api.post("/v1/products", json={"sku": "SKU-1", "name": "Diapers", "category": "baby", "price": "12.5"})
    assert created.status_code == 201
    assert created.json()["price"] == "12.50"
    assert_problem(api.post("/v1/products", json={"sku": "SKU-1", "name": "Again"}), 409)
    assert_problem(api.patch("/v1/products/SKU-1", json={"price": "11"}, headers={"If-Match": '"9"'}), 412)
    patched = api.patch("/v1/products/SKU-1", json={"price": "11"}, headers={"If-Match": '"1"'})
    assert patched.json()["price"] == "11.00"
    assert patched.headers["etag"] == '"2"'
    api.post("/v1/products", json={"sku": "SKU-2", "name": "Beer", "category": "beer"})
    baby = api.get("/v1/products", params={"category": "baby"}).json()
    assert [item["sku"] for item in baby["items"]] == ["SKU-1"]
    assert api.delete("/v1/products/SKU-1").status_code == 204
    assert_problem(api.get("/v1/products/SKU-1"), 404)
    assert_problem(api.post("/v1/products", json={"sku": "", "name": "x"}), 422)


def test_a_profile_can_carry_its_most_recent_orders(api: httpx.Client) -> None:
    created = _create(api, given_name="Recent", identities=[{"source": "shop", "external_id": "recent-1"}])
    records = [
        {
            "source": "shop",
            "external_id": f"recent-order-{day}",
            "customer": {"source": "shop", "external_id": "recent-1"},
            "placed_at": f"2024-05-{day:02d}T10:00:00Z",
            "currency": "USD",
            # One item more each day: the recent orders are read joined to their items.
            "items": [{"sku": f"SKU-{line}", "quantity": line, "unit_price": "10.00"} for line in range(1, day + 1)],
        }
        for day in (3, 1, 2)
    ]
    written = api.post("/v1/orders:batchUpsert", json={"records": records})
    assert written.status_code == 200, written.text
    url = f"/v1/customers/{created['id']}"
    with_orders = api.get(url, params={"recent_orders": 2})
    assert with_orders.status_code == 200, with_orders.text
    body = with_orders.json()
    recent = body.pop("recent_orders")
    assert [o["external_id"] for o in recent] == ["recent-order-3", "recent-order-2"]
    assert [[(i["line"], i["sku"], i["line_total"]) for i in o["items"]] for o in recent] == [
        [(1, "SKU-1", "10.00"), (2, "SKU-2", "20.00"), (3, "SKU-3", "30.00")],
        [(1, "SKU-1", "10.00"), (2, "SKU-2", "20.00")],
    ]
    assert [o["total"] for o in recent] == ["60.00", "30.00"]
    assert body == api.get(url).json()  # otherwise the same profile, and no `recent_orders` unless asked
    assert "recent_orders" not in api.get(url).json()
    assert with_orders.headers["ETag"] == api.get(url).headers["ETag"]
    assert (
        api.get(url, params={"recent_orders": 2}).json()["recent_orders"]
        == api.get(f"{url}/orders", params={"limit": 2}).json()
    )
    for wrong in ("-1", "51", "all"):
        problem = assert_problem(api.get(url, params={"recent_orders": wrong}), 422)
        assert "recent_orders" in str(problem)


def test_order_stats_count_placed_and_paid_orders_per_period(api: httpx.Client) -> None:
    base = Settings().base_currency
    _create(api, given_name="Trend", identities=[{"source": "shop", "external_id": "trend-1"}])
    orders = [  # (external id, placed at, status, unit price, quantity)
        ("t1", "2011-01-05T10:00:00Z", "paid", "10.00", 2),
        ("t2", "2011-01-20T10:00:00Z", "placed", "5.00", 1),
        ("t3", "2011-01-21T10:00:00Z", "refunded", "100.00", 1),  # not counted
        ("t4", "2011-03-02T10:00:00Z", "paid", "7.50", 1),
        ("t5", "2010-12-31T23:30:00Z", "paid", "1.00", 1),  # before the range
        ("t6", "2011-03-31T23:30:00-02:00", "paid", "1.00", 1),  # 1 April in UTC: after the range
    ]
    records = [
        {
            "source": "shop",
            "external_id": f"trend-{key}",
            "customer": {"source": "shop", "external_id": "trend-1"},
            "placed_at": at,
            "currency": base,
            "status": status,
            "items": [{"sku": "SKU-T", "quantity": quantity, "unit_price": price}],
        }
        for key, at, status, price, quantity in orders
    ]
    assert api.post("/v1/orders:batchUpsert", json={"records": records}).json()["counts"]["created"] == 6
    stats = api.get("/v1/orders:stats", params={"from": "2011-01-01", "to": "2011-03-31", "interval": "month"})
    assert stats.status_code == 200, stats.text
    body = stats.json()
    assert body["currency"] == base
    assert [(r["period"], r["orders"], r["revenue"]) for r in body["series"]] == [
        ("2011-01-01", 2, "25.00"),
        ("2011-02-01", 0, "0.00"),
        ("2011-03-01", 1, "7.50"),
    ]
    assert (body["totals"]["orders"], body["totals"]["revenue"]) == (3, "32.50")
    weekly = api.get("/v1/orders:stats", params={"from": "2011-01-03", "to": "2011-01-23", "interval": "week"}).json()
    assert [(r["period"], r["orders"]) for r in weekly["series"]] == [
        ("2011-01-03", 1),  # weeks start on Monday
        ("2011-01-10", 0),
        ("2011-01-17", 1),
    ]
    problem = assert_problem(api.get("/v1/orders:stats", params={"from": "2011-02-01", "to": "2011-01-01"}), 422)
    assert "from" in str(problem)
    too_many = api.get("/v1/orders:stats", params={"from": "2000-01-01", "to": "2011-01-01", "interval": "day"})
    assert "interval" in str(assert_problem(too_many, 422))
    assert_problem(api.get("/v1/orders:stats", params={"interval": "year"}), 422)
