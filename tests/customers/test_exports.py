"""Streaming exports and the change feed, on a real database behind real uvicorn."""

from __future__ import annotations

import io
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from bench.customers_export import load_order_lines, peak_rss_kib
from rapport import migrations
from rapport.config import Service, Settings
from rapport.db import drop_database, ensure_database, make_engine, make_sessionmaker, transaction
from services.customers import exports, store
from services.customers.exports import encoders as export_encoders
from services.customers.exports import rows as export_rows
from services.customers.models import Change, Customer, Interaction
from tests.conftest import BACKEND, POSTGRES_SERVER
from tests.support import TOKEN_HEADERS, assert_problem, start_service

FX = Settings().fx_rates
CENT = Decimal("0.01")
FORMATS = ["ndjson", "csv", "parquet"]
CUSTOMERS: list[dict[str, Any]] = [
    {
        "source": "shop",
        "external_id": "c1",
        "given_name": "Wei",
        "family_name": "Wang",
        "email": "wei@example.com",
        "city": "上海",
        "birth_date": "1990-03-05",
        "income": "12000.50",
        "signed_up_at": "2023-05-01T08:00:00Z",
        "tags": ["vip", "newsletter"],
        "attributes": {"tier": 2, "note": 'says "hi",\nthen leaves'},
        "consents": {"email": True, "sms": False},
    },
    {"source": "shop", "external_id": "c2", "given_name": "Ana", "city": "Lisbon"},
    {"source": "shop", "external_id": "c3"},
]
# (external id, customer, placed_at, currency, status, [(sku, quantity, unit price)])
ORDERS = [
    ("o1", "c1", "2026-01-10T09:00:00+08:00", "CNY", "paid", [("A", 2, "9.99"), ("B", 1, "100")]),
    ("o2", "c1", "2026-03-02T12:00:00Z", "USD", "placed", [("A", 1, "1.25")]),
    ("o3", "c2", "2026-02-15T00:00:00Z", "EUR", "refunded", [("C", 3, "0.35")]),
    ("o4", "c3", "2026-01-20T00:00:00Z", "JPY", "paid", [("D", 1, "1999"), ("E", 7, "0.5")]),
]


