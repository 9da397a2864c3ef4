"""Association-rules benchmark: FP-growth over the demo orders at scale (product and category level).

    .venv/bin/python bench/recommendation_rules.py --customers 1000000 --min-support 0.002
    .venv/bin/python bench/recommendation_rules.py --customers 1000000 --items 100000

Generates the demo data set as Parquet under --data-dir (or reuses it: 1M customers is about 4M orders,
10.7M lines and 20k products), reads the order lines (order id, sku, category from the products file),
then times `services.recommendation.rules` at product and at category level, printing the data size,
frequent items, baskets handed to FP-growth, itemsets and rules, wall time per phase and peak RSS.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rapport.demo import generate
from services.recommendation import rules


def rss_mib() -> float:
    """Current resident set size in MiB."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mib() -> float:
    """Peak resident set size of this process so far in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def read_lines(data_dir: Path, customers: int, seed: int, items: int | None = None) -> pd.DataFrame:
    """Order lines (order_id, sku, category) of the generated data set, generating it when missing; with
    `items`, from bench/recommendation.py's lake folder whose catalogue is spread to that many skus."""
    if items:
        from bench.recommendation import lake_folder

        lake = lake_folder(data_dir, customers, seed, items)
        spread = pd.read_parquet(lake / "orders.parquet", columns=["order_id", "sku"])
        catalogue = pd.read_parquet(lake / "products.parquet", columns=["sku", "category"])
        return spread.assign(category=spread["sku"].map(catalogue.set_index("sku")["category"]))
    folder = data_dir / f"customers{customers}-seed{seed}-parquet"
    if not (folder / "manifest.json").exists():
        generate(folder, customers=customers, seed=seed, fmt="parquet")
    lines = pd.read_parquet(folder / "orders.parquet", columns=["order_external_id", "sku"])
    products = pd.read_parquet(folder / "products.parquet", columns=["sku", "category"])
    category = lines["sku"].map(products.set_index("sku")["category"])
    return pd.DataFrame({"order_id": lines["order_external_id"], "sku": lines["sku"], "category": category})


def run(lines: pd.DataFrame, *, level: rules.Level, min_support: float, max_len: int) -> None:
    """Mine one level and print its figures."""
    item = rules.LEVEL_COLUMNS[level]
    started = time.perf_counter()
    mined = rules.mine(lines, min_support=min_support, max_len=max_len, item=item)
    mined_at = time.perf_counter()
    found = rules.association_rules(mined.itemsets, min_lift=1.0)
    done = time.perf_counter()
    print(
        f"{level}: min_support {min_support}, max_len {max_len}: {lines[item].nunique():,} items, "
        f"{mined.n_frequent_items:,} frequent, {mined.n_mined_baskets:,} of {mined.n_baskets:,} baskets mined, "
        f"{len(mined.itemsets):,} itemsets, {len(found):,} rules with lift >= 1; "
        f"itemsets {mined_at - started:.1f} s, rules {done - mined_at:.2f} s; "
        f"RSS {rss_mib():,.0f} MiB, peak {peak_mib():,.0f} MiB"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--items", type=int, default=None, help="catalogue spread to this many skus (bench/recommendation.py)"
    )
    parser.add_argument("--data-dir", type=Path, default=Path("var/bench-data"))
    parser.add_argument("--min-support", type=float, default=0.002)
    parser.add_argument("--category-min-support", type=float, default=0.01)
    parser.add_argument("--max-len", type=int, default=2)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    lines = read_lines(args.data_dir, args.customers, args.seed, args.items)
    print(
        f"read {len(lines):,} lines, {lines['order_id'].nunique():,} orders, {lines['sku'].nunique():,} products "
        f"in {time.perf_counter() - started:.1f} s; RSS {rss_mib():,.0f} MiB (cpus: {os.cpu_count()})"
    )
    run(lines, level="product", min_support=args.min_support, max_len=args.max_len)
    run(lines, level="category", min_support=args.category_min_support, max_len=args.max_len)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
