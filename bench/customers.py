"""Customers service benchmark: batch upsert records/s through the real HTTP API (search: customers_search.py).

    .venv/bin/python bench/customers.py --customers 1000000 --backend postgresql
    .venv/bin/python bench/customers.py --customers 200000 --backend sqlite

Starts the customers service as a uvicorn process on a fresh database, upserts the demo generator's
customers in batches of --batch records from --clients concurrent clients, and prints records/s with the
data size and the machine's load average.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.cpu import cpu_seconds, postgres_cpu_seconds, process_tree
from rapport import demo
from rapport.config import Service
from rapport.db import drop_database, ensure_database
from tests.support import TOKEN_HEADERS, start_service

JSON = {"Content-Type": "application/json"}


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


def upsert(url: str, bodies: list[bytes], clients: int) -> tuple[float, int]:
    """Send the encoded batches from `clients` threads, each with its own keep-alive connection."""
    local = threading.local()

    def send(body: bytes) -> int:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=url, headers=TOKEN_HEADERS | JSON, timeout=120)
        response = local.client.post("/v1/customers:batchUpsert", content=body)
        response.raise_for_status()
        return int(orjson.loads(response.content)["counts"]["error"])

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        errors = sum(pool.map(send, bodies))
    return time.perf_counter() - started, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes of the service")
    args = parser.parse_args()

    # Encoded up front, as a partner system's export would be: the client's CPU in the run is HTTP only.
    bodies = [orjson.dumps({"records": batch}) for batch in customer_batches(args.customers, args.batch)]
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
            print(f"load average before: {os.getloadavg()[0]:.2f}")
            servers = process_tree(service.process.pid)
            postgres = (
                postgres_cpu_seconds if args.backend == "postgresql" else lambda: 0.0
            )  # SQLite runs in the service
            cpu_before = time.process_time(), sum(cpu_seconds(servers)), postgres()
            elapsed, errors = upsert(service.url, bodies, args.clients)
            cpu_after = time.process_time(), sum(cpu_seconds(servers)), postgres()
            client, server, database = (
                1e6 * (b - a) / args.customers for a, b in zip(cpu_before, cpu_after, strict=True)
            )
            print(
                f"batch upsert: {args.customers:,} customers in batches of {args.batch:,} from {args.clients} clients: "
                f"{elapsed:.1f} s = {args.customers / elapsed:,.0f} records/s ({errors} rejected)"
            )
            print(
                f"CPU us per record: client {client:.0f}, service {server:.0f}, PostgreSQL {database:.0f}; total {client + server + database:.0f} on {os.cpu_count()} cpus"
            )
        finally:
            service.stop()
            if args.backend == "postgresql":
                drop_database(url)


if __name__ == "__main__":
    main()