def _batch(api: httpx.Client, path: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    response = api.post(path, json={"records": records})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert all(result["status"] != "error" for result in results), results
    return list(results)


def _order_record(external_id: str, customer: str, placed_at: str, currency: str, status: str, items: Any) -> dict:
    return {
        "source": "shop",
        "external_id": external_id,
        "customer": {"source": "shop", "external_id": customer},
        "placed_at": placed_at,
        "currency": currency,
        "status": status,
        "channel": "web",
        "items": [{"sku": sku, "quantity": quantity, "unit_price": price} for sku, quantity, price in items],
    }


def _seed(api: httpx.Client) -> dict[str, str]:
    """The customers and orders above, written through the batch API; returns customer ids by external id."""
    results = _batch(api, "/v1/customers:batchUpsert", CUSTOMERS)
    _batch(api, "/v1/orders:batchUpsert", [_order_record(*order) for order in ORDERS])
    return {record["external_id"]: result["id"] for record, result in zip(CUSTOMERS, results, strict=True)}


def _export(api: httpx.Client, entity: str, fmt: str, **params: str) -> httpx.Response:
    response = api.get(f"/v1/exports/{entity}", params={"format": fmt, **params})
    assert response.status_code == 200, response.text
    return response


def _read(response: httpx.Response, fmt: str, entity: str) -> list[dict[str, Any]]:
    """The exported rows as a consumer reads them (pandas, pyarrow), normalised to Python values."""
    body = io.BytesIO(response.content)
    if fmt == "parquet":
        rows = pq.read_table(body).to_pylist()
    elif fmt == "csv":
        rows = pd.read_csv(body, dtype=str, keep_default_na=False).to_dict("records")
    else:
        frame = pd.read_json(body, lines=True, dtype=False) if response.content else None
        rows = [] if frame is None else frame.astype(object).where(frame.notna(), None).to_dict("records")
    kinds = {column.name: column.kind for column in exports.COLUMNS[exports.ExportEntity(entity)]}
    return [{name: _normalise(kinds[name], value) for name, value in row.items()} for row in rows]


def _normalise(kind: str, value: Any) -> Any:
    if value is None or value == "":
        return None
    if kind == "money":
        return Decimal(str(value))
    if kind == "timestamp":
        return value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if kind == "date":
        return value if isinstance(value, date) else date.fromisoformat(value)
    if kind == "int":
        return int(value)
    if kind == "bool":
        return value if isinstance(value, bool) else {"true": True, "false": False}[value]
    if kind in ("json", "tags"):
        return orjson.loads(value) if isinstance(value, str) else value
    return value


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _expected_lines(customer_ids: dict[str, str]) -> list[dict[str, Any]]:
    lines = []
    for order_id, (external_id, customer, placed_at, currency, status, items) in enumerate(ORDERS, start=1):
        for line, (sku, quantity, price) in enumerate(items, start=1):
            total = Decimal(price).quantize(CENT) * quantity
            lines.append(
                {
                    "order_id": order_id,
                    "order_source": "shop",
                    "order_external_id": external_id,
                    "customer_id": customer_ids[customer],
                    "placed_at": _utc(placed_at),
                    "channel": "web",
                    "status": status,
                    "currency": currency,
                    "line": line,
                    "sku": sku,
                    "quantity": quantity,
                    "unit_price": Decimal(price).quantize(CENT),
                    "line_total": total,
                    "line_total_base": (total * FX[currency]).quantize(CENT, ROUND_HALF_UP),
                }
            )
    return lines


@pytest.mark.parametrize("fmt", FORMATS)
def test_order_lines_round_trip_in_every_format(api: httpx.Client, fmt: str) -> None:
    customer_ids = _seed(api)
    response = _export(api, "orders", fmt)
    media = {"ndjson": "application/x-ndjson", "csv": "text/csv", "parquet": "application/vnd.apache.parquet"}
    assert response.headers["content-type"].startswith(media[fmt])
    assert response.headers["content-disposition"].startswith('attachment; filename="orders-')
    assert response.headers["content-disposition"].endswith(f'.{fmt}"')
    assert response.headers["x-base-currency"] == "USD"
    assert _read(response, fmt, "orders") == _expected_lines(customer_ids)


@pytest.mark.parametrize("fmt", FORMATS)
def test_customers_round_trip_with_profile_and_purchase_facts(api: httpx.Client, fmt: str) -> None:
    customer_ids = _seed(api)
    rows = {row["id"]: row for row in _read(_export(api, "customers", fmt), fmt, "customers")}
    assert set(rows) == set(customer_ids.values())
    for external_id, customer_id in customer_ids.items():
        stored = api.get(f"/v1/customers/{customer_id}").json()
        row = rows[customer_id]
        for name in ("given_name", "family_name", "email", "phone", "gender", "city", "income_band", "address"):
            assert row[name] == stored[name], (external_id, name)
        assert row["birth_date"] == (date.fromisoformat(stored["birth_date"]) if stored["birth_date"] else None)
        assert row["income"] == (Decimal(stored["income"]) if stored["income"] else None)
        assert row["tags"] == stored["tags"]
        assert row["attributes"] == stored["attributes"]
        for consent in ("email", "sms", "personalisation"):
            assert row[f"consent_{consent}"] == stored["consents"][consent]["granted"]
        for name in ("signed_up_at", "created_at", "updated_at"):
            assert row[name] == (_utc(stored[name]) if stored[name] else None)
        facts = stored["purchases"]
        assert row["order_count"] == facts["order_count"]
        assert row["total_spent"] == Decimal(facts["total_spent"])
        assert row["first_order_at"] == (_utc(facts["first_order_at"]) if facts["first_order_at"] else None)
        assert row["last_order_at"] == (_utc(facts["last_order_at"]) if facts["last_order_at"] else None)
    assert rows[customer_ids["c1"]]["order_count"] == 2
    assert rows[customer_ids["c2"]]["order_count"] == 0  # a refund is not a purchase


def _add_interactions(database_url: str, rows: list[tuple[str, str, str, dict[str, Any]]]) -> None:
    """Interactions (customer id, type, occurred_at, properties) written straight into the database."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(Interaction),
                [
                    {
                        "customer_id": uuid.UUID(customer),
                        "type": kind,
                        "occurred_at": _utc(at),
                        "properties": properties,
                        "source": "web",
                        "dedup_key": uuid.uuid4().hex,
                    }
                    for customer, kind, at, properties in rows
                ],
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize("fmt", FORMATS)
def test_interactions_round_trip(api: httpx.Client, database_url: str, fmt: str) -> None:
    ids = _seed(api)
    given: list[tuple[str, str, str, dict[str, Any]]] = [
        (ids["c1"], "page_view", "2026-01-05T10:00:00Z", {"page": "/p/A"}),
        (ids["c2"], "campaign_response", "2026-01-06T11:30:00.250000Z", {"campaign": "spring", "clicked": True}),
        (ids["c1"], "app_open", "2026-02-01T00:00:00Z", {}),
    ]
    _add_interactions(database_url, given)
    rows = _read(_export(api, "interactions", fmt), fmt, "interactions")
    assert [
        {key: row[key] for key in ("customer_id", "type", "occurred_at", "source", "properties")} for row in rows
    ] == [
        {"customer_id": c, "type": k, "occurred_at": _utc(at), "source": "web", "properties": p}
        for c, k, at, p in given
    ]
    assert [row["id"] for row in rows] == sorted(row["id"] for row in rows)


def test_parquet_columns_are_typed_and_say_the_base_currency(api: httpx.Client) -> None:
    _seed(api)
    table = pq.read_table(io.BytesIO(_export(api, "orders", "parquet").content))
    schema = table.schema
    assert schema.field("placed_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("line_total_base").type == pa.decimal128(20, 2)
    assert schema.field("quantity").type == pa.int64()
    assert schema.metadata[b"rapport.base_currency"] == b"USD"
    customers = pq.read_table(io.BytesIO(_export(api, "customers", "parquet").content)).schema
    assert customers.field("tags").type == pa.list_(pa.string())
    assert customers.field("birth_date").type == pa.date32()
    assert customers.field("consent_email").type == pa.bool_()


def test_since_and_until_bound_placed_at(api: httpx.Client) -> None:
    _seed(api)

    def orders(**params: str) -> list[str]:
        rows = _read(_export(api, "orders", "ndjson", **params), "ndjson", "orders")
        return sorted({row["order_external_id"] for row in rows})

    assert orders() == ["o1", "o2", "o3", "o4"]
    assert orders(since="2026-01-20T00:00:00Z") == ["o2", "o3", "o4"]  # inclusive
    assert orders(until="2026-01-20T00:00:00Z") == ["o1"]  # exclusive
    assert orders(since="2026-01-15", as_of="2026-02-16T00:00:00+00:00") == ["o3", "o4"]
    # o1 was placed at 01:00 UTC: an offset is honoured, and a time without one is UTC.
    assert orders(since="2026-01-10T02:00:00+01:00") == ["o1", "o2", "o3", "o4"]
    assert orders(since="2026-01-10T02:00:01+01:00") == ["o2", "o3", "o4"]
    assert orders(since="2026-01-10T01:00:01") == ["o2", "o3", "o4"]


def test_customers_as_of_a_date_carry_the_purchase_facts_of_that_date(api: httpx.Client) -> None:
    ids = _seed(api)
    rows = {row["id"]: row for row in _read(_export(api, "customers", "csv", until="2026-02-01"), "csv", "customers")}
    # c1 and c3 bought before February; c2 (no sign-up date, no purchase) became a customer today.
    assert set(rows) == {ids["c1"], ids["c3"]}
    c1 = rows[ids["c1"]]
    assert (c1["order_count"], c1["first_order_at"], c1["last_order_at"]) == (1, _utc(ORDERS[0][2]), _utc(ORDERS[0][2]))
    assert c1["total_spent"] == ((Decimal("19.98") + Decimal("100.00")) * FX["CNY"]).quantize(CENT, ROUND_HALF_UP)
    later = {row["id"]: row for row in _read(_export(api, "customers", "csv", since="2026-01-15"), "csv", "customers")}
    assert set(later) == {ids["c2"], ids["c3"]}  # c1 signed up in 2023


def test_exports_leave_out_merged_and_erased_customers_but_keep_their_orders(
    api: httpx.Client, database_url: str
) -> None:
    ids = _seed(api)
    _add_interactions(database_url, [(ids[c], "app_open", "2026-01-01T00:00:00Z", {}) for c in ("c1", "c2", "c3")])
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                update(Customer).where(Customer.id == uuid.UUID(ids["c2"])).values(erased_at=store.now())
            )
            connection.execute(
                update(Customer).where(Customer.id == uuid.UUID(ids["c3"])).values(merged_into=uuid.UUID(ids["c1"]))
            )
    finally:
        engine.dispose()
    customers = _read(_export(api, "customers", "ndjson"), "ndjson", "customers")
    assert [row["id"] for row in customers] == [ids["c1"]]
    interactions = _read(_export(api, "interactions", "ndjson"), "ndjson", "interactions")
    assert [row["customer_id"] for row in interactions] == [ids["c1"]]
    lines = _read(_export(api, "orders", "ndjson"), "ndjson", "orders")
    assert {row["order_external_id"] for row in lines} == {"o1", "o2", "o3", "o4"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_empty_export_is_a_valid_file(api: httpx.Client, fmt: str) -> None:
    response = _export(api, "orders", fmt)
    assert _read(response, fmt, "orders") == []
    if fmt == "parquet":
        assert pq.read_table(io.BytesIO(response.content)).column_names == [
            c.name for c in exports.COLUMNS[exports.ExportEntity.orders]
        ]
    elif fmt == "csv":
        assert response.text == ",".join(c.name for c in exports.COLUMNS[exports.ExportEntity.orders]) + "\n"


@pytest.mark.parametrize("fmt", FORMATS)
def test_small_chunks_and_row_groups_visit_every_row_once(
    api: httpx.Client, database_url: str, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    ids = _seed(api)
    more = [{"source": "shop", "external_id": f"x{i}", "tags": [f"t{i % 3}"]} for i in range(9)]
    _batch(api, "/v1/customers:batchUpsert", more)
    _add_interactions(database_url, [(ids["c1"], "page_view", f"2026-01-01T00:00:{s:02d}Z", {}) for s in range(7)])
    for name, size in ("ORDERS_PER_CHUNK", 1), ("CUSTOMERS_PER_CHUNK", 2), ("INTERACTIONS_PER_CHUNK", 3):
        monkeypatch.setattr(export_rows, name, size)
    monkeypatch.setattr(export_encoders, "ROW_GROUP_ROWS", 2)
    assert _read(_export(api, "orders", fmt), fmt, "orders") == _expected_lines(ids)
    customers = _read(_export(api, "customers", fmt, as_of="2100-01-01"), fmt, "customers")
    assert len(customers) == len({row["id"] for row in customers}) == 12
    assert {row["id"]: row["tags"] for row in customers}[ids["c1"]] == ["newsletter", "vip"]
    assert sum(row["order_count"] for row in customers) == 3
    assert len(_read(_export(api, "interactions", fmt), fmt, "interactions")) == 7
    if fmt == "parquet":
        assert pq.ParquetFile(io.BytesIO(_export(api, "orders", fmt).content)).num_row_groups == 3


def test_bad_parameters_are_422_naming_the_parameter(api: httpx.Client) -> None:
    cases = {
        "query.format": {"format": "xml"},
        "query.since": {"since": "yesterday"},
        "query.until": {"since": "2026-02-01", "until": "2026-01-01"},
        "query.as_of": {"until": "2026-01-01", "as_of": "2026-02-01"},
    }
    for loc, params in cases.items():
        body = assert_problem(api.get("/v1/exports/orders", params=params), 422)
        assert loc in {error["loc"] for error in body["errors"]}, body  # type: ignore[attr-defined]
    body = assert_problem(api.get("/v1/exports/products"), 422)
    assert body["errors"][0]["loc"] == "path.entity"  # type: ignore[index]
    assert api.get("/v1/exports/orders", headers={"X-Service-Token": "wrong"}).status_code == 401


def test_an_export_in_progress_does_not_block_other_requests(
    api: httpx.Client, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_order_lines(database_url, lines=50_000)
    monkeypatch.setattr(export_rows, "ORDERS_PER_CHUNK", 100)
    received: list[int] = []

    def download() -> None:
        with api.stream("GET", "/v1/exports/orders", params={"format": "ndjson"}) as response:
            received.append(sum(piece.count(b"\n") for piece in response.iter_bytes()))

    exporter = threading.Thread(target=download)
    exporter.start()
    latencies = []
    while exporter.is_alive():
        started = time.perf_counter()
        assert api.get("/health").status_code == 200
        latencies.append(time.perf_counter() - started)
        time.sleep(0.02)
    exporter.join()
    assert received == [50_000]
    # Had the export run on the event loop, no probe would have been answered until it ended.
    assert len(latencies) >= 5
    assert max(latencies) < 1.0


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_failure_after_the_first_byte_aborts_the_transfer(
    api: httpx.Client, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """Once the status line is sent an error cannot become a problem+json: the server drops the
    connection instead, so a client gets a transfer error and never mistakes a cut file for a whole."""
    _seed(api)
    reader = export_rows.order_line_chunks

    def failing(*args: Any) -> Iterator[exports.Rows]:
        chunks = reader(*args)
        yield next(chunks)
        raise RuntimeError("database went away")

    monkeypatch.setattr(export_rows, "order_line_chunks", failing)
    monkeypatch.setattr(export_rows, "ORDERS_PER_CHUNK", 1)
    monkeypatch.setattr(export_encoders, "ROW_GROUP_ROWS", 1)
    with pytest.raises(httpx.RemoteProtocolError):
        _export(api, "orders", fmt)


# --- change feed ---------------------------------------------------------------------------------


def _changes(api: httpx.Client, **params: Any) -> dict[str, Any]:
    response = api.get("/v1/changes", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_change_feed_lists_events_in_order(api: httpx.Client) -> None:
    ids = _seed(api)
    patched = api.patch(f"/v1/customers/{ids['c2']}", json={"city": "Porto"}, headers={"If-Match": '"1"'})
    assert patched.status_code == 200, patched.text
    page = _changes(api)
    events = [(item["entity"], item["entity_id"], item["kind"]) for item in page["items"]]
    customers = [("customer", ids[c], "created") for c in ("c1", "c2", "c3")]
    orders = [("order", str(n), "created") for n in (1, 2, 3, 4)]
    assert events == [*customers, *orders, ("customer", ids["c2"], "updated")]
    seqs = [item["seq"] for item in page["items"]]
    assert seqs == sorted(seqs)
    assert page["next_cursor"] == str(seqs[-1])
    assert all(item["occurred_at"].endswith("Z") for item in page["items"])
    assert _changes(api, after=page["next_cursor"]) == {"items": [], "next_cursor": page["next_cursor"]}


def test_paging_with_next_cursor_visits_each_event_once(api: httpx.Client) -> None:
    _batch(api, "/v1/customers:batchUpsert", [{"source": "s", "external_id": str(i)} for i in range(23)])
    seen: list[int] = []
    cursor = "0"
    while True:
        page = _changes(api, after=cursor, limit=5)
        if not page["items"]:
            break
        assert len(page["items"]) <= 5
        seen += [item["seq"] for item in page["items"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 23
    assert seen == sorted(seen)
    assert cursor == str(seen[-1])


@pytest.fixture
def sessions(api: httpx.Client, database_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on the service's (migrated) database, beside the running service."""
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def test_merged_and_erased_events_carry_their_data(api: httpx.Client, sessions: sessionmaker[Session]) -> None:
    survivor, merged = uuid.uuid4(), uuid.uuid4()
    with transaction(sessions) as session:
        store.record_changes(session, "customer", "merged", [merged], {"survivor_id": str(survivor)})
        store.record_changes(session, "customer", "erased", [merged])
    items = _changes(api)["items"]
    assert [(item["kind"], item["entity_id"], item["data"]) for item in items] == [
        ("merged", str(merged), {"survivor_id": str(survivor)}),
        ("erased", str(merged), {}),
    ]


def test_bad_cursor_or_limit_is_422_naming_it(api: httpx.Client) -> None:
    cases: dict[str, dict[str, str | int]] = {"query.after": {"after": "abc"}, "query.limit": {"limit": 1001}}
    for loc, params in cases.items():
        body = assert_problem(api.get("/v1/changes", params=params), 422)
        assert [error["loc"] for error in body["errors"]] == [loc]  # type: ignore[attr-defined]


def test_a_transaction_holding_a_lower_seq_holds_back_later_writers(
    api: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    """Seqs are handed out in commit order: while a writer that took seq N is still open, a second
    writer cannot commit seq N+1, so a follower never reads past a seq that is yet to appear."""
    second_done = threading.Event()

    def second_writer() -> None:
        with transaction(sessions) as session:
            store.record_changes(session, "customer", "created", ["second"])
        second_done.set()

    with transaction(sessions) as first:
        store.record_changes(first, "customer", "created", ["first"])
        first.flush()
        thread = threading.Thread(target=second_writer)
        thread.start()
        assert not second_done.wait(0.5)
        assert _changes(api)["items"] == []
    thread.join(timeout=30)
    assert second_done.is_set()
    assert [item["entity_id"] for item in _changes(api)["items"]] == ["first", "second"]


def test_a_follower_polling_during_concurrent_writes_misses_nothing(
    api: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    writers, batches, size = 4, 6, 25
    done = threading.Event()
    errors: list[str] = []

    def write(writer: int) -> None:
        with httpx.Client(base_url=str(api.base_url), headers=TOKEN_HEADERS, timeout=60) as client:
            for batch in range(batches):
                records = [{"source": f"w{writer}", "external_id": f"{batch}-{i}"} for i in range(size)]
                response = client.post("/v1/customers:batchUpsert", json={"records": records})
                if response.status_code != 200:
                    errors.append(response.text)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    seen: list[int] = []
    cursor = "0"
    while True:
        finished = done.is_set()
        page = _changes(api, after=cursor, limit=7)
        seen += [item["seq"] for item in page["items"]]
        cursor = page["next_cursor"]
        if finished and not page["items"]:
            break
        if not any(thread.is_alive() for thread in threads):
            done.set()
    assert not errors
    with transaction(sessions) as session:
        stored = list(session.scalars(select(Change.seq).order_by(Change.seq)))
    assert len(stored) == writers * batches * size
    assert seen == stored


# --- memory (real process, a million order lines) -------------------------------------------------

MILLION = 1_000_000
# Streaming holds one chunk (about 4,000 lines, a few MiB of Python objects) per worker thread and,
# for Parquet, one row group of 100,000 lines with its encoder: measured 0-62 MiB of peak growth.
# Holding the export instead would need its whole body (1M lines: 312 MiB of NDJSON, 127 MiB of
# CSV), about 1 GiB as Python row objects, or 150 MiB and more as one Arrow table.
MAX_GROWTH_MIB = 100


@pytest.fixture(scope="module")
def million_lines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("export-memory")
    if BACKEND == "postgresql":
        url = f"{POSTGRES_SERVER}/rapport_test_export_{uuid.uuid4().hex[:10]}"
        ensure_database(url)
    else:
        url = f"sqlite:///{folder / 'customers.db'}"
    try:
        migrations.upgrade(Service.customers, url)
        load_order_lines(url, lines=MILLION)
        yield url
    finally:
        drop_database(url)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_exporting_a_million_order_lines_keeps_server_memory_bounded(
    million_lines: str, tmp_path: Path, fmt: str
) -> None:
    server = start_service(Service.customers, million_lines, var_dir=tmp_path)
    latencies: list[float] = []
    streaming = threading.Event()

    def probe() -> None:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            while streaming.is_set():
                started = time.perf_counter()
                client.get("/health").raise_for_status()
                latencies.append(time.perf_counter() - started)
                time.sleep(0.05)

    try:
        with httpx.Client(base_url=server.url, headers=TOKEN_HEADERS, timeout=120) as client:
            warm = client.get("/v1/exports/orders", params={"format": fmt, "until": "2024-01-02"})
            assert warm.status_code == 200
            before = peak_rss_kib(server.process.pid)
            body = bytearray()
            streaming.set()
            prober = threading.Thread(target=probe)
            prober.start()
            try:
                with client.stream("GET", "/v1/exports/orders", params={"format": fmt}) as response:
                    assert response.status_code == 200
                    for piece in response.iter_bytes():
                        body += piece
            finally:
                streaming.clear()
                prober.join()
            growth_mib = (peak_rss_kib(server.process.pid) - before) / 1024
    finally:
        server.stop()
    if fmt == "parquet":
        assert pq.ParquetFile(io.BytesIO(body)).metadata.num_rows == MILLION
    else:
        assert body.count(b"\n") == MILLION + (fmt == "csv")
    assert growth_mib < MAX_GROWTH_MIB, f"server peak RSS grew by {growth_mib:.0f} MiB"
    # The export runs in a worker thread: the event loop keeps answering while it streams.
    assert len(latencies) >= 5
    assert max(latencies) < 1.0, f"/health took {max(latencies):.2f} s during the export"
