"""Gateway benchmark: overhead of a proxied GET against the same GET sent to the service directly, and
the customer 360 under concurrent load, in one run on one machine.

    .venv/bin/python bench/gateway.py --customers 2000 --clients 1 4 --duration 6

Generates the demo data set, starts customers, segmentation and recommendation as uvicorn processes on
SQLite files in a temporary folder, loads the demo data, runs one segmentation run and trains one
recommendation model, loads the demo feedback, and starts the gateway with a frontend key. Then, for C closed-loop
clients (one aiohttp session each, in a separate process so the client's CPU is visible as such):
1. GET /v1/customers/{id} on the customers service directly (internal token);
2. GET /api/v1/customers/{id} through the gateway (API key), the same ids;
3. GET /api/v1/customers/{id}/360 through the gateway;
4. the 360 in an open loop: requests arriving at fixed mean rates (Poisson), however many are in flight,
   latency counted from each request's scheduled time: p99 at a given load, where a closed loop at
   saturation measures only its own queue;
5. the upstream client choice: the same direct GET from httpx.AsyncClient and from aiohttp in one process.
Clients and services share the machine's 2 cores; the load average is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
import httpx

from bench.cpu import cpu_seconds, idle_cpu
from gateway import keys
from gateway.models import Role
from rapport import migrations
from rapport.config import DEV_SERVICE_TOKEN, Service
from rapport.db import make_engine, make_sessionmaker
from rapport.demo import generate
from rapport.http import ServiceClient
from services.customers import demo as customers_demo
from services.feedback import demo as feedback_demo
from services.feedback import train as feedback_train
from services.recommendation import demo as recommendation_demo
from services.segmentation import demo as segmentation_demo
from tests.feedback.support import DATA_DIR, MODEL_DIR
from tests.support import ServiceProcess, start_service

TOKEN = {"X-Service-Token": DEV_SERVICE_TOKEN}
LIMITS = '{"frontend": {"per_second": 1000000, "burst": 1000000}}'


async def _client_loop(
    urls: list[str], headers: dict[str, str], seconds: float, warmup: float
) -> tuple[list[float], int]:
    """Latencies after the warm-up, and how many requests were sent in all."""
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=1, keepalive_timeout=4)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        start = time.perf_counter()
        index = 0
        while (now := time.perf_counter()) - start < warmup + seconds:
            async with session.get(urls[index % len(urls)]) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{urls[index % len(urls)]}: {response.status} {await response.text()}")
            if now - start >= warmup:
                latencies.append(time.perf_counter() - now)
            index += 1
    return latencies, index


async def _open_loop(
    urls: list[str], headers: dict[str, str], rate: float, seconds: float, warmup: float
) -> tuple[list[float], int]:
    """Requests sent at Poisson arrival times, `rate` a second, however many are in flight; each latency
    runs from the request's scheduled time, so a stalled server is not hidden by a client that waits."""
    latencies: list[float] = []
    rng = random.Random(7)
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=4)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def one(url: str, due: float, measured: bool) -> None:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            async with session.get(url) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{url}: {response.status}")
            if measured:
                latencies.append(time.perf_counter() - due)

        start = time.perf_counter()
        due, index, tasks = start, 0, []
        while due - start < warmup + seconds:
            due += rng.expovariate(rate)
            tasks.append(asyncio.create_task(one(urls[index % len(urls)], due, due - start >= warmup)))
            index += 1
        await asyncio.gather(*tasks)
    return latencies, index


def _open_loop_process(urls: list[str], headers: dict[str, str], rate: float, seconds: float, out: mp.Queue) -> None:
    out.put(asyncio.run(_open_loop(urls, headers, rate, seconds, warmup=1.0)))


def open_loop(urls: list[str], headers: dict[str, str], *, rate: float, seconds: float) -> dict[str, float]:
    """p50, p99 and the largest latency (ms) of requests arriving at `rate` a second (Poisson)."""
    queue: mp.Queue = mp.Queue()
    process = mp.Process(target=_open_loop_process, args=(urls, headers, rate, seconds, queue))
    process.start()
    latencies, _ = queue.get()
    process.join()
    latencies.sort()
    return {
        "rps": len(latencies) / seconds,
        "p50": 1000 * statistics.median(latencies),
        "p99": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "max": 1000 * latencies[-1],
    }


def _client_process(urls: list[str], headers: dict[str, str], seconds: float, warmup: float, out: mp.Queue) -> None:
    out.put(asyncio.run(_client_loop(urls, headers, seconds, warmup)))


