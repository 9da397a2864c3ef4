"""Customers service benchmark: batch upsert records/s and search latency, through the real HTTP API.

    .venv/bin/python bench/customers.py --customers 1000000 --backend postgresql
    .venv/bin/python bench/customers.py --customers 200000 --backend sqlite

Starts the customers service as a uvicorn process on a fresh database, upserts the demo generator's
customers in batches of --batch records from --clients concurrent clients, then times three search
shapes (count + first page). Prints throughput and latency percentiles with the data size.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rapport import demo
from rapport.config import Service
from rapport.db import drop_database, ensure_database
from tests.support import TOKEN_HEADERS, start_service

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
}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    frame = frame.rename(columns={"created_at": "signed_up_at"})
    frame = frame.astype(object).where(frame.notna(), None)
    return [{k: (str(v) if v is not None and k not in ("income",) else v) for k, v in row.items()}
            for row in frame.to_dict("records")]  # fmt: skip


def customer_batches(customers: int, batch: int) -> list[list[dict[str, Any]]]:
    frames = [frame for table, frame in demo.iter_frames(customers=customers, seed=7) if table == "customers"]
    records = _records(pd.concat(frames, ignore_index=True))
    for record in records:
        record["income"] = None if record["income"] is None else str(record["income"])
    return [records[i : i + batch] for i in range(0, len(records), batch)]


def upsert(url: str, batches: list[list[dict[str, Any]]], clients: int) -> tuple[float, int]:
    def send(records: list[dict[str, Any]]) -> int:
        with httpx.Client(base_url=url, headers=TOKEN_HEADERS, timeout=120) as client:
            response = client.post("/v1/customers:batchUpsert", json={"records": records})
            response.raise_for_status()
            return int(response.json()["counts"]["error"])

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        errors = sum(pool.map(send, batches))
    return time.perf_counter() - started, errors


def search_latencies(url: str, repeats: int) -> dict[str, tuple[float, float, int]]:
    results: dict[str, tuple[float, float, int]] = {}
    with httpx.Client(base_url=url, headers=TOKEN_HEADERS, timeout=60) as client:
        for name, filter_ in SEARCHES.items():
            timings: list[float] = []
            total = 0
            for _ in range(repeats):
                started = time.perf_counter()
                page = client.post("/v1/customers:search", json={"filter": filter_, "limit": 50, "with_total": True})
                timings.append((time.perf_counter() - started) * 1000)
                total = page.json()["total"]
            timings.sort()
            results[name] = (statistics.median(timings), timings[int(0.95 * (len(timings) - 1))], total)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes of the service")
    args = parser.parse_args()

    batches = customer_batches(args.customers, args.batch)
    with tempfile.TemporaryDirectory() as scratch:
        if args.backend == "postgresql":
            url = f"postgresql+psycopg://postgres@127.0.0.1:5432/rapport_bench_{uuid.uuid4().hex[:8]}"
            ensure_database(url)
        else:
            url = f"sqlite:///{scratch}/customers.db"
        service = start_service(
            Service.customers, url, var_dir=Path(scratch), workers=args.workers, RAPPORT_LOG_LEVEL="WARNING"
        )
        try:
            print(
                f"machine: {os.cpu_count()} cpus, python {sys.version.split()[0]}; backend {args.backend}, "
                f"{args.workers} service worker(s)"
            )
            elapsed, errors = upsert(service.url, batches, args.clients)
            print(
                f"batch upsert: {args.customers:,} customers in batches of {args.batch:,} from {args.clients} clients: "
                f"{elapsed:.1f} s = {args.customers / elapsed:,.0f} records/s ({errors} rejected)"
            )
            for name, (p50, p95, total) in search_latencies(service.url, args.repeats).items():
                print(f"search [{name}] over {args.customers:,}: {total:,} matches, p50 {p50:.1f} ms, p95 {p95:.1f} ms")
        finally:
            service.stop()
            if args.backend == "postgresql":
                drop_database(url)


if __name__ == "__main__":
    main()
