"""Offline evaluation of the recommendation models on Dunnhumby's Complete Journey (docs/evaluation.md).

    .venv/bin/python bench/recommendation_eval.py
    .venv/bin/python bench/recommendation_eval.py --half-life 0 --models sar-jaccard svd
    .venv/bin/python bench/recommendation_eval.py --models blend --repeat-weight 4

The blend (SAR plus `repeat_weight` x the household's own affinity) gets its weight from a validation split
inside the training weeks (train before week 38, validate on weeks 38-45) unless --repeat-weight is given.

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

MODELS = ("popularity", "buy-again", "sar-jaccard", "sar-lift", "sar-cosine", "svd", "blend")
REPEAT_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 64.0)
VALIDATION_WEEKS = 8


def load_lines(dest: Path, *, first_test_week: int = 46) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Complete Journey purchase lines (customer_id, sku, at UTC) and the first timestamp of `first_test_week`."""
    datasets.fetch(dest, names=["complete_journey"])
    frame = datasets.load_complete_journey(
        dest, "transactions", columns=["household_id", "product_id", "week", "transaction_timestamp"]
    )
    at = frame["transaction_timestamp"].dt.tz_localize("UTC")
    lines = pd.DataFrame({"customer_id": frame["household_id"], "sku": frame["product_id"], "at": at})
    return lines, at[frame["week"] >= first_test_week].min()


def choose_repeat_weight(
    lines: pd.DataFrame, cutoff: pd.Timestamp, args: argparse.Namespace
) -> tuple[float, dict[float, float]]:
    """The blend's repeat weight with the best NDCG@k (all items) on a validation split inside the training
    weeks: train before `cutoff` minus VALIDATION_WEEKS, validate on those weeks. The test weeks are never
    looked at. Returns the weight and the NDCG of every weight tried."""
    start = cutoff - pd.Timedelta(weeks=VALIDATION_WEEKS)
    before = lines[lines["at"] < cutoff]
    split = evaluation.time_split(before, cutoff=start, half_life_days=args.half_life or None)
    model = build("sar-jaccard", args).fit(split.train)  # type: ignore[attr-defined]
    found = {}
    for weight in REPEAT_WEIGHTS:
        model.set_params(repeat_weight=weight)  # scoring only: the similarity stays as fitted
        found[weight] = evaluation.evaluate(model, split, k=args.k, modes=("all",))["all"]["ndcg"]
    return max(found, key=lambda w: found[w]), found


def build(name: str, args: argparse.Namespace) -> object:
    if name == "popularity":
        return popularity.Popularity()
    if name == "buy-again":
        return popularity.BuyAgain()
    if name.startswith("sar-") or name == "blend":
        return itemsim.ItemSimilarity(
            similarity=name.removeprefix("sar-") if name != "blend" else "jaccard",
            n_neighbors=args.neighbors,
            min_cooccurrence=args.min_cooccurrence,
            repeat_weight=args.repeat_weight if name == "blend" else 0.0,
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
    parser.add_argument(
        "--repeat-weight", type=float, default=None, help="of the blend; default: chosen on a validation split"
    )
    args = parser.parse_args()

    lines, cutoff = load_lines(args.data_dir)
    if "blend" in args.models and args.repeat_weight is None:
        started = time.perf_counter()
        args.repeat_weight, tried = choose_repeat_weight(lines, cutoff, args)
        print(
            f"blend repeat weight {args.repeat_weight} chosen on weeks {46 - VALIDATION_WEEKS}-45 "
            f"(trained before), NDCG@{args.k}: "
            + ", ".join(f"{w:g}: {v:.4f}" for w, v in tried.items())
            + f" ({time.perf_counter() - started:.0f} s)"
        )
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
