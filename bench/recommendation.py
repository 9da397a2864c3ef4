"""Recommendation benchmark: a training run through the real service, then `/recommendations` under load.

    .venv/bin/python bench/recommendation.py --customers 1000000
    .venv/bin/python bench/recommendation.py --customers 200000 --clients 1 8 --duration 10 --workers 1
    .venv/bin/python bench/recommendation.py --customers 1000000 --items 100000   # catalogue spread to 100k skus

Generates the demo data set as Parquet (or reuses it under --data-dir) and converts it into the customers
export's columns in a data-lake folder (`orders.parquet`: order_id, customer_id, placed_at, status, sku,
quantity; `products.parquet`: sku, name, category), as a nightly export job would leave it. Then, on a
fresh PostgreSQL database (dropped at the end):
1. starts the recommendation service as a uvicorn process and times a training run with `source_folder`
   from POST to `succeeded` (phases as the run reports them), with the peak RSS (VmHWM) of the uvicorn
   processes and the model's metrics;
2. optionally (--profile) loads the stored model in this process and times `serving.recommend` alone,
   with a cProfile of it;
3. load-tests `GET /v1/customers/{id}/recommendations?k=10` for customer ids taken from the lake's orders,
   with 1 and 2 uvicorn workers: C closed-loop clients, each a separate process with one keep-alive
   connection (a minimal raw-socket HTTP/1.1 client, far cheaper per request than httpx, so the client
   takes as little of the shared CPUs as possible), for a fixed duration after a warm-up. Latency is
   measured at the client; the service-side time comes from the access log's `duration_ms`.
The clients run on the same machine as the service and share its CPUs; the load average is printed.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import itertools
import json
import multiprocessing as mp
import os
import pickle
import pstats
import re
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import httpx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rapport.config import DEV_SERVICE_TOKEN, Service
from rapport.db import drop_database, ensure_database
from rapport.demo import generate
from tests import support
from tests.support import TOKEN_HEADERS, ServiceProcess, start_service

# a replica loads the stored model before it reports ready: at 1M customers that takes longer than the 30 s
# start_service waits by default
support.wait_until_ready = functools.partial(support.wait_until_ready, timeout=600)

ROUTE = "/v1/customers/{customer_id}/recommendations"


# --- data ------------------------------------------------------------------------------------------------------


def lake_folder(data_dir: Path, customers: int, seed: int, items: int | None = None) -> Path:
    """The generated order lines and catalogue in the export's columns, generating and converting when missing
    (same conversion as bench/segmentation.py, keeping sku and quantity instead of the line total); with
    `items`, the catalogue spread to that many skus (`spread_catalogue`)."""
    raw = data_dir / f"customers{customers}-seed{seed}-parquet"
    if not (raw / "manifest.json").exists():
        generate(raw, customers=customers, seed=seed, fmt="parquet")
    suffix = f"-items{items}" if items else ""
    lake = data_dir / "lake" / f"recommendation-customers{customers}-seed{seed}{suffix}"
    if (lake / "orders.parquet").exists() and (lake / "products.parquet").exists():
        return lake
    lake.mkdir(parents=True, exist_ok=True)
    lines = pq.read_table(
        raw / "orders.parquet",
        columns=["order_external_id", "customer_external_id", "placed_at", "status", "sku", "quantity"],
    )
    products = pq.read_table(raw / "products.parquet", columns=["sku", "name", "category"])
    skus = lines["sku"]
    if items:
        skus, products = spread_catalogue(lines["customer_external_id"], skus, products, items)
    order_ids, _ = pd.factorize(lines["order_external_id"].to_pandas())
    pq.write_table(
        pa.table(
            {
                "order_id": pa.array(order_ids.astype("int64")),
                "customer_id": lines["customer_external_id"],
                "placed_at": pc.cast(lines["placed_at"], pa.timestamp("us", tz="UTC")),
                "status": lines["status"],
                "sku": skus,
                "quantity": pc.cast(lines["quantity"], pa.int64()),
            }
        ),
        lake / "orders.parquet",
    )
    pq.write_table(products, lake / "products.parquet")
    return lake


def spread_catalogue(
    customers: pa.ChunkedArray, skus: pa.ChunkedArray, products: pa.Table, items: int
) -> tuple[pa.Array, pa.Table]:
    """Every product split into variants (`<sku>-<v>`) so the catalogue has `items` skus; each customer buys
    one variant of a product (customer number modulo the product's variant count), as if the shop had that
    many regional assortments. Lines, orders and customers stay as generated; each variant keeps its
    product's category and its buyers' co-purchases, with a share of its buyers and support.

    The generator's catalogue grows with the customer count and stops near 20k products (DESIGN's target is
    100k items), hence this. Raises ValueError when `items` is below the generated catalogue's size.
    """
    catalogue = products["sku"].to_pandas()
    if items < len(catalogue):
        raise ValueError(f"--items {items} is below the generated catalogue's {len(catalogue):,} products")
    base, extra = divmod(items, len(catalogue))
    variants = np.full(len(catalogue), base, dtype=np.int64) + (np.arange(len(catalogue)) < extra)
    product = pd.Index(catalogue).get_indexer(skus.to_pandas())
    if (product < 0).any():
        raise ValueError("order lines reference skus missing from the products file")
    customer, _ = pd.factorize(customers.to_pandas())
    variant = customer % variants[product]
    spread = pc.binary_join_element_wise(
        pc.cast(skus, pa.string()), pa.array(variant.astype(str)), "-"
    ).combine_chunks()
    repeat = np.repeat(np.arange(len(catalogue)), variants)
    within = np.arange(repeat.size) - np.repeat(np.cumsum(variants) - variants, variants)
    table = products.take(pa.array(repeat))
    suffix = pa.array(within.astype(str))
    names = pc.binary_join_element_wise(pc.cast(table["name"], pa.string()), pa.array(np.full(repeat.size, "v")), " ")
    return spread, pa.table(
        {
            "sku": pc.binary_join_element_wise(pc.cast(table["sku"], pa.string()), suffix, "-"),
            "name": pc.binary_join_element_wise(names, suffix, ""),
            "category": table["category"],
        }
    )


def sample_customers(lake: Path, n: int, seed: int) -> list[str]:
    """`n` distinct customer ids that have order lines in the lake (random, fixed seed)."""
    ids = pc.unique(pq.read_table(lake / "orders.parquet", columns=["customer_id"])["customer_id"])
    picked = np.random.default_rng(seed).choice(len(ids), size=min(n, len(ids)), replace=False)
    return [str(ids[int(i)]) for i in picked]


# --- process memory --------------------------------------------------------------------------------------------


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants (from /proc/<pid>/stat's ppid)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += parents.get(pid, [])
    return tree


def memory_mib(pid: int, field: str) -> float:
    """VmHWM (peak) or VmRSS (current) of one process in MiB; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def tree_memory(service: ServiceProcess, field: str) -> dict[int, float]:
    return {pid: memory_mib(pid, field) for pid in process_tree(service.process.pid)}


