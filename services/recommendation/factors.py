"""Latent-factor recommendations: truncated SVD of the BM25-weighted customer x item matrix.

Scoring folds a customer in without refitting: their weighted affinity row times the item factors gives
the customer's vector, and that vector times the item factors' transpose gives every item's score. Same
interface as `itemsim.ItemSimilarity` (`score`, `recommend`, `similar_items`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.decomposition import TruncatedSVD

from . import matrix as matrix_

WEIGHTINGS = ("bm25", "tfidf", "none")


class LatentFactors(BaseEstimator):
    """Truncated SVD on a BM25 (or TF-IDF) weighted affinity matrix; `fit(X)` on customers x items.

    BM25 damps heavy repeat counts (`k1`) and long purchase histories (`b`) and weights rare items up
    (idf), as implicit-feedback libraries do before ALS. Learned: `n_items_`, `idf_`, `mean_length_`,
    `item_factors_` (n_items x n_components, orthonormal columns), `explained_variance_ratio_`.
    """

    def __init__(
        self,
        *,
        n_components: int = 64,
        weighting: str = "bm25",
        k1: float = 1.2,
        b: float = 0.75,
        n_iter: int = 5,
        random_state: int | None = 0,
    ) -> None:
        self.n_components = n_components
        self.weighting = weighting
        self.k1 = k1
        self.b = b
        self.n_iter = n_iter
        self.random_state = random_state

    def fit(self, X: sp.spmatrix, y: object = None) -> LatentFactors:  # noqa: N803 (scikit-learn's X)
        """Learn item factors from affinity matrix `X`; returns self.

        Raises `ValueError` for an unknown weighting, or fewer items or customers than components + 1.
        """
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {', '.join(WEIGHTINGS)}, got {self.weighting!r}")
        rows = sp.csr_matrix(X, dtype=np.float64)
        if min(rows.shape) <= self.n_components:
            raise ValueError(f"need more than {self.n_components} customers and items, got {rows.shape}")
        self.n_items_ = rows.shape[1]
        buyers = np.diff(rows.tocsc().indptr).astype(np.float64)
        self.idf_ = np.log((rows.shape[0] + 1.0) / (buyers + 1.0)) + 1.0
        self.mean_length_ = float(rows.sum() / max(rows.shape[0], 1))
        svd = TruncatedSVD(n_components=self.n_components, n_iter=self.n_iter, random_state=self.random_state)
        svd.fit(self._weigh(rows))
        self.item_factors_ = np.ascontiguousarray(svd.components_.T)
        self.explained_variance_ratio_ = svd.explained_variance_ratio_
        return self

    def _weigh(self, rows: sp.csr_matrix) -> sp.csr_matrix:
        out = sp.csr_matrix(rows, dtype=np.float64, copy=True)
        if self.weighting == "none":
            return out
        if self.weighting == "bm25":
            lengths = np.asarray(out.sum(axis=1)).ravel()
            norm = self.k1 * (1.0 - self.b + self.b * lengths / max(self.mean_length_, 1e-12))
            per_entry = np.repeat(norm, np.diff(out.indptr))
            out.data = out.data * (self.k1 + 1.0) / (out.data + per_entry)
        else:
            out.data = np.log1p(out.data)
        out.data *= self.idf_[out.indices]
        return out

    def transform(self, affinity: sp.spmatrix | np.ndarray) -> np.ndarray:
        """Customer vectors (m x n_components) folded in from m affinity rows."""
        return np.asarray(self._weigh(matrix_.as_rows(affinity, self.n_items_)) @ self.item_factors_)

    def score(self, affinity: sp.spmatrix | np.ndarray) -> np.ndarray:
        """Scores (m x n_items, dense float64) for m affinity rows; raises `ValueError` on a width mismatch."""
        return np.asarray(self.transform(affinity) @ self.item_factors_.T, dtype=np.float64)

    def recommend(
        self, affinity: sp.spmatrix | np.ndarray, *, k: int = 10, exclude: Sequence[int] | np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The `k` best item indices for one affinity row (best first) and their scores, never `exclude`d ones."""
        return matrix_.top_k(self.score(affinity)[0], k, exclude=exclude)

    def similar_items(self, item_index: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The `k` items whose factors are closest in cosine to `item_index`'s (itself left out).

        Raises `IndexError` for an index outside the fitted items.
        """
        if not 0 <= item_index < self.n_items_:
            raise IndexError(f"item index {item_index} outside 0..{self.n_items_ - 1}")
        norms = np.linalg.norm(self.item_factors_, axis=1)
        norms[norms == 0] = 1.0
        cosine = (self.item_factors_ @ self.item_factors_[item_index]) / (norms * norms[item_index])
        return matrix_.top_k(cosine, k, exclude=[item_index])
