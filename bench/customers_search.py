"""Customer search at scale: `POST /v1/customers:search` (with_total) and `POST /v1/customers:count` latency
through the real HTTP API, on PostgreSQL.

    .venv/bin/python bench/customers_search.py --customers 1000000
    .venv/bin/python bench/customers_search.py --customers 1000000 --keep          # keep the database
    .venv/bin/python bench/customers_search.py --database rapport_bench_search_1m  # reuse a kept one

Loads the demo generator's customers (seed 7) into a fresh database without the batch API: each chunk is
cleaned by the service's vectorised cleaner (`cleaning.clean_customers_frame`, as file imports clean;
rows it rejects are cleaned again without the rejected fields) and written by COPY (`rapport.db.bulk_insert`)
with identities, tags and attributes. Purchase facts (first/last order, order count, total spent in the
base currency) are computed from the generator's order lines per chunk, exactly as the service counts
them (placed and paid orders, totals converted and rounded per order); the order lines themselves are not
stored (search never reads them). Tags and attributes are drawn deterministically (the generator has
none). Then ANALYZE, the service starts as a uvicorn process (migrating to head, so new indexes apply to
a reused database), and each query shape is timed --repeats times as search (count + first page of 50)
and as count. Prints data size, load average and p50 / p95 per shape.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rapport import demo, migrations
from rapport.config import Service, Settings
from rapport.db import bulk_insert, drop_database, ensure_database, make_engine, make_sessionmaker, transaction
from services.customers import cleaning
from services.customers.models import Customer, CustomerTag, Identity
from services.customers.orders import COUNTED_STATUSES
from tests.support import TOKEN_HEADERS, start_service

TAGS = {"newsletter": 0.35, "app_user": 0.2, "wholesale": 0.02, "complained": 0.05}
TIERS = np.array(["bronze", "silver", "gold", "platinum"])
TIER_WEIGHTS = [0.6, 0.25, 0.12, 0.03]

SEARCHES: dict[str, dict[str, Any]] = {
    "city + gender + age": {
        "all": [
            {"field": "city", "op": "eq", "value": "Shanghai"},
            {"field": "gender", "op": "eq", "value": "female"},
            {"field": "age", "op": "between", "value": [25, 40]},
        ]
    },
    "band in + gender + education": {
        "all": [
            {"field": "income_band", "op": "in", "value": ["high", "very_high"]},
            {"field": "gender", "op": "eq", "value": "female"},
            {"field": "education", "op": "eq", "value": "master"},
        ]
    },
    "country + born after + email exists": {
        "all": [
            {"field": "country", "op": "eq", "value": "GB"},
            {"field": "birth_date", "op": "gte", "value": "1995-01-01"},
            {"field": "email", "op": "exists", "value": True},
        ]
    },
    "spent > 500 + last order before + consent": {
        "all": [
            {"field": "total_spent", "op": "gt", "value": "500"},
            {"field": "last_order_at", "op": "lt", "value": "2025-01-01T00:00:00Z"},
            {"field": "consent_email", "op": "eq", "value": True},
        ]
    },
    "tag + country + spent > 200": {
        "all": [
            {"field": "tags", "op": "contains", "value": "newsletter"},
            {"field": "country", "op": "eq", "value": "CN"},
            {"field": "total_spent", "op": "gt", "value": "200"},
        ]
    },
    "attribute tier + city + orders >= 3": {
        "all": [
            {"field": "attributes.tier", "op": "eq", "value": "gold"},
            {"field": "city", "op": "eq", "value": "Beijing"},
            {"field": "order_count", "op": "gte", "value": 3},
        ]
    },
    "any(tag, attribute) + age + spent": {
        "all": [
            {
                "any": [
                    {"field": "tags", "op": "contains", "value": "wholesale"},
                    {"field": "attributes.tier", "op": "eq", "value": "platinum"},
                ]
            },
            {"field": "age", "op": "between", "value": [30, 50]},
            {"field": "total_spent", "op": "gte", "value": "100"},
        ]
    },
}


def purchase_facts(orders: pd.DataFrame, fx_rates: dict[str, Decimal]) -> pd.DataFrame:
    """Per customer external id: first/last order, order count, total spent (base currency, cents)."""
    lines = orders[orders["status"].isin(COUNTED_STATUSES)]
    cents = (lines["unit_price"].astype("float64") * 100).round().astype("int64") * lines["quantity"]
    per_order = (
        lines.assign(cents=cents)
        .groupby("order_external_id", sort=False)
        .agg(customer=("customer_external_id", "first"), placed_at=("placed_at", "first"),
             currency=("currency", "first"), cents=("cents", "sum"))
    )  # fmt: skip
    rate = per_order["currency"].map({code: float(value) for code, value in fx_rates.items()})
    per_order["base"] = np.floor(per_order["cents"] * rate + 0.5).astype("int64")  # half-up to the cent
    return per_order.groupby("customer").agg(
        first_order_at=("placed_at", "min"), last_order_at=("placed_at", "max"),
        order_count=("placed_at", "size"), total_spent=("base", "sum"),
    )  # fmt: skip


def clean(frame: pd.DataFrame, default_region: str) -> pd.DataFrame:
    """The chunk's profiles cleaned as an import cleans them; a rejected field is left empty instead."""
    profile = frame.drop(columns=["source", "external_id", "created_at"])
    profile = profile.astype(object).where(profile.notna(), None)
    cleaned, rejected = cleaning.clean_customers_frame(profile, default_region=default_region)
    if len(rejected):
        retry = rejected.drop(columns=["reasons"])
        for row, issues in rejected["reasons"].items():
            for issue in issues:
                retry.at[row, issue.loc] = None
        again, still = cleaning.clean_customers_frame(retry, default_region=default_region)
        cleaned = pd.concat([cleaned, again]).sort_index()
        assert still.empty, still
    return cleaned


