"""Offline evaluation of the recommendation models on Dunnhumby's Complete Journey (docs/evaluation.md).

    .venv/bin/python bench/recommendation_eval.py
    .venv/bin/python bench/recommendation_eval.py --half-life 0 --models sar-jaccard svd

Households are customers, product_id the sku; weeks 1-45 train, weeks 46-53 are held out (the cut-off is the
first timestamp of week 46), and only households active on both sides are scored. Prints one row per model
and mode ('all' items, or 'new' items the household never bought before) with every metric at k, and the
fit and evaluation times.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rapport import datasets
from services.recommendation import evaluation, factors, itemsim, popularity

MODELS = ("popularity", "buy-again", "sar-jaccard", "sar-lift", "sar-cosine", "svd")


def load_lines(dest: Path) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Complete Journey purchase lines (customer_id, sku, at UTC) and the first timestamp of week 46."""
    datasets.fetch(dest, names=["complete_journey"])
    frame = datasets.load_complete_journey(
        dest, "transactions", columns=["household_id", "product_id", "week", "transaction_timestamp"]
    )
    at = frame["transaction_timestamp"].dt.tz_localize("UTC")
    lines = pd.DataFrame({"customer_id": frame["household_id"], "sku": frame["product_id"], "at": at})
    return lines, at[frame["week"] >= 46].min()


def build(name: str, args: argparse.Namespace) -> object:
    if name == "popularity":
        return popularity.Popularity()
    if name == "buy-again":
        return popularity.BuyAgain()
    if name.startswith("sar-"):
        return itemsim.ItemSimilarity(
            similarity=name.removeprefix("sar-"), n_neighbors=args.neighbors, min_cooccurrence=args.min_cooccurrence
        )
    return factors.LatentFactors(n_components=args.components, random_state=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("RAPPORT_DATA_DIR") or "var/datasets"))
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--half-life", type=float, default=30.0, help="days; 0 for no time decay")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--neighbors", type=int, default=100)
    parser.add_argument("--min-cooccurrence", type=int, default=2)
    parser.add_argument("--components", type=int, default=64)
    args = parser.parse_args()

    lines, cutoff = load_lines(args.data_dir)
    split = evaluation.time_split(lines, cutoff=cutoff, half_life_days=args.half_life or None)
    print(
        f"cut-off {cutoff}, train {split.train.shape[0]} households x {split.train.shape[1]} products, "
        f"{split.evaluated.size} households scored, half-life {args.half_life or 'none'}"
    )
    rows = []
    for name in args.models:
        started = time.perf_counter()
        model = build(name, args).fit(split.train)  # type: ignore[attr-defined]
        fitted = time.perf_counter()
        for mode, metrics in evaluation.evaluate(model, split, k=args.k).items():
            rows.append({"model": name, "mode": mode, **metrics, "fit_s": fitted - started})
        rows[-1]["eval_s"] = rows[-2]["eval_s"] = time.perf_counter() - fitted
        print(name, f"fit {fitted - started:.1f} s", flush=True)
    table = pd.DataFrame(rows).sort_values(["mode", "model"], kind="stable")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.round(4).to_string(index=False))


if __name__ == "__main__":
    main()