def describe_memory(values: dict[int, float]) -> str:
    return " + ".join(f"{v:,.0f}" for v in values.values()) + f" MiB (sum {sum(values.values()) / 1024:.2f} GiB)"


# --- training --------------------------------------------------------------------------------------------------


def train_run(service: ServiceProcess, lake: Path, as_of: pd.Timestamp) -> dict[str, object]:
    peak: dict[int, float] = {}
    phases: list[tuple[str, float]] = []
    with httpx.Client(base_url=service.url, headers=TOKEN_HEADERS, timeout=120) as client:
        started = time.perf_counter()
        run = client.post("/v1/runs", json={"as_of": as_of.isoformat(), "source_folder": lake.name}).json()
        while run["status"] in ("queued", "running"):
            time.sleep(0.25)
            for pid, value in tree_memory(service, "VmHWM").items():
                peak[pid] = max(peak.get(pid, 0.0), value)
            answer = client.get(f"/v1/models/{run['id']}")
            if answer.status_code != 200:
                print(f"  polling: {answer.status_code} {answer.text[:300]}")
                continue
            run = answer.json()
            if run.get("phase") and (not phases or phases[-1][0] != run["phase"]):
                phases.append((run["phase"], time.perf_counter() - started))
        elapsed = time.perf_counter() - started
        # "succeeded" is committed before the replica has unpickled and swapped the model in (seconds for a
        # large artifact): until then the first model's requests answer 503
        deadline = time.monotonic() + 300
        while run["status"] == "succeeded" and not client.get(f"/v1/models/{run['id']}").json()["serving"]:
            assert time.monotonic() < deadline, "the trained model never started serving"
            time.sleep(0.1)
        swapped = time.perf_counter() - started - elapsed
    for pid, value in tree_memory(service, "VmHWM").items():
        peak[pid] = max(peak.get(pid, 0.0), value)
    marks = [*phases, ("end", elapsed)]
    timeline = ", ".join(f"{name} {following - at:.1f} s" for (name, at), (_, following) in itertools.pairwise(marks))
    print(
        f"training run: {run['status']} in {elapsed:.1f} s from POST to {run['status']} "
        f"({run['customers'] or 0:,} customers, {run['items'] or 0:,} items, {run['order_lines'] or 0:,} order lines "
        f"read; artifact {(run['artifact_bytes'] or 0) / 2**20:,.0f} MiB); {run['error'] or ''}"
    )
    print(f"  phases as polled (first seen -> next): {timeline}; serving {swapped:.1f} s after that")
    print(f"  peak RSS (VmHWM) of the uvicorn process(es): {describe_memory(peak)}")
    print(f"  metrics: {json.dumps(run['metrics'])}")
    return run


