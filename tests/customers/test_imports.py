"""File imports as jobs over HTTP, on a real database: counts and purchase facts against the files, the
error report, bad uploads, idempotent re-runs, the vectorised path against the batch API, and a service
killed in the middle of an import."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from sqlalchemy import text

from rapport import migrations
from rapport.config import Service
from rapport.db import make_engine, make_sessionmaker, transaction
from rapport.demo import generate
from services.customers import orders, sync
from services.customers.app import create_app
from services.customers.importing import bulk
from services.customers.importing.chunks import Failure
from services.customers.importing.report import Report
from tests.conftest import settings_for
from tests.support import TOKEN_HEADERS, ThreadedServer, assert_problem, start_service

CENT = Decimal("0.01")
SETTINGS = settings_for(Path("."))
FX = SETTINGS.fx_rates


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("demo")
    generate(folder / "csv", customers=300, seed=5, fmt="csv")
    generate(folder / "ndjson", customers=300, seed=5, fmt="ndjson")
    return {"csv": folder / "csv", "ndjson": folder / "ndjson"}


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[httpx.Client]:
    # Small chunks, so even the small files are imported in many transactions.
    settings = settings_for(tmp_path, {Service.customers: database_url}, import_chunk_bytes=16384)
    with (
        ThreadedServer(create_app(settings)) as server,
        httpx.Client(base_url=server.url, headers=TOKEN_HEADERS, timeout=60) as client,
    ):
        yield client


def _upload(
    api: httpx.Client, kind: str | None, content: bytes | Path, name: str = "file.csv", **fields: str
) -> httpx.Response:
    data = fields | ({"kind": kind} if kind else {})
    body = content.read_bytes() if isinstance(content, Path) else content
    return api.post("/v1/imports", data=data, files={"file": (name, body, "application/octet-stream")})


def _wait(api: httpx.Client, location: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = api.get(location).json()
        if job["status"] in ("succeeded", "failed"):
            return dict(job)
        time.sleep(0.05)
    raise TimeoutError(f"import {location} still running")


def _import(api: httpx.Client, kind: str, path: Path, **fields: str) -> dict[str, Any]:
    response = _upload(api, kind, path, path.name, **fields)
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/v1/imports/{response.json()['id']}"
    assert response.json()["status"] == "queued"
    job = _wait(api, response.headers["location"])
    assert job["status"] == "succeeded", job
    return job


def _report(api: httpx.Client, job: dict[str, Any]) -> pd.DataFrame:
    response = api.get(job["links"]["errors"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    from io import StringIO

    return pd.read_csv(StringIO(response.text), dtype={"line": int, "reasons": str, "record": str})


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            tables = ("customers", "orders", "order_items", "interactions", "changes")
            return {t: int(connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in tables}
    finally:
        engine.dispose()


def _lines(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _expected_facts(order_lines: pd.DataFrame) -> dict[str, tuple[int, Decimal, str | None, str | None]]:
    """customer external id -> (order count, total spent, first, last order time), computed from the file."""
    lines = order_lines.assign(
        amount=[
            Decimal(p).quantize(CENT) * int(q)
            for p, q in zip(order_lines["unit_price"], order_lines["quantity"], strict=True)
        ]
    )
    first = lines.groupby("order_external_id", sort=False).first()
    totals = lines.groupby("order_external_id", sort=False)["amount"].sum()
    first = first.assign(
        base=[
            (t.quantize(CENT) * FX[c]).quantize(CENT, ROUND_HALF_UP)
            for t, c in zip(totals, first["currency"], strict=True)
        ]
    )
    counted = first[first["status"].isin(["placed", "paid"])]
    facts = {}
    for customer, group in counted.groupby("customer_external_id"):
        stamps = pd.to_datetime(group["placed_at"], utc=True)
        facts[str(customer)] = (
            len(group),
            sum(group["base"], Decimal(0)),
            stamps.min().isoformat(),
            stamps.max().isoformat(),
        )
    return facts


def _stored_facts(api: httpx.Client) -> dict[str, tuple[int, Decimal, str | None, str | None]]:
    found = {}
    cursor = None
    while True:
        page = api.get("/v1/customers", params={"limit": 1000, **({"cursor": cursor} if cursor else {})}).json()
        for customer in page["items"]:
            facts = customer["purchases"]
            stamps = [
                pd.Timestamp(facts[k]).isoformat() if facts[k] else None for k in ("first_order_at", "last_order_at")
            ]
            found[customer["identities"][0]["external_id"]] = (
                facts["order_count"],
                Decimal(facts["total_spent"]),
                *stamps,
            )
        cursor = page["next_cursor"]
        if cursor is None:
            return {k: v for k, v in found.items() if v[0]}


def _import_all(api: httpx.Client, folder: Path, fmt: str = "csv") -> dict[str, dict[str, Any]]:
    return {kind: _import(api, kind, folder / f"{kind}.{fmt}") for kind in ("customers", "orders", "interactions")}


def test_import_of_a_data_set_matches_the_files(api: httpx.Client, demo: dict[str, Path], database_url: str) -> None:
    jobs = _import_all(api, demo["csv"])
    files = {kind: _lines(demo["csv"] / f"{kind}.csv") for kind in jobs}
    for kind, job in jobs.items():
        assert (job["processed"], job["failed"], job["progress"]) == (len(files[kind]), 0, 100.0)
        assert job["committed_line"] == len(files[kind]) + 1  # the header is line 1
    counts = _counts(database_url)
    assert counts["customers"] == len(files["customers"])
    assert counts["orders"] == files["orders"]["order_external_id"].nunique()
    assert counts["order_items"] == len(files["orders"])
    assert counts["interactions"] == len(files["interactions"])
    assert _stored_facts(api) == _expected_facts(files["orders"])
    listed = api.get("/v1/imports", params={"limit": 2}).json()
    assert [job["kind"] for job in listed["items"]] == ["interactions", "orders"]
    rest = api.get("/v1/imports", params={"limit": 2, "cursor": listed["next_cursor"]}).json()
    assert ([job["kind"] for job in rest["items"]], rest["next_cursor"]) == (["customers"], None)


def test_importing_again_as_csv_or_ndjson_duplicates_nothing(
    api: httpx.Client, demo: dict[str, Path], database_url: str
) -> None:
    _import_all(api, demo["csv"])
    before = _counts(database_url)
    again = _import(api, "orders", demo["csv"] / "orders.csv")
    assert (again["processed"], again["failed"]) == (len(_lines(demo["csv"] / "orders.csv")), 0)
    ndjson = _import_all(api, demo["ndjson"], "ndjson")
    assert all(job["failed"] == 0 for job in ndjson.values())
    # Same rows, no customer or order rewritten: the change feed has nothing new either.
    assert _counts(database_url) == before
    versions = {c["version"] for c in api.get("/v1/customers", params={"limit": 1000}).json()["items"]}
    assert versions == {1}


def test_reimport_with_changed_orders_refreshes_the_facts_of_every_customer_involved(
    api: httpx.Client, demo: dict[str, Path], database_url: str, tmp_path: Path
) -> None:
    _import(api, "customers", demo["csv"] / "customers.csv")
    _import(api, "orders", demo["csv"] / "orders.csv")
    before = _counts(database_url)
    original = _lines(demo["csv"] / "orders.csv")
    lines = original.copy()
    counted = lines[lines["status"].isin(["placed", "paid"])]
    # A loses every counted order (all cancelled), one order of B moves to C.
    a, b, c = counted["customer_external_id"].drop_duplicates().iloc[:3]
    lines.loc[lines["customer_external_id"] == a, "status"] = "cancelled"
    moved = counted[counted["customer_external_id"] == b]["order_external_id"].iloc[0]
    lines.loc[lines["order_external_id"] == moved, "customer_external_id"] = c
    lines.to_csv(tmp_path / "orders.csv", index=False, quoting=1)
    job = _import(api, "orders", tmp_path / "orders.csv")
    assert (job["processed"], job["failed"]) == (len(lines), 0)
    facts = _stored_facts(api)
    assert facts == _expected_facts(lines)
    assert a not in facts  # cleared: no counted order left
    updated = lines.loc[(lines != original).any(axis=1), "order_external_id"].nunique()
    after = _counts(database_url)
    # One change event per updated order; no order or item stored twice.
    assert after["changes"] - before["changes"] == updated
    assert (after["orders"], after["order_items"]) == (before["orders"], before["order_items"])


ORPHANS = """
SELECT (SELECT count(*) FROM order_items i LEFT JOIN orders o ON o.id = i.order_id WHERE o.id IS NULL),
       (SELECT count(*) FROM orders o LEFT JOIN customers c ON c.id = o.customer_id WHERE c.id IS NULL)
