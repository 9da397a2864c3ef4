"""Time the synthetic data generator (rapport.demo.generate) and report throughput and memory.

    .venv/bin/python bench/generate.py --customers 1000000 --seed 1 --fmt csv --out var/bench-data

Prints the machine (CPU model and count, memory, Python and library versions), the run's size,
elapsed wall time, rows and rows/s per table (rows over the whole run, since tables are produced
interleaved chunk by chunk), order lines/s, file sizes and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from rapport.demo import FORMATS, TABLES, generate


def machine() -> dict[str, object]:
    """Return what the figures depend on: CPU, memory, Python and library versions."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kib = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
        memory = f"{mem_kib / 2**20:.1f} GiB"
    except OSError:
        memory = "unknown"
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory": memory,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "pyarrow": pa.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fmt", choices=FORMATS, default="csv")
    parser.add_argument("--out", type=Path, default=Path("var/bench-data"))
    parser.add_argument("--chunk-customers", type=int, default=50_000)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2024, 1, 1))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2025, 12, 31))
    parser.add_argument("--json", action="store_true", help="also print the results as one JSON line")
    args = parser.parse_args(argv)

    info = machine()
    print(f"machine: {info['cpu']}, {info['cpus']} CPUs, {info['memory']}")
    print(f"python {info['python']}, numpy {info['numpy']}, pandas {info['pandas']}, pyarrow {info['pyarrow']}")
    print(f"size: {args.customers:,} customers, fmt={args.fmt}, seed={args.seed}, chunk={args.chunk_customers:,}")

    started = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        print(f"  {time.perf_counter() - started:7.1f} s  {stage} {done:,}/{total:,}", file=sys.stderr, flush=True)

    manifest = generate(
        args.out,
        customers=args.customers,
        seed=args.seed,
        fmt=args.fmt,
        start=args.start,
        end=args.end,
        chunk_customers=args.chunk_customers,
        progress=progress,
    )
    elapsed = time.perf_counter() - started
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    sizes = {name: (args.out / manifest.files[name]).stat().st_size for name in TABLES}
    total_rows = sum(manifest.counts.values())
    print(f"elapsed: {elapsed:.1f} s, peak RSS: {peak_rss_mib:,.0f} MiB")
    print(f"{'table':<13}{'rows':>13}{'rows/s':>13}{'MiB':>10}")
    for name in TABLES:
        rows = manifest.counts[name]
        print(f"{name:<13}{rows:>13,}{rows / elapsed:>13,.0f}{sizes[name] / 2**20:>10,.1f}")
    print(f"{'all':<13}{total_rows:>13,}{total_rows / elapsed:>13,.0f}{sum(sizes.values()) / 2**20:>10,.1f}")
    print(
        f"order lines/s: {manifest.counts['orders'] / elapsed:,.0f} "
        f"({manifest.counts['orders']:,} lines in {manifest.orders:,} orders)"
    )
    print(f"top-20% revenue share: {manifest.top20_revenue_share:.3f}, churn share: {manifest.churn_share:.3f}")
    if args.json:
        result = {
            "machine": info,
            "customers": args.customers,
            "fmt": args.fmt,
            "elapsed_s": round(elapsed, 2),
            "peak_rss_mib": round(peak_rss_mib),
            "rows": manifest.counts,
            "bytes": sizes,
            "order_lines_per_s": round(manifest.counts["orders"] / elapsed),
        }
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
