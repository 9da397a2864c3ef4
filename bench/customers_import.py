"""File import benchmark: order lines/s through the real HTTP API (`POST /v1/imports`), per backend.

    .venv/bin/python bench/customers_import.py --customers 100000               # ~1M order lines
    .venv/bin/python bench/customers_import.py --customers 1000000 --backends postgresql  # ~10M lines

Generates the demo data set once (or reuses it) under --data-dir, then for each backend starts the
customers service as a uvicorn process on a fresh database (SQLite file, or a `rapport_bench_*`
PostgreSQL database that is dropped afterwards), imports the customers file, then the orders file, and
with --rerun the orders file again (every order unchanged). Prints, with the data size and backend:
the upload time, the job's processing time (started_at to finished_at) and lines/s, end-to-end lines/s
(upload + processing), the CPU seconds the import took in the service process and, on PostgreSQL, in
the database's server backends (from /proc: less noisy than wall time on a shared machine), the
service's peak memory, and the machine's load average (a busy machine halves the figures).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rapport.config import Service
from rapport.db import drop_database, ensure_database
from rapport.demo import generate
from tests.support import TOKEN_HEADERS, ServiceProcess, start_service


def data_set(folder: Path, customers: int, seed: int, fmt: str) -> Path:
    """The generated files for these parameters, generating them if needed."""
    target = folder / f"customers{customers}-seed{seed}-{fmt}"
    if not (target / "manifest.json").exists():
        started = time.perf_counter()
        generate(target, customers=customers, seed=seed, fmt=fmt)  # type: ignore[arg-type]
        print(f"generated {target} in {time.perf_counter() - started:.1f}s", flush=True)
    return target


def lines_in(path: Path, fmt: str) -> int:
    with open(path, "rb") as handle:
        count = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 24), b""))
    return count - 1 if fmt == "csv" else count


def peak_rss_mib(process: ServiceProcess) -> float:
    for line in Path(f"/proc/{process.process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backend_cpu_seconds(url: str) -> float:
    """CPU seconds of the PostgreSQL server backends connected to `url`'s database (0 on SQLite).
    The service keeps its pooled connections open, so the difference over an import is its cost."""
    if not url.startswith("postgresql"):
        return 0.0
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            pids = connection.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
            ).scalars()
            return sum(cpu_seconds(pid) for pid in pids)
    finally:
        engine.dispose()


def _seconds(job: dict[str, Any], start: str, end: str) -> float:
    return (datetime.fromisoformat(job[end]) - datetime.fromisoformat(job[start])).total_seconds()


def run_import(client: httpx.Client, kind: str, path: Path, fmt: str) -> dict[str, Any]:
    """Upload `path`, wait for its job; returns timings and the final job."""
    started = time.perf_counter()
    with open(path, "rb") as handle:
        response = client.post(
            "/v1/imports", data={"kind": kind, "format": fmt}, files={"file": (path.name, handle, "text/plain")}
        )
    uploaded = time.perf_counter()
    response.raise_for_status()
    location = response.headers["location"]
    last_report = uploaded
    while True:
        job = client.get(location).json()
        if job["status"] in ("succeeded", "failed"):
            break
        if time.perf_counter() - last_report > 15:
            print(f"  {kind}: {job['progress']:.0f}% ({job['processed']:,} lines)", flush=True)
            last_report = time.perf_counter()
        time.sleep(0.25)
    finished = time.perf_counter()
    if job["status"] != "succeeded":
        raise RuntimeError(f"{kind} import failed: {job}")
    processing = _seconds(job, "started_at", "finished_at")
    lines = job["processed"] + job["failed"]
    return {
        "kind": kind,
        "lines": lines,
        "failed": job["failed"],
        "bytes": job["total_bytes"],
        "upload_s": round(uploaded - started, 2),
        "processing_s": round(processing, 2),
        "end_to_end_s": round(finished - started, 2),
        "lines_per_s": round(lines / processing) if processing else None,
        "end_to_end_lines_per_s": round(lines / (finished - started)),
    }


def database_url(backend: str, work: Path, server: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{work / 'customers.db'}"
    url = f"{server}/rapport_bench_import_{uuid.uuid4().hex[:8]}"
    ensure_database(url)
    return url


def bench_backend(backend: str, folder: Path, fmt: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory(prefix="rapport-bench-import-", dir=args.work_dir) as work_dir:
        work = Path(work_dir)
        url = database_url(backend, work, args.postgres)
        env = {"RAPPORT_IMPORT_CHUNK_BYTES": str(args.chunk_bytes), "RAPPORT_LOG_LEVEL": "WARNING"}
        service = start_service(Service.customers, url, var_dir=work / "var", **env)
        try:
            with httpx.Client(base_url=service.url, headers=TOKEN_HEADERS, timeout=600) as client:
                plan = [("customers", "customers"), ("orders", "orders")] + (
                    [("orders", "orders (re-run)")] if args.rerun else []
                )
                for kind, label in plan:
                    service_cpu, server_cpu = cpu_seconds(service.process.pid), backend_cpu_seconds(url)
                    result = run_import(client, kind, folder / f"{kind}.{fmt}", fmt)
                    result |= {
                        "label": label,
                        "backend": backend,
                        "format": fmt,
                        "load_average": os.getloadavg()[0],
                        "service_cpu_s": round(cpu_seconds(service.process.pid) - service_cpu, 1),
                        "server_cpu_s": round(backend_cpu_seconds(url) - server_cpu, 1),
                    }
                    results.append(result)
                    print(
                        f"{backend:10} {label:16} {result['lines']:>11,} lines {result['bytes'] / 2**20:8.1f} MiB  "
                        f"upload {result['upload_s']:6.1f}s  processing {result['processing_s']:7.1f}s  "
                        f"{result['lines_per_s']:>8,} lines/s  end to end {result['end_to_end_lines_per_s']:>8,} lines/s  "
                        f"cpu service {result['service_cpu_s']:.1f}s server {result['server_cpu_s']:.1f}s  "
                        f"load {result['load_average']:.1f}",
                        flush=True,
                    )
            results[-1]["service_peak_rss_mib"] = round(peak_rss_mib(service))
        finally:
            service.stop()
            if not args.keep:
                drop_database(url)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=100_000, help="100,000 customers ~ 1M order lines")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fmt", choices=("csv", "ndjson"), default="csv")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--data-dir", type=Path, default=Path("var/bench-data"))
    parser.add_argument("--work-dir", type=Path, default=None, help="where the SQLite database and uploads go")
    parser.add_argument(
        "--postgres", default=os.environ.get("RAPPORT_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")
    )
    parser.add_argument("--chunk-bytes", type=int, default=16 * 1024 * 1024)
    parser.add_argument("--rerun", action="store_true", help="import the orders file a second time")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    folder = data_set(args.data_dir, args.customers, args.seed, args.fmt)
    manifest = json.loads((folder / "manifest.json").read_text())
    print(
        f"data: {args.customers:,} customers, {manifest['orders']:,} orders, "
        f"{lines_in(folder / f'orders.{args.fmt}', args.fmt):,} order lines ({args.fmt}); cpus {os.cpu_count()}, "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    results = []
    for backend in args.backends.split(","):
        results.extend(bench_backend(backend.strip(), folder, args.fmt, args))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