# --- in-process serving profile --------------------------------------------------------------------------------


def profile_serving(url: str, model_id: str, customers: list[str], calls: int) -> None:
    import sqlalchemy as sa

    from rapport.db import make_engine
    from services.recommendation import serving

    engine = make_engine(url)
    with engine.connect() as connection:
        artifact = connection.execute(
            sa.text("SELECT artifact FROM model_runs WHERE id = :id"), {"id": uuid.UUID(model_id)}
        ).scalar_one()
    engine.dispose()
    started = time.perf_counter()
    model = pickle.loads(artifact)
    print(
        f"in-process: unpickling the {len(artifact) / 2**20:,.0f} MiB artifact took {time.perf_counter() - started:.1f} s"
    )
    ids = customers[:calls]
    similarity = model.estimator.similarity_
    history = np.diff(model.affinity.indptr)
    print(
        f"  model: {len(model.items):,} items x {len(model.customers):,} customers; item similarity "
        f"{type(similarity).__name__} {similarity.shape[0]:,} x {similarity.shape[1]:,} with {similarity.nnz:,} stored "
        f"values ({similarity.nnz / max(similarity.shape[0], 1):.0f} per item); items per customer row: mean "
        f"{history.mean():.1f}, p99 {np.percentile(history, 99):.0f}"
    )
    strategies: dict[str, int] = {}
    timings = []
    for customer in ids:
        at = time.perf_counter()
        _, strategy = serving.recommend(model, customer, k=10)
        timings.append(time.perf_counter() - at)
        strategies[strategy] = strategies.get(strategy, 0) + 1
    ms = np.array(timings) * 1000
    print(
        f"in-process serving.recommend(k=10) over {len(ids):,} customers ({strategies}): mean {ms.mean():.2f} ms, "
        f"p50 {np.percentile(ms, 50):.2f} ms, p99 {np.percentile(ms, 99):.2f} ms "
        f"(= {1000 / ms.mean():,.0f} calls/s on one core before HTTP)"
    )
    profiler = cProfile.Profile()
    profiler.enable()
    for customer in ids:
        serving.recommend(model, customer, k=10)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(14)
    print("  cProfile, by own time:")
    print("\n".join("    " + line for line in out.getvalue().splitlines() if line.strip()))


# --- load ------------------------------------------------------------------------------------------------------