def load_chunk(session: Any, customers: pd.DataFrame, orders: pd.DataFrame, settings: Settings, seed: int) -> int:
    rng = np.random.default_rng(seed)
    cleaned = clean(customers, settings.default_phone_region)
    keys = customers["external_id"].to_numpy()[cleaned.index.to_numpy()]
    facts = purchase_facts(orders, settings.fx_rates).reindex(keys)
    n = len(cleaned)
    ids = [uuid.UUID(bytes=bytes(row), version=4) for row in rng.integers(0, 256, size=(n, 16), dtype=np.uint8)]
    now = datetime.now(UTC)
    signed_up = customers["created_at"].to_numpy()[cleaned.index.to_numpy()]
    tiers = rng.choice(TIERS, size=n, p=TIER_WEIGHTS)
    points = rng.integers(0, 10_000, size=n)
    consent = rng.random(n) < 0.6
    rows: list[dict[str, Any]] = []
    spent = facts["total_spent"].fillna(0).astype("int64").to_numpy()
    count = facts["order_count"].fillna(0).astype("int64").to_numpy()
    first, last = facts["first_order_at"].tolist(), facts["last_order_at"].tolist()
    for i, record in enumerate(cleaned.to_dict("records")):
        record.update(
            id=ids[i], signed_up_at=pd.Timestamp(signed_up[i]).to_pydatetime().replace(tzinfo=UTC),
            attributes={"tier": str(tiers[i]), "points": int(points[i])},
            consent_email=bool(consent[i]), created_at=now, updated_at=now, version=1,
            first_order_at=None if pd.isna(first[i]) else first[i].to_pydatetime(),
            last_order_at=None if pd.isna(last[i]) else last[i].to_pydatetime(),
            order_count=int(count[i]), total_spent=Decimal(int(spent[i])).scaleb(-2),
        )  # fmt: skip
        rows.append(record)
    bulk_insert(session, Customer, rows)
    bulk_insert(
        session,
        Identity,
        [
            {"source": "demo", "external_id": key, "customer_id": id_, "created_at": now}
            for key, id_ in zip(keys, ids, strict=True)
        ],
    )
    tags = [{"customer_id": ids[i], "tag": "vip"} for i in np.flatnonzero(spent >= 200_000)]
    for tag, share in TAGS.items():
        tags += [{"customer_id": ids[i], "tag": tag} for i in np.flatnonzero(rng.random(n) < share)]
    bulk_insert(session, CustomerTag, tags)
    return n