def load(
    urls: list[str],
    headers: dict[str, str],
    *,
    clients: int,
    seconds: float,
    warmup: float = 1.0,
    servers: list[int] | None = None,
    idle: list[float] | None = None,
) -> dict[str, float]:
    """req/s, p50 and p99 (ms) of `clients` closed-loop clients, each in its own process, and the servers'
    CPU milliseconds per request (warm-up included in both counts, so the ratio is fair), less what each
    uses when idle (`idle`, CPU seconds per second)."""
    queue: mp.Queue = mp.Queue()
    cpu_before = cpu_seconds(servers or [])
    started = time.perf_counter()
    processes = [
        mp.Process(target=_client_process, args=(urls[i::clients] or urls, headers, seconds, warmup, queue))
        for i in range(clients)
    ]
    for process in processes:
        process.start()
    per_client = [queue.get() for _ in processes]
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - started
    cpu = [after - before for before, after in zip(cpu_before, cpu_seconds(servers or []), strict=True)]
    cpu = [max(0.0, used - rate * elapsed) for used, rate in zip(cpu, idle or [0.0] * len(cpu), strict=True)]
    latencies = sorted(value for values, _ in per_client for value in values)
    requests = sum(count for _, count in per_client)
    return {
        "cpu_ms": 1000 * sum(cpu) / requests,
        **{f"cpu_ms_{i}": 1000 * used / requests for i, used in enumerate(cpu)},
        "rps": len(latencies) / seconds,
        "p50": 1000 * statistics.median(latencies),
        "p99": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
    }


async def _compare_clients(url: str, ids: list[str], *, concurrency: int, seconds: float) -> dict[str, float]:
    """Requests/s of the same direct GETs from httpx.AsyncClient and aiohttp, `concurrency` at a time."""

    async def run(get: object) -> float:
        count = 0
        deadline = time.perf_counter() + seconds

        async def worker(offset: int) -> None:
            nonlocal count
            index = offset
            while time.perf_counter() < deadline:
                await get(f"{url}/v1/customers/{ids[index % len(ids)]}")  # type: ignore[operator]
                count += 1
                index += concurrency

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        return count / seconds

    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100, keepalive_expiry=4)
    async with httpx.AsyncClient(headers=TOKEN, limits=limits) as client:

        async def httpx_get(target: str) -> None:
            (await client.get(target)).raise_for_status()

        httpx_rps = await run(httpx_get)
    connector = aiohttp.TCPConnector(limit=100, keepalive_timeout=4)
    async with aiohttp.ClientSession(headers=TOKEN, connector=connector) as session:

        async def aiohttp_get(target: str) -> None:
            async with session.get(target) as response:
                await response.read()
                response.raise_for_status()

        aiohttp_rps = await run(aiohttp_get)
    return {"httpx": httpx_rps, "aiohttp": aiohttp_rps}