"""


@pytest.mark.parametrize("may_skip_triggers", [True, False], ids=["triggers-skipped", "triggers-run"])
def test_orders_are_stored_alike_whether_or_not_the_role_may_skip_foreign_key_triggers(
    api: httpx.Client,
    demo: dict[str, Path],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    may_skip_triggers: bool,
) -> None:
    # PostgreSQL skips the per-row foreign key triggers only for a role allowed to set session_replication_role.
    monkeypatch.setattr(bulk, "_may_skip_triggers", lambda session: may_skip_triggers)
    _import(api, "customers", demo["csv"] / "customers.csv")
    job = _import(api, "orders", demo["csv"] / "orders.csv")
    lines = _lines(demo["csv"] / "orders.csv")
    assert (job["processed"], job["failed"]) == (len(lines), 0)
    assert _stored_facts(api) == _expected_facts(lines)
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            assert tuple(connection.execute(text(ORPHANS)).one()) == (0, 0)
    finally:
        engine.dispose()


def test_bad_lines_are_reported_and_the_rest_is_imported(api: httpx.Client, database_url: str) -> None:
    customers = (
        "source,external_id,email,income\n"
        "shop,c1,a@x.com,52000\n"
        "shop,c2,not-an-email,\n"  # line 3
        "shop,c3,c@x.com,-5\n"  # line 4
        "shop,c4,d@x.com,\n"
    )
    response = _upload(api, "customers", customers.encode(), "customers.csv")
    job = _wait(api, response.headers["location"])
    assert (job["status"], job["processed"], job["failed"]) == ("succeeded", 2, 2)
    report = _report(api, job)
    assert report["line"].tolist() == [3, 4]
    assert report["reasons"][0].startswith("email: not a valid email address")
    assert report["record"][0] == "shop,c2,not-an-email,"
    header = "source,order_external_id,customer_external_id,placed_at,channel,currency,status,sku,quantity,unit_price\n"
    lines = [
        "shop,o1,c1,2025-01-01T10:00:00Z,web,USD,paid,S1,1,10.00",  # 2
        "shop,o2,c1,2025-01-02T10:00:00Z,web,USD,paid,S1,0,10.00",  # 3: quantity
        "shop,o3,c1,2025-01-03T10:00:00Z,web,XXX,paid,S1,1,10.00",  # 4: currency
        "shop,o4,nobody,2025-01-04T10:00:00Z,web,USD,paid,S1,1,10.00",  # 5: unknown customer
        "shop,o5,c1,2025-02-30T10:00:00Z,web,USD,paid,S1,1,10.00",  # 6: no such day
        "shop,o6,c1,2025-01-06T10:00:00Z,web,USD,paid,S1,1",  # 7: a field short
        "shop,o7,c1,2025-01-07T10:00:00Z,web,USD,paid,S1,1,10.00",  # 8: its order's line 9 is bad
        "shop,o7,c1,2025-01-07T10:00:00Z,web,GBP,paid,S2,1,10.00",  # 9: currency differs within the order
        "shop,o8,c4,2025-01-08T10:00:00Z,,USD,,S1,2,5.50",  # 10
    ]
    body = (header + "\n".join(lines) + "\n").encode() + b"shop,o9,c1,2025-01-09T10:00:00Z,w\xffb,USD,paid,S1,1,1\n"
    response = _upload(api, "orders", body, "orders.csv")
    job = _wait(api, response.headers["location"])
    assert (job["status"], job["processed"], job["failed"]) == ("succeeded", 2, 8)
    report = _report(api, job)
    reasons = dict(zip(report["line"], report["reasons"], strict=True))
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9, 11]
    assert reasons[3].startswith("quantity: Input should be greater than or equal to 1")
    assert reasons[4].startswith("currency: no exchange rate for XXX")
    assert reasons[5] == "customer_external_id: unknown customer shop/nobody; import the customer first"
    assert reasons[6].startswith("placed_at: ")
    assert reasons[7] == "expected 10 fields, got 9"
    assert reasons[8] == "the order's line 9 is rejected"
    assert reasons[9] == "currency: differs from line 8, the order's first line"
    assert reasons[11].startswith("not UTF-8 text")
    assert report["record"][report["line"] == 5].item() == lines[3]
    assert _counts(database_url)["orders"] == 2


def test_ndjson_records_are_checked_line_by_line(api: httpx.Client) -> None:
    body = b"\n".join(
        [
            b'{"source": "app", "external_id": "u1", "email": "U1@x.com", "tags": ["VIP", "vip"], "consents": {"email": true}}',
            b'{"source": "app", "external_id": "u2", "attributes": {"level": 3}, "shoe_size": 44}',  # 2: unknown field
            b"",
            b'{"source": "app", "external_id": "u3", "email": ',  # 4: broken JSON
            b'["not", "an", "object"]',  # 5
            b'{"source": "app", "email": "u4@x.com"}',  # 6: no external id
            b'{"source": "app", "external_id": "u5", "attributes": {"level": 3}, "income": 52000}',
        ]
    )
    job = _wait(api, _upload(api, "customers", body, "people.jsonl").headers["location"])
    assert (job["format"], job["status"], job["processed"], job["failed"]) == ("ndjson", "succeeded", 2, 4)
    report = _report(api, job)
    assert report["line"].tolist() == [2, 4, 5, 6]
    assert report["reasons"].tolist()[0] == "shoe_size: unknown field"
    assert report["reasons"].tolist()[1].startswith("not valid JSON")
    assert report["reasons"].tolist()[3].startswith("external_id: ")
    people = {c["identities"][0]["external_id"]: c for c in api.get("/v1/customers").json()["items"]}
    assert people["u1"]["tags"] == ["vip"]
    assert people["u1"]["consents"]["email"]["granted"] is True
    assert people["u5"]["attributes"] == {"level": 3}
    assert people["u5"]["income_band"] == "middle"
    changed = (
        b'{"source": "app", "external_id": "u1", "email": "new@x.com", "tags": ["vip"], "consents": {"email": true}}'
    )
    job = _wait(api, _upload(api, "customers", changed, "people.ndjson").headers["location"])
    assert (job["processed"], job["failed"]) == (1, 0)
    again = api.get(f"/v1/customers/{people['u1']['id']}").json()
    assert (again["email"], again["version"], again["tags"]) == ("new@x.com", 2, ["vip"])


def test_a_partner_imports_only_its_own_source(api: httpx.Client) -> None:
    partner = {"X-Rapport-Source": "shop"}
    rows = b"source,external_id\nshop,1\ncrm,2\n,3\n"
    response = api.post("/v1/imports", files={"file": ("c.csv", rows)}, data={"kind": "customers"}, headers=partner)
    job = _wait(api, response.headers["location"])
    assert (job["source"], job["processed"], job["failed"]) == ("shop", 2, 1)
    assert _report(api, job)["reasons"].tolist() == ["source: differs from this import's source 'shop'"]
    response = api.post(
        "/v1/imports", files={"file": ("c.csv", rows)}, data={"kind": "customers", "source": "crm"}, headers=partner
    )
    assert_problem(response, 403)


@pytest.mark.parametrize(
    ("kind", "content", "name", "fields", "status", "detail"),
    [
        ("parcels", b"source,external_id\ns,1\n", "x.csv", {}, 422, "kind"),
        ("customers", b"source,external_id\ns,1\n", "x.csv", {"format": "xml"}, 422, "unknown format"),
        ("customers", b"", "x.csv", {}, 422, "empty"),
        ("customers", b"source,external_id\n", "x.csv", {}, 422, "no data rows"),
        (
            "orders",
            b"source,order_external_id,sku\ns,1,a\n",
            "x.csv",
            {},
            422,
            "missing required column(s): customer_external_id",
        ),
        ("customers", b"source,external_id,shoe_size\ns,1,9\n", "x.csv", {}, 422, "unknown column(s): shoe_size"),
        ("customers", b"external_id,email\n1,a@x.com\n", "x.csv", {}, 422, "source"),
        ("customers", b"source,external_id,given_name\ns,1,Jos\xe9\ns,2,Ann\n", "x.csv", {}, 202, ""),
        ("customers", b"sour\xe7e,external_id\ns,1\n", "x.csv", {}, 422, "not UTF-8"),
        ("customers", b"[1, 2]\n", "x.ndjson", {}, 422, "JSON object"),
        ("customers", b"%PDF-1.4", "x.pdf", {}, 415, "CSV or NDJSON"),
        ("customers", b"source,external_id\ns ource,1\n", "x.csv", {}, 422, "source"),
    ],
)
def test_bad_uploads_are_refused_with_a_problem(
    api: httpx.Client, kind: str, content: bytes, name: str, fields: dict[str, str], status: int, detail: str
) -> None:
    media = "application/pdf" if name.endswith(".pdf") else "application/octet-stream"
    response = api.post("/v1/imports", data={"kind": kind, **fields}, files={"file": (name, content, media)})
    if status == 202:  # a bad byte in a data line fails that line, not the upload
        job = _wait(api, response.headers["location"])
        assert (job["processed"], job["failed"]) == (1, 1)
        return
    body = assert_problem(response, status)
    assert detail in str(body["detail"])
    assert api.get("/v1/imports").json()["items"] == []


def test_uploads_that_are_not_files_are_refused(api: httpx.Client) -> None:
    assert_problem(api.post("/v1/imports", json={"kind": "customers"}), 415)
    body = assert_problem(api.post("/v1/imports", data={"kind": "customers"}, files={}), 415)
    assert "multipart" in str(body["detail"])
    body = assert_problem(api.post("/v1/imports", files={"kind": (None, "customers"), "x": (None, "1")}), 422)
    assert "file" in str(body["detail"])
    assert_problem(api.get("/v1/imports/00000000-0000-0000-0000-000000000000"), 404)
    assert_problem(api.get("/v1/imports", params={"cursor": "nonsense"}), 422)


def test_interactions_are_listed_newest_first_by_page_and_type(api: httpx.Client, demo: dict[str, Path]) -> None:
    _import(api, "customers", demo["csv"] / "customers.csv")
    _import(api, "interactions", demo["csv"] / "interactions.csv")
    lines = _lines(demo["csv"] / "interactions.csv")
    busiest = lines["customer_external_id"].value_counts().index[0]
    mine = lines[lines["customer_external_id"] == busiest]
    customer = next(
        c
        for c in api.get("/v1/customers", params={"limit": 1000}).json()["items"]
        if c["identities"][0]["external_id"] == busiest
    )
    seen, cursor = [], None
    while True:
        page = api.get(
            f"/v1/customers/{customer['id']}/interactions",
            params={"limit": 3, **({"cursor": cursor} if cursor else {})},
        )
        seen.extend(page.json()["items"])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(mine)
    stamps = [item["occurred_at"] for item in seen]
    assert stamps == sorted(stamps, reverse=True)
    kind = mine["type"].iloc[0]
    typed = api.get(f"/v1/customers/{customer['id']}/interactions", params={"type": kind, "limit": 1000}).json()
    assert {item["type"] for item in typed["items"]} == {kind}
    assert len(typed["items"]) == int((mine["type"] == kind).sum())
    assert isinstance(typed["items"][0]["properties"], dict)


MESSY_CUSTOMERS = """\
"demo","X1","  mary ","O'NEIL","Mary.ONeil@Example.COM","+44 20 7946 0958","F","05.03.1990","52,000",,"nurse","master","GB","","london","2024-01-01"
"demo","X2","ＬＩ","ming","LI.Ming@QQ.com","138 1234 5678","男","1988年3月5日","1e5",,"engineer","本科","CN",,"shanghai","2024-01-01T10:00:00+08:00"
"demo","X3",,,"not-an-email",,,,,,,,,,,
"demo","X4","Ann","Lee","ann@x.com","(212) 555-0100","female","03/25/1990","73800.555","high","",,"US","NY","new york","1711767720"
"""
MESSY_ORDERS = """\
"demo","XO1","X2","2025-01-02T10:00:00+08:00"," Web  App ","cny","paid"," SKU-1 ","2.0","5.695"
"demo","XO1","X2","2025-01-02T10:00:00+08:00"," Web  App ","cny","paid","SKU-2","1","1e2"
"demo","XO2","X2","1711767720","store","USD",,"SKU-3","3","0.005"
"demo","XO3","X2","2025-02-30","web","USD","paid","SKU-3","1","1"
"demo","XO4","NOBODY","2025-01-01","web","USD","paid","SKU-3","1","1"
"demo","XO5","X4","2025-03-01 12:00","web","USD","refunded","SKU-4","1","10"
"demo","XO6","X4","2025-03-02","web","XXX","paid","SKU-4","1","10"
"demo","XO7","X4","2025-03-03T00:00:00Z","phone","GBP","placed","SKU-4","1000000","0.01"
"""


def _stored(url: str) -> dict[str, Any]:
    """Everything the two write paths must agree on, keyed by external ids (not by generated ids)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            customers = pd.read_sql(
                text("SELECT i.external_id, c.* FROM customers c JOIN identities i ON i.customer_id = c.id"), connection
            )
            placed = pd.read_sql(
                text(
                    "SELECT o.*, i.external_id AS customer_ref FROM orders o JOIN identities i ON i.customer_id = o.customer_id"
                ),
                connection,
            )
            items = pd.read_sql(
                text(
                    "SELECT o.external_id, it.line, it.sku, it.quantity, it.unit_price FROM order_items it JOIN orders o ON o.id = it.order_id"
                ),
                connection,
            )
    finally:
        engine.dispose()
    generated = ["id", "created_at", "updated_at", "customer_id", "merged_into"]
    customers = (
        customers.drop(columns=[c for c in generated if c in customers.columns]).set_index("external_id").sort_index()
    )
    placed = placed.drop(columns=[c for c in generated if c in placed.columns]).set_index("external_id").sort_index()
    items = items.sort_values(["external_id", "line"]).reset_index(drop=True)
    return {"customers": customers, "orders": placed, "items": items}


