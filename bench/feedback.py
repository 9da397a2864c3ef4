"""Feedback service benchmark: batch writes (texts/s through the API, analysis included) and single-write latency.

    .venv/bin/python bench/feedback.py --records 50000 --database postgresql
    .venv/bin/python bench/feedback.py --records 20000 --database sqlite --singles 1000

Texts come from the demo generator (English and Chinese, every channel, NPS/CSAT where the generator gives
them; ~12% empty). On a fresh database (dropped at the end), with no segmentation service (the value
lookup answers "unknown" at once, so alerts fire on text and score alone):
1. `POST /v1/feedback:batch` of --batch records, sequentially: records/s end to end, i.e. validation,
   language detection, sentiment, aspects, the insert and the alert rules;
2. `POST /v1/feedback` one record at a time, dated now so every write runs the real-time alert rules:
   p50 / p99 latency at the client, with one keep-alive connection.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rapport.config import Service
from rapport.db import drop_database, ensure_database
from rapport.demo import generate
from services.feedback import train
from tests.support import TOKEN_HEADERS, free_port, start_service

REPO = Path(__file__).resolve().parents[1]


def demo_records(customers: int, seed: int, folder: Path) -> list[dict[str, object]]:
    generate(folder, customers=customers, seed=seed, fmt="csv")
    frame = pd.read_csv(folder / "feedback.csv", dtype={"text": str, "external_id": str})
    records = []
    for row in frame.itertuples(index=False):
        record: dict[str, object] = {
            "channel": row.channel,
            "text": row.text if isinstance(row.text, str) else "",
            "occurred_at": row.occurred_at,
            "source": "bench",
            "external_id": row.external_id,
            "customer_id": str(row.customer_external_id),
        }
        for score in ("nps", "csat"):
            if pd.notna(getattr(row, score)):
                record[score] = int(getattr(row, score))
        if record["text"] or "nps" in record or "csat" in record:
            records.append(record)
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--singles", type=int, default=1000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    args = parser.parse_args()

    model_dir, data_dir = REPO / "var" / "models" / "feedback", REPO / "var" / "datasets"
    train.load_or_train(model_dir, data_dir)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        records: list[dict[str, object]] = []
        customers = max(1000, args.records // 2)
        while len(records) < args.records:
            records = demo_records(customers, 7, folder / f"demo{customers}")
            customers *= 2
        records = records[: args.records]
        if args.database == "postgresql":
            url = f"postgresql+psycopg://postgres@127.0.0.1:5432/rapport_bench_feedback_{uuid.uuid4().hex[:8]}"
            ensure_database(url)
        else:
            url = f"sqlite:///{folder / 'feedback.db'}"
        nowhere = f"http://127.0.0.1:{free_port()}"
        service = start_service(
            Service.feedback,
            url,
            var_dir=folder / "var",
            RAPPORT_CUSTOMERS_URL=nowhere,
            RAPPORT_SEGMENTATION_URL=nowhere,
            RAPPORT_FEEDBACK_MODEL_DIR=str(model_dir),
            RAPPORT_LOG_LEVEL="WARNING",
        )
        try:
            with httpx.Client(base_url=service.url, headers=TOKEN_HEADERS, timeout=300) as client:
                client.post("/v1/feedback:batch", json={"records": records[:10]})  # warm-up: jieba, models
                texts = sum(1 for r in records if r["text"])
                started = time.perf_counter()
                for start in range(10, len(records), args.batch):
                    answer = client.post("/v1/feedback:batch", json={"records": records[start : start + args.batch]})
                    answer.raise_for_status()
                elapsed = time.perf_counter() - started
                written = len(records) - 10
                print(
                    f"batch writes ({args.database}, batches of {args.batch}): {written:,} records "
                    f"({texts:,} with text) in {elapsed:.1f} s = {written / elapsed:,.0f} records/s"
                )
                latencies = []
                for i in range(args.singles):
                    record = dict(records[i % len(records)], external_id=f"single-{i}")
                    record.pop("occurred_at")  # now: the alert rules run
                    t0 = time.perf_counter()
                    client.post("/v1/feedback", json=record).raise_for_status()
                    latencies.append(time.perf_counter() - t0)
                ms = np.array(latencies) * 1000
                alerts = client.get("/v1/alerts", params={"status": "open", "limit": 1000}).json()["items"]
                print(
                    f"single writes ({args.database}, {args.singles:,} after {written:,} stored): "
                    f"p50 {np.percentile(ms, 50):.1f} ms, p99 {np.percentile(ms, 99):.1f} ms, "
                    f"{args.singles / (ms.sum() / 1000):,.0f} writes/s on one connection; {len(alerts)} alerts open"
                )
        finally:
            service.stop()
            if args.database == "postgresql":
                drop_database(url)


if __name__ == "__main__":
    main()
