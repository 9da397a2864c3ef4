"""Item-to-item recommendations in the spirit of Microsoft's SAR (Smart Adaptive Recommendations).

Co-occurrence C = Bᵀ B of the binarised customer x item matrix B counts the customers who bought both
items; its diagonal counts each item's buyers. A similarity (Jaccard, lift or cosine) rescales C, only the
`n_neighbors` most similar items of every item are kept (sparse: a dense 68k x 68k matrix needs 37 GB),
and a customer's scores are their affinity row (time-decayed purchase weights) times that matrix. The
diagonal stays in, so items already bought score on their own weight: repeat purchases count, and callers
exclude them (`exclude=`) when they want discovery only.

Training never materialises the whole of C: it is computed in blocks of item rows whose size follows the
work they cost (the sum of their buyers' basket sizes), pruned to the top neighbours, then dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from . import matrix as matrix_

SIMILARITIES = ("jaccard", "lift", "cosine")
_TIE_BREAK = 1e-12


class ItemSimilarity(BaseEstimator):
    """SAR-style item-to-item model; `fit(X)` on a customer x item affinity matrix (CSR).

    Parameters: `similarity` ('jaccard', 'lift' or 'cosine'); `n_neighbors` kept per item (the item
    itself included); `min_cooccurrence`, the fewest shared customers for a pair to count (lift
    over-rates pairs of rare items otherwise); `block_pairs`, the co-occurrence work per block (memory);
    `repeat_weight`, how much a customer's own affinity to an item adds to its score on top of the
    similarities (0: plain SAR; larger: the blend of repurchase and discovery, see `score`).

    Learned: `n_items_`, `n_customers_`, `item_counts_` (buyers per item), `similarity_` (CSR n x n, row
    i holds i's neighbours), `popularity_` (buyers per item, normalised; used to break ties of zero).
    """

    repeat_weight = 0.0  # what models pickled before the parameter existed read

    def __init__(
        self,
        *,
        similarity: str = "jaccard",
        n_neighbors: int = 100,
        min_cooccurrence: int = 1,
        block_pairs: int = 20_000_000,
        repeat_weight: float = 0.0,
    ) -> None:
        self.similarity = similarity
        self.n_neighbors = n_neighbors
        self.min_cooccurrence = min_cooccurrence
        self.block_pairs = block_pairs
        self.repeat_weight = repeat_weight

    def fit(self, X: sp.spmatrix, y: object = None) -> ItemSimilarity:  # noqa: N803 (scikit-learn's X)
        """Learn the top-k item similarity from affinity matrix `X`; returns self.

        Raises `ValueError` for an unknown similarity, a non-positive `n_neighbors` or
        `min_cooccurrence`, or an empty matrix.
        """
        if self.similarity not in SIMILARITIES:
            raise ValueError(f"similarity must be one of {', '.join(SIMILARITIES)}, got {self.similarity!r}")
        if self.n_neighbors < 1 or self.min_cooccurrence < 1:
            raise ValueError("n_neighbors and min_cooccurrence must be at least 1")
        if not self.repeat_weight >= 0:
            raise ValueError(f"repeat_weight must be at least 0, got {self.repeat_weight}")
        binary = matrix_.binarize(X)
        if binary.shape[0] == 0 or binary.shape[1] == 0:
            raise ValueError("cannot fit on an empty matrix")
        n_customers, n_items = binary.shape
        counts = np.asarray(binary.sum(axis=0), dtype=np.float64).ravel()
        by_item = binary.T.tocsr()  # item x customer
        basket_sizes = np.diff(binary.indptr).astype(np.float64)
        work = by_item @ basket_sizes  # multiply-adds each item row of C costs
        parts: list[sp.csr_matrix] = []
        for start, stop in _blocks(work, self.block_pairs):
            cooc = (by_item[start:stop] @ binary).tocsr()
            block = self._similarity_block(cooc, counts, start, n_customers)
            parts.append(_top_per_row(block, self.n_neighbors).astype(np.float32))
        # The blocks are consecutive row ranges: stacking them rebuilds the n x n matrix.
        self.similarity_ = sp.vstack(parts, format="csr") if parts else sp.csr_matrix((n_items, n_items))
        self.item_counts_ = counts
        self.popularity_ = counts / max(n_customers, 1)
        self.__dict__.pop("_tie_break", None)  # a refit invalidates the cached tie-break
        self.n_items_ = n_items
        self.n_customers_ = n_customers
        return self

    def _similarity_block(self, cooc: sp.csr_matrix, counts: np.ndarray, start: int, n_customers: int) -> sp.csr_matrix:
        cooc.data[cooc.data < self.min_cooccurrence] = 0
        cooc.eliminate_zeros()
        rows = np.repeat(np.arange(cooc.shape[0]), np.diff(cooc.indptr)) + start
        both = cooc.data.astype(np.float64)
        left, right = counts[rows], counts[cooc.indices]
        if self.similarity == "jaccard":
            values = both / (left + right - both)
        elif self.similarity == "lift":
            values = both * n_customers / (left * right)
        else:
            values = both / np.sqrt(left * right)
        return sp.csr_matrix((values, cooc.indices, cooc.indptr), shape=cooc.shape)

    def score(self, affinity: sp.spmatrix | np.ndarray) -> np.ndarray:
        """Scores (m x n_items, dense float64) for m affinity rows over the fitted items: affinity x
        similarity, plus `repeat_weight` x affinity (the customer's own items: a linear blend of "buy again"
        and SAR, so it scales with the customer's affinity like both of them).

        A row may come from a customer unseen at training or be updated by a real-time event: no
        refit is needed. Raises `ValueError` if the width differs from the fitted item count.
        """
        # One dtype on both sides: a float64 row times the float32 similarity would convert every stored
        # similarity on each call (about 1 ms per request at 20k items).
        rows = matrix_.as_rows(affinity, self.n_items_).astype(self.similarity_.dtype)
        scores = np.asarray((rows @ self.similarity_).toarray(), dtype=np.float64)
        if self.repeat_weight:
            scores += self.repeat_weight * rows.toarray()
        # Far below any real score: orders only the items nothing points to (and a cold start) by popularity.
        scores += self.tie_break()
        return scores

    def recommend(
        self, affinity: sp.spmatrix | np.ndarray, *, k: int = 10, exclude: Sequence[int] | np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The `k` best item indices for one affinity row (best first) and their scores, never `exclude`d ones."""
        return matrix_.top_k(self.score(affinity)[0], k, exclude=exclude)

    def top_k_rows(
        self, affinity: sp.spmatrix | np.ndarray, k: int, *, exclude: sp.spmatrix | None = None
    ) -> np.ndarray:
        """The `k` best items of every affinity row (m x k, best first, -1 padding), never an `exclude`d (m x n
        sparse) entry: `matrix.top_k_rows(self.score(affinity), k)` without the dense m x n scores.

        Only the items the rows' similarities reach are ranked; a row with fewer than `k` of them (or
        scores so small that popularity alone could beat them) is ranked densely, so the answer is the same.
        """
        rows = matrix_.as_rows(affinity, self.n_items_).astype(self.similarity_.dtype)
        reached = (rows @ self.similarity_).tocsr().astype(np.float64)
        if self.repeat_weight:
            reached = (reached + self.repeat_weight * rows.astype(np.float64)).tocsr()
        reached.sum_duplicates()
        reached.data += self.tie_break()[reached.indices]
        blocked = None
        if exclude is not None:
            blocked = sp.csr_matrix(exclude, dtype=np.float64)
            blocked.data[:] = 1.0
            hit = (
                np.asarray(
                    blocked[np.repeat(np.arange(reached.shape[0]), np.diff(reached.indptr)), reached.indices]
                ).ravel()
                > 0
            )
            reached.data[hit] = -np.inf
        best, scores = matrix_.top_k_sparse_rows(reached, k)
        dense = np.flatnonzero(~(scores[:, -1] > self.tie_break_max()))
        if dense.size:
            best[dense] = matrix_.top_k_rows(
                self.score(rows[dense]), k, exclude=None if blocked is None else blocked[dense]
            )
        return best

    def contributions(self, items: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What one customer's history (item indices and their affinities) adds to each item's score, read
        straight from the similarity's CSR arrays: (source, target, value) with `source` a position in
        `items`, `target` an item index and `value` = similarity(items[source], target) x weight.

        Summing `value` per `target` gives that customer's `score` row without the `tie_break` (the
        `repeat_weight` term comes as each history item contributing to itself); this is the serving path
        (no sparse matrix is built per request; `score` stays the batch path).
        """
        items = np.asarray(items, dtype=np.int64)
        indptr = self.similarity_.indptr
        starts = indptr[items].astype(np.int64)
        lengths = indptr[items + 1] - starts
        source = np.repeat(np.arange(items.size), lengths)
        # positions of every stored value of the chosen rows: each row's start plus 0..length-1
        positions = np.arange(source.size) + np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        weights = np.asarray(weights, dtype=np.float64)
        values = self.similarity_.data[positions] * weights[source]
        target = self.similarity_.indices[positions]
        if self.repeat_weight:  # each history item's own repeat term, on its diagonal entry (added if pruned)
            diagonal = target == items[source]
            values[diagonal] += self.repeat_weight * weights[source[diagonal]]
            has_diagonal = np.zeros(items.size, dtype=bool)
            has_diagonal[source[diagonal]] = True
            missing = np.flatnonzero(~has_diagonal)
            if missing.size:
                return (
                    np.r_[source, missing],
                    np.r_[target, items[missing]],
                    np.r_[values, self.repeat_weight * weights[missing]],
                )
        return source, target, values

    def tie_break(self) -> np.ndarray:
        """The score every item gets from popularity alone, far below any real score (n_items,; do not write)."""
        cached = self.__dict__.get("_tie_break")
        if cached is None:  # once per fitted or unpickled model: serving reads it on every request
            cached = self.__dict__["_tie_break"] = _TIE_BREAK * self.popularity_
            self.__dict__["_tie_break_max"] = float(cached.max(initial=0.0))
        return cached

    def tie_break_max(self) -> float:
        """The largest `tie_break`: a score above it cannot be beaten by an item nothing points to."""
        self.tie_break()
        return float(self.__dict__["_tie_break_max"])

    def similar_items(self, item_index: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The `k` items most similar to `item_index` (itself left out), best first, with similarities.

        Raises `IndexError` for an index outside the fitted items.
        """
        if not 0 <= item_index < self.n_items_:
            raise IndexError(f"item index {item_index} outside 0..{self.n_items_ - 1}")
        row = self.similarity_[item_index]
        values = np.full(self.n_items_, -np.inf)
        values[row.indices] = row.data
        return matrix_.top_k(values, k, exclude=[item_index])


def item_similarity(X: sp.spmatrix, *, similarity: str = "jaccard", n_neighbors: int = 100) -> sp.csr_matrix:  # noqa: N803
    """One-shot: the top-k item x item similarity matrix of affinity matrix `X` (see `ItemSimilarity`)."""
    return ItemSimilarity(similarity=similarity, n_neighbors=n_neighbors).fit(X).similarity_


def _blocks(work: np.ndarray, budget: int) -> list[tuple[int, int]]:
    """Contiguous item ranges whose summed work stays near `budget` (an expensive item gets its own)."""
    if work.size == 0:
        return []
    ends = np.searchsorted(np.cumsum(work), np.arange(budget, work.sum() + budget, budget), side="right")
    bounds = np.unique(np.concatenate([[0], np.clip(ends, 1, work.size), [work.size]]))
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))


def _top_per_row(block: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """`block` with only the `k` largest values of each row (vectorised: one sort of the long rows' entries)."""
    lengths = np.diff(block.indptr)
    if lengths.size == 0 or lengths.max(initial=0) <= k:
        return block
    rows = np.repeat(np.arange(block.shape[0], dtype=np.int64), lengths)
    long = lengths[rows] > k
    entries = np.flatnonzero(long)
    values = block.data[entries].astype(np.float64)
    # One float key sorts by row, then by value descending within the row: cheaper than a lexsort.
    key = rows[entries] + 0.5 - 0.5 * values / (values.max() * (1 + 1e-9))
    order = entries[np.argsort(key)]
    sorted_rows = rows[order]
    rank = np.arange(order.size) - np.searchsorted(sorted_rows, sorted_rows, side="left")
    keep = np.sort(np.concatenate([np.flatnonzero(~long), order[rank < k]]))
    return sp.csr_matrix((block.data[keep], (rows[keep], block.indices[keep])), shape=block.shape)
