"""Offline evaluation on a time split: ranking metrics at k for any model with the scoring interface.

A model is anything with `score(affinity_rows) -> dense (m x n_items) scores` fitted on the split's
training matrix (`ItemSimilarity`, `LatentFactors`, `Popularity`, `BuyAgain`). Two modes:
- "all": every item may be recommended, relevant = items bought after the cut-off (repeat purchases count);
- "new": items the customer bought before the cut-off are excluded and are not relevant (discovery).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import matrix as matrix_
from . import popularity as popularity_

METRICS = ("precision", "recall", "ndcg", "map", "hit_rate", "coverage")
MODES = ("all", "new")


class Scorer(Protocol):
    def score(self, affinity: sp.spmatrix | np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Split:
    """`train` (customers x items, decayed affinity before the cut-off, every customer seen then);
    `test` (same shape, binary: items bought at or after the cut-off, restricted to training items);
    `evaluated`: row indices of customers active on both sides."""

    train: sp.csr_matrix
    test: sp.csr_matrix
    customers: np.ndarray
    items: np.ndarray
    evaluated: np.ndarray


def time_split(
    lines: pd.DataFrame,
    *,
    cutoff: datetime,
    half_life_days: float | None = None,
    weight: str | None = None,
) -> Split:
    """Train on lines before `cutoff` (decayed relative to it), test on lines at or after it.

    Items first seen after the cut-off cannot be recommended by any model and are left out of the test.
    Raises `ValueError` if either side is empty.
    """
    at = pd.to_datetime(lines["at"])
    before, after = lines[at < cutoff], lines[at >= cutoff]
    if before.empty or after.empty:
        raise ValueError("the cut-off leaves no training or no test lines")
    train = matrix_.build_interactions(before, weight=weight, half_life_days=half_life_days, as_of=cutoff)
    test = matrix_.build_interactions(after, customers=train.customers, items=train.items)
    test_matrix = matrix_.binarize(test.matrix)
    active = np.flatnonzero((np.diff(test_matrix.indptr) > 0) & (np.diff(train.matrix.indptr) > 0))
    return Split(train.matrix, test_matrix, train.customers, train.items, active)


def recommend_rows(
    model: Scorer, affinity: sp.csr_matrix, *, k: int, exclude: sp.csr_matrix | None = None, batch_size: int = 256
) -> np.ndarray:
    """Top-k item indices (m x k, -1 padding) for every affinity row, scored in batches to bound memory."""
    out = np.empty((affinity.shape[0], k), dtype=np.int64)
    # A model that ranks rows without dense m x n scores (SAR, popularity) does: at 100k items the dense
    # scores and their sort were most of a training run's time.
    ranked = getattr(model, "top_k_rows", None)
    for start in range(0, affinity.shape[0], batch_size):
        stop = min(start + batch_size, affinity.shape[0])
        block_exclude = None if exclude is None else exclude[start:stop]
        if ranked is not None:
            out[start:stop] = ranked(affinity[start:stop], k, exclude=block_exclude)
        else:
            out[start:stop] = matrix_.top_k_rows(model.score(affinity[start:stop]), k, exclude=block_exclude)
    return out


def ranking_metrics(recommended: np.ndarray, relevant: sp.spmatrix, *, n_items: int) -> dict[str, float]:
    """Mean precision@k, recall@k, NDCG@k, MAP@k and hit rate over rows, and catalogue coverage.

    `recommended` is m x k item indices (best first, -1 for none); `relevant` an m x n sparse matrix
    whose stored positive entries are the relevant items. Rows without a relevant item are skipped.
    MAP@k divides by min(k, relevant count); NDCG@k uses binary gains and log2(rank + 1) discounts.
    """
    relevant = matrix_.binarize(relevant)
    k = recommended.shape[1]
    n_relevant = np.diff(relevant.indptr)
    rows = np.flatnonzero(n_relevant > 0)
    recs = recommended[rows]
    valid = recs >= 0
    hits = np.zeros(recs.shape, dtype=bool)
    if rows.size and k:
        looked_up = relevant[np.repeat(rows, k)[valid.ravel()], recs.ravel()[valid.ravel()]]
        hits[valid] = np.asarray(looked_up).ravel() > 0
    count = n_relevant[rows].astype(np.float64)
    positions = np.arange(1, k + 1, dtype=np.float64)
    discounts = 1.0 / np.log2(positions + 1.0)
    ideal = np.cumsum(discounts)[np.minimum(count, k).astype(np.int64) - 1] if rows.size else np.array([])
    cumulative_hits = np.cumsum(hits, axis=1)
    precision_at_i = cumulative_hits / positions
    shown = recs[valid]
    return {
        "precision": _mean(hits.sum(axis=1) / k),
        "recall": _mean(hits.sum(axis=1) / count),
        "ndcg": _mean((hits * discounts).sum(axis=1) / ideal),
        "map": _mean((precision_at_i * hits).sum(axis=1) / np.minimum(count, k)),
        "hit_rate": _mean(np.asarray(hits.any(axis=1), dtype=np.float64)),
        "coverage": float(np.unique(shown).size / n_items) if n_items else 0.0,
        "customers": float(rows.size),
    }


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if np.size(values) else 0.0


def evaluate(
    model: Scorer, split: Split, *, k: int = 10, modes: tuple[str, ...] = MODES
) -> dict[str, dict[str, float]]:
    """Metrics at `k` of `model` (fitted on `split.train`) per mode ('all', 'new'), over `split.evaluated`.

    Raises `ValueError` for an unknown mode.
    """
    unknown = set(modes) - set(MODES)
    if unknown:
        raise ValueError(f"unknown mode(s): {', '.join(sorted(unknown))}")
    affinity = split.train[split.evaluated]
    test = split.test[split.evaluated]
    results: dict[str, dict[str, float]] = {}
    for mode in modes:
        if mode == "all":
            recs = recommend_rows(model, affinity, k=k)
            results[mode] = ranking_metrics(recs, test, n_items=split.train.shape[1])
        else:
            seen = matrix_.binarize(affinity)
            new = test - test.multiply(seen)
            new.eliminate_zeros()
            recs = recommend_rows(model, affinity, k=k, exclude=seen)
            results[mode] = ranking_metrics(recs, new, n_items=split.train.shape[1])
    return results


def compare(models: Mapping[str, Scorer], split: Split, *, k: int = 10, modes: tuple[str, ...] = MODES) -> pd.DataFrame:
    """One row per (model, mode) with every metric, the popularity baseline (fitted on the same training
    matrix) included as 'popularity' unless `models` already holds that name."""
    everything = dict(models)
    everything.setdefault("popularity", popularity_.Popularity().fit(split.train))
    records = [
        {"model": name, "mode": mode, **metrics}
        for name, model in everything.items()
        for mode, metrics in evaluate(model, split, k=k, modes=modes).items()
    ]
    return pd.DataFrame.from_records(records)