def _train(urls: dict[Service, str], data: Path) -> None:
    threads = []
    for service, loader in (
        (Service.segmentation, segmentation_demo.load),
        (Service.recommendation, recommendation_demo.load),
    ):

        def run(service: Service = service, loader: object = loader) -> None:
            with ServiceClient(urls[service], token=DEV_SERVICE_TOKEN, timeout=600) as client:
                print(f"  {service.value}: {loader(client, data)}")  # type: ignore[operator]

        threads.append(threading.Thread(target=run))
        threads[-1].start()
    for thread in threads:
        thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--duration", type=float, default=6.0)
    parser.add_argument("--ids", type=int, default=200, help="distinct customers the load cycles through")
    parser.add_argument("--only-360", action="store_true", help="measure only the customer 360 (e.g. to profile it)")
    parser.add_argument(
        "--rates", type=float, nargs="*", default=[25, 50, 75, 100], help="open-loop 360 arrival rates (req/s)"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="rapport-bench-gateway-"))
    data = folder / "demo"
    started = time.perf_counter()
    manifest = generate(data, customers=args.customers, seed=42, fmt="csv")
    print(f"data: {manifest.counts} ({time.perf_counter() - started:.1f} s to generate)")
    processes: list[ServiceProcess] = []
    feedback_train.load_or_train(MODEL_DIR, DATA_DIR)
    try:
        customers = start_service(Service.customers, f"sqlite:///{folder}/customers.db", var_dir=folder)
        processes.append(customers)
        for service in (Service.segmentation, Service.recommendation):
            url = f"sqlite:///{folder}/{service.value}.db"
            processes.append(start_service(service, url, var_dir=folder, RAPPORT_CUSTOMERS_URL=customers.url))
        urls = {p.service: p.url for p in processes}
        with ServiceClient(customers.url, token=DEV_SERVICE_TOKEN, timeout=600) as client:
            print(f"  customers: {customers_demo.load(client, data)}")
            ids = [c["id"] for c in client.get("/v1/customers", params={"limit": args.ids}).json()["items"]]
        _train(urls, data)
        feedback = start_service(
            Service.feedback,
            f"sqlite:///{folder}/feedback.db",
            var_dir=folder,
            RAPPORT_FEEDBACK_MODEL_DIR=str(MODEL_DIR),
            RAPPORT_LOG_LEVEL="WARNING",
            **{f"RAPPORT_{s.value.upper()}_URL": u for s, u in urls.items()},
        )
        processes.append(feedback)
        urls[Service.feedback] = feedback.url
        with ServiceClient(feedback.url, token=DEV_SERVICE_TOKEN, timeout=600) as client:
            print(f"  feedback: {feedback_demo.load(client, data)}")
        gateway_db = f"sqlite:///{folder}/gateway.db"
        migrations.upgrade(Service.gateway, gateway_db)
        with make_sessionmaker(make_engine(gateway_db))() as session, session.begin():
            _, secret = keys.create(session, name="bench", role=Role.frontend)
        env = {f"RAPPORT_{s.value.upper()}_URL": u for s, u in urls.items()}
        gateway = start_service(
            Service.gateway,
            gateway_db,
            var_dir=folder,
            RAPPORT_GATEWAY_RATE_LIMITS=LIMITS,
            RAPPORT_LOG_LEVEL="WARNING",
            **env,
        )
        processes.append(gateway)
        bearer = {"Authorization": f"Bearer {secret}"}
        one = httpx.get(f"{gateway.url}/api/v1/customers/{ids[0]}/360", headers=bearer)
        profile = httpx.get(f"{customers.url}/v1/customers/{ids[0]}", headers=TOKEN)
        print(
            f"360 document: {len(one.content):,} bytes, degraded {one.json()['degraded']}; profile {len(profile.content):,} bytes"
        )
        print(f"load average before: {os.getloadavg()[0]:.2f}")
        servers = [p.process.pid for p in processes]
        idle = idle_cpu(servers)
        print(
            "idle CPU ms/s: "
            + ", ".join(f"{p.service.value} {1000 * r:.1f}" for p, r in zip(processes, idle, strict=True))
        )
        print("server pids: " + ", ".join(f"{p.service.value} {p.process.pid}" for p in processes), flush=True)
        print("| what | clients | req/s | p50 ms | p99 ms | server CPU ms/request (less idle) |")
        print("| --- | --- | --- | --- | --- | --- |")
        for clients in args.clients:
            cases = {
                "GET customer, direct": ([f"{customers.url}/v1/customers/{i}" for i in ids], TOKEN),
                "GET customer, through the gateway": ([f"{gateway.url}/api/v1/customers/{i}" for i in ids], bearer),
                "customer 360, through the gateway": ([f"{gateway.url}/api/v1/customers/{i}/360" for i in ids], bearer),
            }
            if args.only_360:
                cases = {k: v for k, v in cases.items() if "360" in k}
            for name, (targets, headers) in cases.items():
                figures = load(targets, headers, clients=clients, seconds=args.duration, servers=servers, idle=idle)
                print(
                    f"| {name} | {clients} | {figures['rps']:,.0f} | {figures['p50']:.2f} | {figures['p99']:.2f}"
                    f" | {figures['cpu_ms']:.2f} |"
                )
                if "360" in name:
                    parts = ", ".join(
                        f"{p.service.value} {figures[f'cpu_ms_{i}']:.2f}" for i, p in enumerate(processes)
                    )
                    print(f"  CPU ms per 360 by process: {parts}", flush=True)
        if args.rates:
            print("\n| customer 360, open loop (Poisson arrivals) | req/s | p50 ms | p99 ms | max ms |")
            print("| --- | --- | --- | --- | --- |")
        for rate in args.rates:
            targets = [f"{gateway.url}/api/v1/customers/{i}/360" for i in ids]
            figures = open_loop(targets, bearer, rate=rate, seconds=max(args.duration, 10.0))
            print(
                f"| {rate:g} a second | {figures['rps']:,.0f} | {figures['p50']:.2f} | {figures['p99']:.2f}"
                f" | {figures['max']:.2f} |",
                flush=True,
            )
        compared = asyncio.run(_compare_clients(customers.url, ids, concurrency=8, seconds=args.duration))
        print(
            f"upstream client, direct GET customer, 8 concurrent, one process: httpx {compared['httpx']:,.0f} req/s, aiohttp {compared['aiohttp']:,.0f} req/s"
        )
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    finally:
        for process in processes:
            process.stop()


if __name__ == "__main__":
    main()
