"""The customer x item implicit matrix built from purchase lines, and top-k selection over score rows.

Purchase lines are a DataFrame with `customer_id`, `sku`, `at` (aware UTC datetimes) and optionally a
weight column (`quantity`, `weight`, ...). Every line counts 1 unless a weight column is named: grocery
quantities are sometimes litres of fuel or grams, and a line (an item in a basket) is the steadier signal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import scipy.sparse as sp

REQUIRED_COLUMNS = ("customer_id", "sku", "at")
_SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class Interactions:
    """`matrix[u, i]` is customer `customers[u]`'s (decayed) affinity to item `items[i]`."""

    matrix: sp.csr_matrix
    customers: np.ndarray
    items: np.ndarray


def decay_weights(at: pd.Series, *, as_of: datetime, half_life_days: float) -> np.ndarray:
    """Weights 2 ** (-age / half-life), age in days before `as_of` (lines after `as_of` weigh 1).

    Raises `ValueError` for a non-positive half-life.
    """
    if half_life_days <= 0:
        raise ValueError(f"half_life_days must be positive, got {half_life_days}")
    age = (pd.Timestamp(as_of) - pd.to_datetime(at)).dt.total_seconds().to_numpy(dtype=np.float64)
    age_days = np.clip(age / _SECONDS_PER_DAY, 0.0, None)
    return np.exp2(-age_days / half_life_days)


def build_interactions(
    lines: pd.DataFrame,
    *,
    weight: str | None = None,
    half_life_days: float | None = None,
    as_of: datetime | None = None,
    customers: Sequence[object] | np.ndarray | None = None,
    items: Sequence[object] | np.ndarray | None = None,
) -> Interactions:
    """The customer x item CSR matrix (float64) summing each line's weight, optionally time-decayed.

    `weight` names a column to sum (default: each line counts 1). With `half_life_days`, a line's weight
    is halved for every half-life it lies before `as_of` (default: the latest `at`). Given `customers` or
    `items`, the matrix uses exactly that index (in that order) and drops lines outside it, so a test
    matrix can share a training matrix's columns; otherwise both are the sorted distinct values seen.

    Raises `ValueError` if a required column is missing.
    """
    missing = [c for c in (*REQUIRED_COLUMNS, *([weight] if weight else [])) if c not in lines.columns]
    if missing:
        raise ValueError(f"purchase lines lack column(s): {', '.join(missing)}")
    values = (
        np.ones(len(lines), dtype=np.float64)
        if weight is None
        else lines[weight].to_numpy(dtype=np.float64, na_value=0.0)
    )
    if half_life_days is not None and len(lines):
        when = as_of if as_of is not None else lines["at"].max()
        values = values * decay_weights(lines["at"], as_of=when, half_life_days=half_life_days)
    rows, customer_index = _codes(lines["customer_id"], customers)
    cols, item_index = _codes(lines["sku"], items)
    keep = (rows >= 0) & (cols >= 0)
    matrix = sp.coo_matrix(
        (values[keep], (rows[keep], cols[keep])), shape=(len(customer_index), len(item_index))
    ).tocsr()  # duplicates (the same item bought again) are summed by the conversion
    matrix.eliminate_zeros()
    return Interactions(matrix=matrix, customers=customer_index, items=item_index)


def _codes(values: pd.Series, index: Sequence[object] | np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    if index is None:
        codes, uniques = pd.factorize(values, sort=True)
        return np.asarray(codes, dtype=np.int64), np.asarray(uniques)
    known = pd.Index(index)
    return np.asarray(known.get_indexer(pd.Index(values)), dtype=np.int64), np.asarray(known)


def binarize(matrix: sp.spmatrix) -> sp.csr_matrix:
    """A copy of `matrix` as CSR with every stored positive value set to 1 (float32)."""
    out = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    out.data = (out.data > 0).astype(np.float32)
    out.eliminate_zeros()
    return out


def as_rows(affinity: sp.spmatrix | np.ndarray, n_items: int) -> sp.csr_matrix:
    """`affinity` (one row or a matrix, sparse or dense) as a CSR matrix with `n_items` columns.

    Raises `ValueError` if the width does not match.
    """
    rows = sp.csr_matrix(affinity if sp.issparse(affinity) else np.atleast_2d(np.asarray(affinity, dtype=np.float64)))
    if rows.shape[1] != n_items:
        raise ValueError(f"affinity has {rows.shape[1]} columns, the model knows {n_items} items")
    return rows


def top_k(
    scores: np.ndarray, k: int, *, exclude: np.ndarray | Sequence[int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The `k` best item indices of one score vector, best first, and their scores.

    Items in `exclude` (indices) and items scoring -inf are never returned, so fewer than `k` may come back.
    Raises `ValueError` if `k` is not positive.
    """
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    scores = np.asarray(scores, dtype=np.float64).ravel().copy()
    if exclude is not None and len(exclude):
        scores[np.asarray(exclude, dtype=np.int64)] = -np.inf
    k = min(k, scores.size)
    best = np.argpartition(-scores, k - 1)[:k] if k < scores.size else np.arange(scores.size)
    best = best[np.argsort(-scores[best], kind="stable")]
    best = best[np.isfinite(scores[best])]
    return best, scores[best]


def top_k_rows(scores: np.ndarray, k: int, *, exclude: sp.spmatrix | None = None) -> np.ndarray:
    """The `k` best item indices of every row of a dense score matrix (m x k, best first, -1 padding).

    `exclude` is a sparse m x n matrix whose stored entries are excluded (e.g. items already bought).
    """
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    scores = np.array(scores, dtype=np.float64, copy=True)
    if exclude is not None:
        coo = sp.coo_matrix(exclude)
        scores[coo.row, coo.col] = -np.inf
    k = min(k, scores.shape[1])
    part = (
        np.argpartition(-scores, k - 1, axis=1)[:, :k]
        if k < scores.shape[1]
        else np.tile(np.arange(k), (len(scores), 1))
    )
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    best = np.take_along_axis(part, order, axis=1)
    best[~np.isfinite(np.take_along_axis(scores, best, axis=1))] = -1
    return best


def top_k_sparse_rows(scores: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The `k` best stored entries of every row of a sparse score matrix: (m x k item indices, -1 padding;
    m x k scores, -inf padding), best first, ties by lower item index; -inf entries are never returned."""
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    scores = sp.csr_matrix(scores)
    scores.sort_indices()
    m = scores.shape[0]
    rows = np.repeat(np.arange(m), np.diff(scores.indptr))
    values = scores.data.astype(np.float64)
    # Entries already run by row, then item: two stable sorts give row, then value descending, then item.
    order = np.argsort(-values, kind="stable")
    order = order[np.argsort(rows[order], kind="stable")]
    sorted_rows = rows[order]
    rank = np.arange(order.size) - np.searchsorted(sorted_rows, sorted_rows, side="left")
    keep = order[(rank < k) & np.isfinite(values[order])]
    best = np.full((m, k), -1, dtype=np.int64)
    best_scores = np.full((m, k), -np.inf)
    kept_rows = rows[keep]
    slot = np.arange(keep.size) - np.searchsorted(kept_rows, kept_rows, side="left")
    best[kept_rows, slot] = scores.indices[keep]
    best_scores[kept_rows, slot] = values[keep]
    return best, best_scores