def load(url: str, customers: int, settings: Settings) -> int:
    migrations.upgrade(Service.customers, url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    loaded, started = 0, time.perf_counter()
    pending: pd.DataFrame | None = None
    try:
        for table, frame in demo.iter_frames(customers=customers, seed=7):
            if table == "customers":
                pending = frame
            elif table == "orders" and pending is not None:
                with transaction(factory) as session:
                    loaded += load_chunk(session, pending, frame, settings, seed=loaded)
                pending = None
                print(f"  loaded {loaded:,} customers, {time.perf_counter() - started:.0f} s", flush=True)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    finally:
        engine.dispose()
    print(f"load: {loaded:,} customers in {time.perf_counter() - started:.0f} s (incl. VACUUM ANALYZE)")
    return loaded


def percentiles(timings: list[float]) -> tuple[float, float]:
    timings = sorted(timings)
    return statistics.median(timings), timings[int(0.95 * (len(timings) - 1))]


def measure(url: str, repeats: int) -> None:
    with httpx.Client(base_url=url, headers=TOKEN_HEADERS, timeout=120) as client:
        for name, filter_ in SEARCHES.items():
            for path, body in (
                ("/v1/customers:search", {"filter": filter_, "limit": 50, "with_total": True}),
                ("/v1/customers:count", {"filter": filter_}),
            ):
                client.post(path, json=body).raise_for_status()  # warm up
                timings: list[float] = []
                for _ in range(repeats):
                    started = time.perf_counter()
                    response = client.post(path, json=body)
                    timings.append((time.perf_counter() - started) * 1000)
                    response.raise_for_status()
                payload = response.json()
                total = payload.get("total", payload.get("count"))
                p50, p95 = percentiles(timings)
                kind = "search+total" if path.endswith("search") else "count"
                print(f"{kind:12} [{name}]: {total:,} matches, p50 {p50:.1f} ms, p95 {p95:.1f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--database", help="reuse this PostgreSQL database (loaded by an earlier --keep run)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes of the service")
    args = parser.parse_args()

    name = args.database or f"rapport_bench_search_{uuid.uuid4().hex[:8]}"
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    keep = args.keep or args.database is not None
    settings = Settings()
    try:
        if args.database is None:
            ensure_database(url)
            load(url, args.customers, settings)
        engine = make_engine(url)
        if args.database is not None:  # bring a kept database to head (new indexes) before the service starts
            started = time.perf_counter()
            migrations.upgrade(Service.customers, url)
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE"))
            print(f"migrated to head and analyzed in {time.perf_counter() - started:.0f} s")
        with engine.connect() as connection:
            customers = connection.scalar(text("SELECT count(*) FROM customers"))
            tags = connection.scalar(text("SELECT count(*) FROM customer_tags"))
            size = connection.scalar(text("SELECT pg_size_pretty(pg_database_size(current_database()))"))
        engine.dispose()
        with tempfile.TemporaryDirectory() as scratch:
            service = start_service(
                Service.customers, url, var_dir=Path(scratch), workers=args.workers, RAPPORT_LOG_LEVEL="WARNING"
            )
            try:
                print(
                    f"machine: {os.cpu_count()} cpus, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
                    f"database {name}: {customers:,} customers, {tags:,} tag rows, {size}; "
                    f"{args.workers} service worker(s), {args.repeats} repetitions"
                )
                measure(service.url, args.repeats)
                print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            finally:
                service.stop()
    finally:
        if not keep:
            drop_database(url)
        else:
            print(f"kept database {name}")


if __name__ == "__main__":
    main()
