"""Duplicate candidates at scale: `POST /v1/duplicates:refresh` (whole refresh) time and `GET /v1/duplicates`
page latency through the real HTTP API, on PostgreSQL.

    .venv/bin/python bench/customers_duplicates.py --customers 1000000 --keep
    .venv/bin/python bench/customers_duplicates.py --database rapport_bench_dups_1m  # reuse a kept one

Loads the demo generator's customers the way bench/customers_search.py does (vectorised cleaning, COPY;
no batch API), starts the service (migrating to head), then: one whole refresh; the first page (with the
junk keys) and the following pages walked by cursor, --repeats times each; and a listing after a few
customer updates (the incremental refresh of the changed customers runs inside that request).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import customers_search

from rapport.config import Service, Settings
from rapport.db import drop_database, ensure_database, make_engine
from tests.support import TOKEN_HEADERS, start_service


def timed(client: httpx.Client, method: str, path: str, **kwargs: object) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = client.request(method, path, **kwargs)  # type: ignore[arg-type]
    response.raise_for_status()
    return (time.perf_counter() - started) * 1000, response


def report(name: str, timings: list[float]) -> None:
    p50, p95 = customers_search.percentiles(timings)
    print(f"{name:34}: p50 {p50:8.1f} ms, p95 {p95:8.1f} ms ({len(timings)} requests)", flush=True)


def measure(url: str, repeats: int, pages: int) -> None:
    with httpx.Client(base_url=url, headers=TOKEN_HEADERS, timeout=600) as client:
        ms, response = timed(client, "POST", "/v1/duplicates:refresh")
        print(f"whole refresh: {ms / 1000:.1f} s over HTTP; {response.json()}", flush=True)
        first, deep = [], []
        for _ in range(repeats):
            ms, response = timed(client, "GET", "/v1/duplicates", params={"limit": 50})
            first.append(ms)
            cursor = response.json()["next_cursor"]
            for _ in range(pages):
                if cursor is None:
                    break
                ms, response = timed(client, "GET", "/v1/duplicates", params={"limit": 50, "cursor": cursor})
                deep.append(ms)
                cursor = response.json()["next_cursor"]
        report("first page (50, with junk keys)", first)
        report(f"next pages (50, up to {pages} deep)", deep)
        listed = response.json()["items"]
        changed = []
        for round_ in range(repeats):
            pair = listed[round_ % len(listed)]["customer_ids"]
            current = client.get(f"/v1/customers/{pair[0]}")
            client.patch(
                f"/v1/customers/{pair[0]}",
                json={"occupation": f"bench {round_}"},
                headers={"If-Match": current.headers["etag"]},
            ).raise_for_status()
            ms, response = timed(client, "GET", "/v1/duplicates", params={"limit": 50})
            changed.append(ms)
        report("first page after 1 update", changed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--database", help="reuse this PostgreSQL database (loaded by an earlier --keep run)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    name = args.database or f"rapport_bench_dups_{uuid.uuid4().hex[:8]}"
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    keep = args.keep or args.database is not None
    try:
        if args.database is None:
            ensure_database(url)
            customers_search.load(url, args.customers, Settings())
        engine = make_engine(url)
        with engine.connect() as connection:
            customers = connection.scalar(text("SELECT count(*) FROM customers"))
        engine.dispose()
        with tempfile.TemporaryDirectory() as scratch:
            service = start_service(Service.customers, url, var_dir=Path(scratch), RAPPORT_LOG_LEVEL="WARNING")
            try:
                print(
                    f"machine: {os.cpu_count()} cpus, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
                    f"database {name}: {customers:,} customers"
                )
                measure(service.url, args.repeats, args.pages)
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