def _client(port: int, paths: list[bytes], start: float, measure_from: float, until: float, out: mp.Queue) -> None:
    """One closed-loop client on one keep-alive connection; sends its latencies (s) of the measured window."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    headers = f"Host: 127.0.0.1:{port}\r\nX-Service-Token: {DEV_SERVICE_TOKEN}\r\n\r\n".encode()
    latencies: list[float] = []
    errors = 0
    statuses: dict[int, int] = {}
    buffer = b""
    i = 0
    while time.time() < start:
        time.sleep(0.005)
    while True:
        now = time.time()
        if now >= until:
            break
        request = b"GET " + paths[i % len(paths)] + b" HTTP/1.1\r\n" + headers
        i += 1
        at = time.perf_counter()
        sock.sendall(request)
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            buffer += chunk
        head, _, buffer = buffer.partition(b"\r\n\r\n")
        status = int(head[9:12])
        match = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
        length = int(match.group(1)) if match else 0
        while len(buffer) < length:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            buffer += chunk
        buffer = buffer[length:]
        elapsed = time.perf_counter() - at
        if now >= measure_from:
            latencies.append(elapsed)
            statuses[status] = statuses.get(status, 0) + 1
            errors += status != 200
    sock.close()
    out.put((latencies, errors, statuses))


def service_durations(log_path: Path, start: int, end: int) -> np.ndarray:
    """`duration_ms` of the recommendation requests in the access log between two byte offsets."""
    with open(log_path, "rb") as log:
        log.seek(start)
        text = log.read(end - start).decode(errors="replace")
    values = []
    for line in text.splitlines():
        if "duration_ms" not in line or "recommendations" not in line:
            continue
        match = re.search(r'"duration_ms":\s*([0-9.]+)', line)
        if match:
            values.append(float(match.group(1)))
    return np.array(values)


def load_test(
    service: ServiceProcess, customers: list[str], *, clients: int, duration: float, warmup: float, label: str
) -> None:
    port = int(service.url.rsplit(":", 1)[1])
    paths = [f"/v1/customers/{c}/recommendations?k=10".encode() for c in customers]
    context = mp.get_context("fork")
    out: mp.Queue = context.Queue()
    start = time.time() + 0.5
    measure_from, until = start + warmup, start + warmup + duration
    processes = []
    for n in range(clients):
        share = paths[n::clients] or paths
        processes.append(context.Process(target=_client, args=(port, share, start, measure_from, until, out)))
    for process in processes:
        process.start()
    time.sleep(max(0.0, measure_from - time.time()))
    log_from = service.log_path.stat().st_size
    cpu_from = os.times()
    results = [out.get(timeout=duration + warmup + 60) for _ in processes]
    log_to = service.log_path.stat().st_size
    for process in processes:
        process.join()
    latencies = np.concatenate([np.array(r[0]) for r in results]) * 1000
    errors = sum(r[1] for r in results)
    statuses: dict[int, int] = {}
    for r in results:
        for status, count in r[2].items():
            statuses[status] = statuses.get(status, 0) + count
    cpu_to = os.times()
    client_cpu = (cpu_to.children_user + cpu_to.children_system) - (cpu_from.children_user + cpu_from.children_system)
    served = service_durations(service.log_path, log_from, log_to)
    rss = tree_memory(service, "VmRSS")
    side = (
        f"; service-side (access log, {len(served):,} requests) p50 {np.percentile(served, 50):.2f} ms, "
        f"p99 {np.percentile(served, 99):.2f} ms"
        if len(served)
        else ""
    )
    print(
        f"  {label}, {clients} client processes x 1 connection, {duration:.0f} s after {warmup:.0f} s warm-up: "
        f"{len(latencies) / duration:,.0f} req/s ({len(latencies):,} requests, {errors} errors, statuses {statuses}); "
        f"client p50 {np.percentile(latencies, 50):.2f} ms, p90 {np.percentile(latencies, 90):.2f} ms, "
        f"p99 {np.percentile(latencies, 99):.2f} ms, max {latencies.max():.1f} ms{side}; "
        f"client CPU {client_cpu / duration:.2f} cores (incl. warm-up); service RSS {describe_memory(rss)}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )


def strategy_mix(service: ServiceProcess, customers: list[str], n: int) -> None:
    counts: dict[str, int] = {}
    items = 0
    with httpx.Client(base_url=service.url, headers=TOKEN_HEADERS, timeout=30) as client:
        for customer in customers[:n]:
            answer = client.get(f"/v1/customers/{customer}/recommendations", params={"k": 10})
            assert answer.status_code == 200, f"{customer}: {answer.status_code} {answer.text[:1000]}"
            body = answer.json()
            counts[body["strategy"]] = counts.get(body["strategy"], 0) + 1
            items += len(body["items"])
    print(f"  answers for {n} of the sampled customers: {counts}, {items / n:.1f} items each")


# --- starting a replica on a database that already holds a model ----------------------------------------------


def _artifact_of(session, model_id):  # type: ignore[no-untyped-def]
    """`store.artifact_of` without the `undefer` option that SQLAlchemy rejects on a column-only select."""
    from sqlalchemy import select

    from services.recommendation.models import ModelRun

    return session.scalar(select(ModelRun.artifact).where(ModelRun.id == model_id))


def patched_app():  # type: ignore[no-untyped-def]
    """The recommendation app with `store.artifact_of` replaced (uvicorn factory used when the real one fails)."""
    from services.recommendation import app, store

    store.artifact_of = _artifact_of
    return app.create_app()


def artifact_of_works(url: str, model_id: str) -> bool:
    """Whether `store.artifact_of` can load a stored model (a replica calls it at start-up and every 5 s)."""
    from sqlalchemy.orm import sessionmaker

    from rapport.db import make_engine
    from services.recommendation import store

    engine = make_engine(url)
    try:
        with sessionmaker(engine)() as session:
            return store.artifact_of(session, uuid.UUID(model_id)) is not None
    except Exception as error:
        print(f"store.artifact_of fails: {type(error).__name__}: {str(error).splitlines()[0]}")
        return False
    finally:
        engine.dispose()


# --- main ------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--items", type=int, default=None, help="spread the generated catalogue to this many skus (e.g. 100000)"
    )
    parser.add_argument("--data-dir", type=Path, default=Path("var/bench-data"))
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="uvicorn worker counts to load")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8], help="concurrent client processes")
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds per load level")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--sample", type=int, default=20_000, help="distinct customer ids to request")
    parser.add_argument("--profile", type=int, default=2000, help="in-process serving calls to time (0: skip)")
    args = parser.parse_args()
    as_of = pd.Timestamp("2026-01-01", tz="UTC")

    started = time.perf_counter()
    lake = lake_folder(args.data_dir, args.customers, args.seed, args.items)
    lines = pq.read_metadata(lake / "orders.parquet").num_rows
    products = pq.read_metadata(lake / "products.parquet").num_rows
    print(
        f"lake folder {lake} ready in {time.perf_counter() - started:.1f} s: {args.customers:,} customers generated, "
        f"{lines:,} order lines, {products:,} products; load average {os.getloadavg()[0]:.1f}"
    )
    customers = sample_customers(lake, args.sample, args.seed)

    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/rapport_bench_{uuid.uuid4().hex[:8]}"
    ensure_database(url)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            env = {"RAPPORT_DATA_LAKE_DIR": str(lake.parent)}
            service = start_service(Service.recommendation, url, var_dir=Path(scratch), workers=1, **env)
            try:
                print(f"service idle RSS: {describe_memory(tree_memory(service, 'VmRSS'))}")
                run = train_run(service, lake, as_of)
                if run["status"] != "succeeded":
                    return
                strategy_mix(service, customers, 200)
                if 1 in args.workers:
                    print(f"load, 1 uvicorn worker, {len(customers):,} distinct customer ids, k=10:")
                    for clients in args.clients:
                        load_test(
                            service, customers, clients=clients, duration=args.duration, warmup=args.warmup,
                            label="1 worker",
                        )  # fmt: skip
            finally:
                service.stop()
            if args.profile:
                profile_serving(url, run["id"], customers, args.profile)
            replica: object = Service.recommendation
            if [w for w in args.workers if w != 1] and not artifact_of_works(url, run["id"]):
                print(
                    "  -> a replica cannot load the stored model at start-up; the runs below use "
                    "bench.recommendation:patched_app (the app with a working artifact_of)"
                )
                replica = SimpleNamespace(value="recommendation", app_factory="bench.recommendation:patched_app")
            for workers in [w for w in args.workers if w != 1]:
                started = time.perf_counter()
                service = start_service(replica, url, var_dir=Path(scratch), workers=workers, **env)  # type: ignore[arg-type]
                try:
                    print(
                        f"{workers} workers ready (model loaded from the database) in "
                        f"{time.perf_counter() - started:.1f} s; RSS {describe_memory(tree_memory(service, 'VmRSS'))}"
                    )
                    print(f"load, {workers} uvicorn workers, {len(customers):,} distinct customer ids, k=10:")
                    for clients in args.clients:
                        load_test(
                            service, customers, clients=clients, duration=args.duration, warmup=args.warmup,
                            label=f"{workers} workers",
                        )  # fmt: skip
                finally:
                    service.stop()
    finally:
        drop_database(url)
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
