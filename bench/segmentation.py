"""Segmentation benchmark: a run end to end through the real service, phase timings, KMeans vs MiniBatchKMeans.

    .venv/bin/python bench/segmentation.py --customers 1000000 --backend postgresql
    .venv/bin/python bench/segmentation.py --customers 100000 --backend sqlite --parts rfm tiers clusters churn clv

Generates the demo data set as Parquet (or reuses it under --data-dir), converts it into the customers
export's columns in a data-lake folder (as a nightly export job would leave it), then:
1. times each step of the pipeline in-process on that data (read, RFM, tiers, clusters, churn, CLV);
2. compares KMeans and MiniBatchKMeans on the scaled RFM features (time, silhouette on a sample, and
   inertia on all rows), at the k the run chose;
3. starts the segmentation service as a uvicorn process on a fresh database and times a run with
   `source_folder` from POST to `succeeded` (reading, computing and storing one score row per customer).
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
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import itertools

from rapport.config import Service, Settings
from rapport.db import drop_database, ensure_database
from rapport.demo import generate
from services.segmentation import clustering, pipeline, sources
from tests.support import TOKEN_HEADERS, start_service


def lake_folder(data_dir: Path, customers: int, seed: int) -> Path:
    """The generated data set in the export's columns, generating and converting it when missing."""
    raw = data_dir / f"customers{customers}-seed{seed}-parquet"
    if not (raw / "manifest.json").exists():
        generate(raw, customers=customers, seed=seed, fmt="parquet")
    lake = data_dir / "lake" / f"customers{customers}-seed{seed}"
    if (lake / "orders.parquet").exists():
        return lake
    lake.mkdir(parents=True, exist_ok=True)
    rates = {code: float(rate) for code, rate in Settings().fx_rates.items()}
    lines = pq.read_table(raw / "orders.parquet")
    order_ids, _ = pd.factorize(lines["order_external_id"].to_pandas())
    rate = lines["currency"].to_pandas().astype(str).map(rates)
    total = lines["quantity"].to_pandas().astype(float) * lines["unit_price"].to_pandas().astype(float) * rate
    pq.write_table(
        pa.table(
            {
                "order_id": pa.array(order_ids.astype("int64")),
                "customer_id": lines["customer_external_id"],
                "placed_at": pc.cast(lines["placed_at"], pa.timestamp("us", tz="UTC")),
                "status": lines["status"],
                "line_total_base": pa.array(total.round(2).to_numpy()),
            }
        ),
        lake / "orders.parquet",
    )
    people = pq.read_table(raw / "customers.parquet").to_pandas()
    people = people.rename(columns={"external_id": "id", "created_at": "signed_up_at"})
    pq.write_table(pa.Table.from_pandas(people, preserve_index=False), lake / "customers.parquet")
    interactions = pq.read_table(raw / "interactions.parquet", columns=["customer_external_id", "occurred_at"])
    pq.write_table(interactions.rename_columns(["customer_id", "occurred_at"]), lake / "interactions.parquet")
    return lake


def phase_timings(lake: Path, as_of: pd.Timestamp, parts: list[str]) -> tuple[sources.Inputs, dict[str, float]]:
    timings: dict[str, float] = {}
    started = time.perf_counter()
    inputs = sources.read_folder(lake, as_of=as_of, interactions="churn" in parts)
    timings["read"] = time.perf_counter() - started
    marks: list[tuple[str, float]] = []
    started = time.perf_counter()
    pipeline.run(
        inputs,
        as_of=as_of,
        parts=parts,
        params=pipeline.RunParams(),
        progress=lambda phase, _: marks.append((phase, time.perf_counter())),
    )
    marks.append(("end", time.perf_counter()))
    timings["prepare"] = marks[0][1] - started
    for (phase, at), (_, following) in itertools.pairwise(marks):
        timings[phase] = following - at
    return inputs, timings


def compare_kmeans(inputs: sources.Inputs, as_of: pd.Timestamp, k: int) -> None:
    from sklearn.cluster import KMeans, MiniBatchKMeans
    from sklearn.metrics import silhouette_score
    from sklearn.preprocessing import StandardScaler

    from services.segmentation import rfm

    values = rfm.rfm_values(inputs.orders, as_of=as_of)[["recency_days", "frequency", "monetary"]]
    scaled = StandardScaler().fit_transform(clustering._transform(values))
    sample = np.random.default_rng(0).choice(len(scaled), size=min(5000, len(scaled)), replace=False)
    for name, model in (
        ("KMeans", KMeans(n_clusters=k, n_init=3, random_state=0)),
        ("MiniBatchKMeans", MiniBatchKMeans(n_clusters=k, n_init=3, random_state=0, batch_size=4096)),
    ):
        started = time.perf_counter()
        model.fit(scaled)
        elapsed = time.perf_counter() - started
        silhouette = silhouette_score(scaled[sample], model.labels_[sample])
        inertia = float(((scaled - model.cluster_centers_[model.labels_]) ** 2).sum())
        print(
            f"  {name:<16} {len(scaled):,} rows k={k}: {elapsed:.2f} s, silhouette {silhouette:.4f}, inertia {inertia:,.0f}"
        )


def service_run(lake: Path, backend: str, as_of: pd.Timestamp, parts: list[str]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        if backend == "postgresql":
            url = f"postgresql+psycopg://postgres@127.0.0.1:5432/rapport_bench_{uuid.uuid4().hex[:8]}"
            ensure_database(url)
        else:
            url = f"sqlite:///{scratch}/segmentation.db"
        service = start_service(
            Service.segmentation,
            url,
            var_dir=Path(scratch),
            RAPPORT_DATA_LAKE_DIR=str(lake.parent),
            RAPPORT_LOG_LEVEL="WARNING",
        )
        try:
            with httpx.Client(base_url=service.url, headers=TOKEN_HEADERS, timeout=60) as client:
                started = time.perf_counter()
                body = {"as_of": as_of.isoformat(), "parts": parts, "source_folder": lake.name}
                run = client.post("/v1/runs", json=body).json()
                while run["status"] in ("queued", "running"):
                    time.sleep(0.2)
                    run = client.get(f"/v1/runs/{run['id']}").json()
                elapsed = time.perf_counter() - started
            print(
                f"service run on {backend} ({'+'.join(parts)}): {run['status']} in {elapsed:.1f} s end to end "
                f"({run['customers']:,} customers, {run['order_lines']:,} order lines); {run['error'] or ''}"
            )
        finally:
            service.stop()
            if backend == "postgresql":
                drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=Path("var/bench-data"))
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--parts", nargs="+", default=["rfm", "tiers", "clusters"])
    parser.add_argument("--skip-service", action="store_true")
    args = parser.parse_args()
    as_of = pd.Timestamp("2026-01-01", tz="UTC")
    started = time.perf_counter()
    lake = lake_folder(args.data_dir, args.customers, args.seed)
    print(f"lake folder {lake} ready in {time.perf_counter() - started:.1f} s; load average {os.getloadavg()[0]:.1f}")
    inputs, timings = phase_timings(lake, as_of, args.parts)
    print(
        f"in-process, {inputs.customers.shape[0]:,} customers, {inputs.order_lines:,} order lines "
        f"({len(inputs.orders):,} orders): "
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items())
        + f"; total {sum(timings.values()):.1f} s"
    )
    if "clusters" in args.parts:
        compare_kmeans(inputs, as_of, k=5)
    if not args.skip_service:
        service_run(lake, args.backend, as_of, args.parts)
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