def _batch_records(customers_csv: Path, orders_csv: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    people = pd.read_csv(customers_csv, dtype=str, keep_default_na=False).rename(columns={"created_at": "signed_up_at"})
    customer_records = [{k: (v if v != "" else None) for k, v in row.items()} for row in people.to_dict("records")]
    lines = pd.read_csv(orders_csv, dtype=str, keep_default_na=False)
    order_records = []
    for external_id, group in lines.groupby("order_external_id", sort=False):
        first = group.iloc[0]
        header = {
            "source": first["source"],
            "external_id": external_id,
            "customer": {"source": first["source"], "external_id": first["customer_external_id"]},
            "placed_at": first["placed_at"],
            "channel": first["channel"] or None,
            "currency": first["currency"],
            "status": first["status"],
            "items": [
                {"sku": s, "quantity": q, "unit_price": p}
                for s, q, p in zip(group["sku"], group["quantity"], group["unit_price"], strict=True)
            ],
        }
        order_records.append({k: v for k, v in header.items() if v != ""})
    return customer_records, order_records


def test_vectorised_import_stores_what_the_batch_api_stores(
    api: httpx.Client, demo: dict[str, Path], database_url: str, make_database_url: Callable[[str], str], tmp_path: Path
) -> None:
    customers_csv, orders_csv = tmp_path / "customers.csv", tmp_path / "orders.csv"
    customers_csv.write_text((demo["csv"] / "customers.csv").read_text() + MESSY_CUSTOMERS)
    orders_csv.write_text((demo["csv"] / "orders.csv").read_text() + MESSY_ORDERS)
    imported = [_import(api, "customers", customers_csv), _import(api, "orders", orders_csv)]
    assert [job["failed"] for job in imported] == [2, 3]  # X1 (income "52,000"), X3; XO3, XO4, XO6
    batch_url = make_database_url("batch")
    migrations.upgrade(Service.customers, batch_url)
    engine = make_engine(batch_url)
    customer_records, order_records = _batch_records(customers_csv, orders_csv)
    with transaction(make_sessionmaker(engine)) as session:
        results = sync.upsert_customers(session, customer_records, default_region=SETTINGS.default_phone_region)
        assert sorted(r.external_id for r in results if r.status == "error") == ["X1", "X3"]
        results = orders.upsert_orders(session, order_records, fx_rates=FX)
        assert sorted(r.external_id for r in results if r.status == "error") == ["XO3", "XO4", "XO6"]
    engine.dispose()
    mine, theirs = _stored(database_url), _stored(batch_url)
    for table in ("customers", "orders", "items"):
        pd.testing.assert_frame_equal(mine[table], theirs[table], check_like=True, obj=table)
    xo1 = mine["items"][mine["items"]["external_id"] == "XO1"]
    assert [Decimal(str(p)).quantize(CENT) for p in xo1["unit_price"]] == [Decimal("5.70"), Decimal("100.00")]
    assert xo1["sku"].tolist() == ["SKU-1", "SKU-2"]


def test_report_is_cut_back_to_the_committed_lines(tmp_path: Path) -> None:
    report = Report(tmp_path / "errors.csv")
    report.append([Failure(5, 'a,"b"\nc', ["x: bad"]), Failure(10, "d", ["y: bad; z: bad"])])
    report.append([Failure(20, "e", ["w: bad"])])
    report.cut_after(10)
    kept = pd.read_csv(report.path)
    assert kept["line"].tolist() == [5, 10]
    assert kept["record"][0] == 'a,"b"\nc'
    report.cut_after(2)
    assert report.size() == 0
    report.append([Failure(30, "f", ["v: bad"])])
    assert pd.read_csv(report.path)["line"].tolist() == [30]


def _order_file_with_bad_lines(source: Path, target: Path) -> set[int]:
    """The orders file with a bad quantity on every 1500th line; returns the lines the job must reject."""
    lines = _lines(source)
    bad = lines.index[lines.index % 1500 == 700]
    lines.loc[bad, "quantity"] = "-1"
    lines.to_csv(target, index=False)
    rejected_orders = set(lines.loc[bad, "order_external_id"])
    return {int(i) + 2 for i in lines.index[lines["order_external_id"].isin(rejected_orders)]}


def test_killed_import_resumes_and_stores_every_line_once(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    data = tmp_path_factory.mktemp("kill")
    generate(data, customers=3000, seed=9, fmt="csv")
    expected_bad = _order_file_with_bad_lines(data / "orders.csv", tmp_path / "orders.csv")
    var_dir = tmp_path / "var"
    env = {"RAPPORT_IMPORT_CHUNK_BYTES": "32768"}
    service = start_service(Service.customers, database_url, var_dir=var_dir, **env)
    try:
        with httpx.Client(base_url=service.url, headers=TOKEN_HEADERS, timeout=60) as client:
            _import(client, "customers", data / "customers.csv")
            total = len(_lines(tmp_path / "orders.csv"))
            location = _upload(client, "orders", tmp_path / "orders.csv", "orders.csv").headers["location"]
            deadline = time.monotonic() + 30
            while True:
                job = client.get(location).json()
                assert job["status"] in ("queued", "running"), job
                if 0 < job["processed"] < total // 2:
                    break
                assert time.monotonic() < deadline, job
                time.sleep(0.01)
        os.kill(service.process.pid, signal.SIGKILL)
        service.process.wait()
    finally:
        service.stop()
    killed_at = job["committed_line"]
    service = start_service(Service.customers, database_url, var_dir=var_dir, **env)
    try:
        with httpx.Client(base_url=service.url, headers=TOKEN_HEADERS, timeout=60) as client:
            job = _wait(client, location)
            assert job["status"] == "succeeded", job
            assert (job["processed"] + job["failed"], job["failed"]) == (total, len(expected_bad))
            report = _report(client, job)
            assert report["line"].tolist() == sorted(expected_bad)  # each once, none lost with the killed chunk
            lines = _lines(tmp_path / "orders.csv")
            good = lines.drop(index=[line - 2 for line in expected_bad])
            counts = _counts(database_url)
            assert (counts["orders"], counts["order_items"]) == (good["order_external_id"].nunique(), len(good))
            assert _stored_facts(client) == _expected_facts(good)
            log = service.log()
    finally:
        service.stop()
    assert killed_at < total, "the import finished before it was killed; make the file bigger"
    assert "resuming import jobs" in log
