"""Popularity baselines for cold start (global, per category, per customer segment), trending items, and the
"buy again" baseline (a customer's own most-bought items).

`Popularity` and `BuyAgain` share the models' scoring interface (`score(affinity rows)`), so the offline
evaluation measures them the same way as the personalised models.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from . import matrix as matrix_


class Popularity(BaseEstimator):
    """Items ranked by how many customers bought them; `fit(X, segments=...)` on customers x items.

    Learned: `n_items_`, `counts_` (buyers per item), `segments_` (labels, sorted) and
    `segment_counts_` (CSR segments x items) when segments are given.
    """

    def fit(
        self,
        X: sp.spmatrix,  # noqa: N803 (scikit-learn's X)
        y: object = None,
        *,
        segments: Sequence[object] | np.ndarray | None = None,
    ) -> Popularity:
        """Count buyers per item (and per segment when `segments` gives one label per row of `X`); returns self.

        Raises `ValueError` if `segments` does not have one label per row.
        """
        binary = matrix_.binarize(X)
        self.n_items_ = binary.shape[1]
        self.counts_ = np.asarray(binary.sum(axis=0), dtype=np.float64).ravel()
        self.segments_ = np.array([], dtype=object)
        self.segment_counts_ = sp.csr_matrix((0, self.n_items_))
        if segments is not None:
            labels = pd.Series(np.asarray(segments, dtype=object))
            if len(labels) != binary.shape[0]:
                raise ValueError(f"segments has {len(labels)} labels for {binary.shape[0]} customers")
            codes, uniques = pd.factorize(labels, sort=True)
            known = codes >= 0
            indicator = sp.csr_matrix(
                (np.ones(known.sum()), (codes[known], np.flatnonzero(known))), shape=(len(uniques), binary.shape[0])
            )
            self.segments_ = np.asarray(uniques, dtype=object)
            self.segment_counts_ = (indicator @ binary).tocsr()
        return self

    def score(self, affinity: sp.spmatrix | np.ndarray, *, segment: object | None = None) -> np.ndarray:
        """The same popularity scores (m x n_items) for every one of m rows; a segment's own if it is known."""
        rows = matrix_.as_rows(affinity, self.n_items_)
        return np.tile(self.item_scores(segment=segment), (rows.shape[0], 1))

    def top_k_rows(
        self, affinity: sp.spmatrix | np.ndarray, k: int, *, exclude: sp.spmatrix | None = None
    ) -> np.ndarray:
        """The `k` most popular items for every row (m x k, -1 padding), never an `exclude`d (m x n sparse)
        entry: the global ranking walked past each row's exclusions, without an m x n score matrix."""
        rows = matrix_.as_rows(affinity, self.n_items_)
        m = rows.shape[0]
        scores = self.item_scores()
        blocked = sp.csr_matrix((m, self.n_items_)) if exclude is None else sp.csr_matrix(exclude)
        width = min(k + int(np.diff(blocked.indptr).max(initial=0)), self.n_items_)
        ranking = np.lexsort((np.arange(self.n_items_), -scores))[:width]  # ties by lower item index
        candidates = np.broadcast_to(ranking, (m, width))
        excluded = np.asarray(blocked[np.repeat(np.arange(m), width), candidates.ravel()]).reshape(m, width) != 0
        usable = ~excluded & np.isfinite(scores[ranking])[None, :]
        slot = np.cumsum(usable, axis=1) - 1
        best = np.full((m, k), -1, dtype=np.int64)
        take = usable & (slot < k)
        best[np.nonzero(take)[0], slot[take]] = candidates[take]
        return best

    def item_scores(self, *, segment: object | None = None) -> np.ndarray:
        """Buyers per item (n_items,), within `segment` when it is known; global otherwise (never raises)."""
        if segment is not None:
            where = np.flatnonzero(self.segments_ == segment)
            if where.size:
                row = self.segment_counts_[int(where[0])].toarray().ravel()
                # Global counts, far smaller, only order the items the segment never bought.
                return row + 1e-9 * self.counts_ / max(self.counts_.max(initial=0.0), 1.0)
        return self.counts_.copy()

    def recommend(
        self,
        affinity: sp.spmatrix | np.ndarray | None = None,
        *,
        k: int = 10,
        exclude: Sequence[int] | np.ndarray | None = None,
        segment: object | None = None,
        item_categories: Sequence[object] | np.ndarray | None = None,
        category: object | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The `k` most popular item indices (best first) and their counts, never `exclude`d ones.

        With `category` and `item_categories` (one label per item index), only that category's items.
        """
        scores = self.item_scores(segment=segment)
        if category is not None and item_categories is not None:
            scores = np.where(np.asarray(item_categories, dtype=object) == category, scores, -np.inf)
        return matrix_.top_k(scores, k, exclude=exclude)


class BuyAgain(BaseEstimator):
    """Each customer's own items by affinity (repeat purchases); ties and new customers by popularity."""

    def fit(self, X: sp.spmatrix, y: object = None) -> BuyAgain:  # noqa: N803 (scikit-learn's X)
        """Remember the item count and popularity of `X`; returns self."""
        self.n_items_ = X.shape[1]
        counts = np.asarray(matrix_.binarize(X).sum(axis=0), dtype=np.float64).ravel()
        self.popularity_ = counts / max(counts.max(initial=0.0), 1.0)
        return self

    def score(self, affinity: sp.spmatrix | np.ndarray) -> np.ndarray:
        """Affinity plus a popularity tie-break far below any purchase (m x n_items)."""
        rows = matrix_.as_rows(affinity, self.n_items_)
        return np.asarray(rows.toarray(), dtype=np.float64) + 1e-9 * self.popularity_


def category_items(skus: np.ndarray, categories: Mapping[object, object]) -> np.ndarray:
    """One category label per item index (`None` where the map has no entry), for `Popularity.recommend`."""
    return np.asarray(pd.Series(skus, dtype=object).map(dict(categories)).to_numpy(dtype=object), dtype=object)


def customer_segments(customers: np.ndarray, segments: Mapping[object, object]) -> np.ndarray:
    """One segment label per customer index (`None` where unknown), for `Popularity.fit(segments=...)`."""
    return category_items(customers, segments)


def trending(
    lines: pd.DataFrame,
    *,
    as_of: datetime,
    recent_days: int = 7,
    baseline_days: int = 56,
    min_recent: int = 3,
) -> pd.DataFrame:
    """Items selling faster lately: buyers in the last `recent_days` over their rate across `baseline_days`.

    Returns a DataFrame (sku, recent, baseline, ratio) sorted by ratio then recent, descending, of items
    with at least `min_recent` recent buyers. The baseline window ends where the recent one starts; its
    count is scaled to the recent window's length and smoothed (+1) so a new item does not divide by zero.
    Raises `ValueError` unless 0 < recent_days < baseline_days.
    """
    if not 0 < recent_days < baseline_days:
        raise ValueError("need 0 < recent_days < baseline_days")
    end = pd.Timestamp(as_of)
    start_recent = end - timedelta(days=recent_days)
    start_base = start_recent - timedelta(days=baseline_days)
    at = pd.to_datetime(lines["at"])
    window = lines.loc[(at >= start_base) & (at < end), ["customer_id", "sku"]].assign(
        recent=(at[(at >= start_base) & (at < end)] >= start_recent).to_numpy()
    )
    buyers = window.drop_duplicates().groupby(["sku", "recent"]).size().unstack(fill_value=0)
    recent = buyers[True] if True in buyers.columns else pd.Series(0, index=buyers.index)
    base = buyers[False] if False in buyers.columns else pd.Series(0, index=buyers.index)
    expected = (base + 1.0) * recent_days / baseline_days
    out = pd.DataFrame({"sku": buyers.index, "recent": recent.to_numpy(), "baseline": base.to_numpy()})
    out["ratio"] = recent.to_numpy() / expected.to_numpy()
    out = out[out["recent"] >= min_recent]
    return out.sort_values(["ratio", "recent"], ascending=False, kind="stable").reset_index(drop=True)
