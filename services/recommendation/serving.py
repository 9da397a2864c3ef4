"""Answering from the model in memory: recommendations with reasons, similar items, basket completion.

`ModelHolder` keeps the current `ServingModel`; a new version replaces the reference in one assignment,
so a request that already took the old one finishes with it and no request ever sees half a model.
"""

from __future__ import annotations

import pickle
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from . import itemsim, matrix, rules
from .train import TRENDING_DAYS, ServingModel

EVENT_WEIGHTS = {"purchase": 1.0, "view": 0.3}
REPEAT_REASON = "you bought it before"


@dataclass(frozen=True)
class Loaded:
    model_id: uuid.UUID
    model: ServingModel


class ModelHolder:
    def __init__(self) -> None:
        self.current: Loaded | None = None
        self._loading = threading.Lock()
        # Customers with real-time events: a request for anyone else needs no database round trip. Filled
        # by this replica's own POST /v1/events at once and from the events table every second (others').
        self.customers_with_events: set[str] = set()
        self.last_event_id = 0

    def swap(self, model_id: uuid.UUID, artifact: bytes) -> None:
        # The artifact is written by this service's own training run into its own database.
        loaded = Loaded(model_id, pickle.loads(artifact))
        self.current = loaded  # one reference assignment: atomic for every reader

    def forget(self, customer_ids: list[str]) -> None:
        """Stop serving erased customers' history (the next training leaves them out of the model's index)."""
        current = self.current
        if current is not None:
            for customer_id in customer_ids:
                current.model.customers.pop(customer_id, None)

    @property
    def loading(self) -> threading.Lock:
        return self._loading


def dump(model: ServingModel) -> bytes:
    return pickle.dumps(model, protocol=5)


@dataclass(frozen=True)
class Suggestion:
    sku: str
    name: str
    category: str
    score: float
    reason: str


def history(model: ServingModel, customer_id: str, events: Sequence[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
    """The customer's item indices (ascending) and affinities: the trained row plus real-time events (sku,
    kind) received since the model's cut-off. Read from the CSR arrays: no sparse matrix per request."""
    row = model.customers.get(customer_id)
    affinity = model.affinity
    items: np.ndarray
    weights: np.ndarray
    if row is None:
        items, weights = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    else:
        start, stop = affinity.indptr[row], affinity.indptr[row + 1]
        items = affinity.indices[start:stop].astype(np.int64)
        weights = affinity.data[start:stop].astype(np.float64)
    known = [(model.item_index[sku], EVENT_WEIGHTS.get(kind, 0.3)) for sku, kind in events if sku in model.item_index]
    if known:
        extra = np.array(known, dtype=np.float64)
        items, where = np.unique(np.concatenate([items, extra[:, 0].astype(np.int64)]), return_inverse=True)
        weights = np.bincount(where, np.concatenate([weights, extra[:, 1]]), minlength=items.size)
    if not np.all(np.diff(items) > 0):  # CSR rows from build_interactions are sorted; keep that promise
        items, where = np.unique(items, return_inverse=True)
        weights = np.bincount(where, weights, minlength=items.size)
    return items, weights


def affinity_row(model: ServingModel, customer_id: str, events: Sequence[tuple[str, str]]) -> sp.csr_matrix:
    """The customer's trained affinity plus real-time events as a 1 x n_items CSR row."""
    items, weights = history(model, customer_id, events)
    return _row(items, weights, len(model.items))


def _row(items: np.ndarray, weights: np.ndarray, n_items: int) -> sp.csr_matrix:
    return sp.csr_matrix((weights, items, np.array([0, items.size])), shape=(1, n_items))


def recommend(
    model: ServingModel,
    customer_id: str,
    *,
    k: int,
    events: Sequence[tuple[str, str]] = (),
    category: str | None = None,
    exclude_purchased: bool = True,
    exclude: Sequence[str] = (),
    segment: str | None = None,
) -> tuple[list[Suggestion], str]:
    """Top-k items with reasons, and the strategy used ("personalised" or "cold_start")."""
    items, weights = history(model, customer_id, events)
    blocked = np.zeros(len(model.items), dtype=bool)
    if exclude_purchased:
        blocked[items] = True
    blocked[[model.item_index[s] for s in exclude if s in model.item_index]] = True
    if category is not None:
        code = model.category_codes.get(category)
        if code is None:
            blocked[:] = True
        else:
            blocked |= model.item_category != code
    if items.size == 0:
        by_segment = model.segment_popularity
        known = by_segment is not None and segment is not None and segment in set(by_segment.segments_)
        popular = by_segment.item_scores(segment=segment) if by_segment is not None and known else model.popularity
        reason = "popular in your segment" if known else "popular now"
        best, scores = matrix.top_k(np.where(blocked, -np.inf, popular), k)
        return [_suggestion(model, int(i), float(s), reason) for i, s in zip(best, scores, strict=True)], "cold_start"
    best, values, reasons = _personal(model, items, weights, blocked, k)
    return [
        _suggestion(model, int(i), float(s), reason) for i, s, reason in zip(best, values, reasons, strict=True)
    ], "personalised"


def _personal(
    model: ServingModel, items: np.ndarray, weights: np.ndarray, blocked: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The `k` best unblocked items for a history (the same ranking as `estimator.score`), with reasons."""
    estimator = model.estimator
    if not isinstance(estimator, itemsim.ItemSimilarity):  # latent factors: one dense product, no single reason
        scores = estimator.score(_row(items, weights, len(model.items)))[0]
        best, values = matrix.top_k(np.where(blocked, -np.inf, scores), k)
        return best, values, ["customers with a history like yours bought it"] * len(best)
    source, target, value = estimator.contributions(items, weights)
    candidates, where = np.unique(target, return_inverse=True)
    tie_break = estimator.tie_break()
    scores = np.bincount(where, value, minlength=candidates.size) + tie_break[candidates]
    open_ = np.flatnonzero(~blocked[candidates])
    picked = open_[_top(scores[open_], k)] if open_.size else open_
    if picked.size < k or scores[picked[-1]] <= estimator.tie_break_max():
        # Too few items reached from the history (or scores so small that popularity alone could beat them):
        # rank every item, as `estimator.score` does, so the answer is the same.
        dense = tie_break.copy()
        dense[candidates] = scores
        best, values = matrix.top_k(np.where(blocked, -np.inf, dense), k)
        positions = np.searchsorted(candidates, best)
        reached = (positions < candidates.size) & (candidates[np.minimum(positions, candidates.size - 1)] == best)
        picked = np.where(reached, positions, -1)
    else:
        best, values = candidates[picked], scores[picked]
    return best, values, _because(model, items, source, where, value, picked, best)


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the `k` largest `scores`, best first (ties by position)."""
    if k < scores.size:
        part = np.argpartition(-scores, k - 1)[:k]
        return part[np.lexsort((part, -scores[part]))]
    return np.lexsort((np.arange(scores.size), -scores))


def _because(
    model: ServingModel,
    items: np.ndarray,
    source: np.ndarray,
    where: np.ndarray,
    value: np.ndarray,
    picked: np.ndarray,
    best: np.ndarray,
) -> list[str]:
    """ "bought with X": for each picked candidate (-1: reached by popularity only) and its item in `best`, the
    history item whose contribution to its score is largest (the first of equals), computed for the returned
    items only; when that is the item itself (a repeat purchase), "you bought it before"."""
    if picked.size == 0:
        return []
    rank = np.full(int(where.max(initial=-1)) + 1, -1, dtype=np.int64)
    rank[picked[picked >= 0]] = np.flatnonzero(picked >= 0)
    mine = np.flatnonzero(rank[where] >= 0)  # contributions to a returned item
    strongest = np.full(picked.size, -1, dtype=np.int64)
    if mine.size:
        ranks = rank[where[mine]]
        order = np.lexsort((source[mine], -value[mine], ranks))
        first = np.r_[True, ranks[order][1:] != ranks[order][:-1]]
        strongest[ranks[order][first]] = items[source[mine][order][first]]
    return [
        "popular now" if j < 0 else REPEAT_REASON if j == i else f"bought with {model.names[j] or model.items[j]}"
        for j, i in zip(strongest.tolist(), best.tolist(), strict=True)
    ]


def _suggestion(model: ServingModel, item: int, score: float, reason: str) -> Suggestion:
    return Suggestion(
        str(model.items[item]), str(model.names[item]), str(model.categories[item]), round(score, 6), reason
    )


@dataclass(frozen=True)
class Trend:
    sku: str
    name: str
    category: str
    recent_buyers: int
    baseline_buyers: int
    ratio: float


def trending(model: ServingModel, *, k: int, category: str | None = None) -> tuple[list[Trend], str | None]:
    """Items selling faster lately (as of the model's cut-off), best first, within `category` when given; and
    why the list is empty when it is (an unknown category, or nothing rising)."""
    found = model.trending
    if category is not None:
        code = model.category_codes.get(category)
        if code is None:
            return [], f"no category {category!r} in the current model's catalogue"
        found = found[model.item_category[found["item"].to_numpy()] == code]
    top = found.head(k)
    out = [
        Trend(str(model.items[i]), str(model.names[i]), str(model.categories[i]), int(r), int(b), round(float(x), 4))
        for i, r, b, x in zip(top["item"], top["recent"], top["baseline"], top["ratio"], strict=True)
    ]
    if out:
        return out, None
    where = f" in {category!r}" if category is not None else ""
    return [], f"nothing{where} sold faster in the {TRENDING_DAYS} days before {model.as_of:%Y-%m-%d} than before"


def similar(model: ServingModel, sku: str, k: int) -> list[Suggestion]:
    """Items most similar to `sku` (KeyError when the model does not know it)."""
    best, scores = model.estimator.similar_items(model.item_index[sku], k)
    label = model.names[model.item_index[sku]] or sku
    return [_suggestion(model, int(i), float(s), f"bought with {label}") for i, s in zip(best, scores, strict=True)]


def complete(model: ServingModel, skus: Sequence[str], k: int) -> tuple[list[Suggestion], str | None]:
    """Cross-sell for a basket: association rules first ("frequently bought together"), then the item model
    over the basket; and a reason when nothing can be suggested."""
    known = [s for s in skus if s in model.item_index]
    if not known:
        return [], "none of these items is known to the model"
    names: dict[object, str] = {str(sku): str(name) for sku, name in zip(model.items, model.names, strict=True) if name}
    suggested = rules.complete_basket(model.product_rules, known, k=k, names=names)
    out = [
        _suggestion(model, model.item_index[str(item)], float(lift), reason)
        for item, lift, reason in zip(suggested["item"], suggested["lift"], suggested["reason"], strict=True)
        if str(item) in model.item_index
    ]
    if len(out) < k:
        items, counts = np.unique([model.item_index[s] for s in known], return_counts=True)
        blocked = np.zeros(len(model.items), dtype=bool)
        blocked[[*items.tolist(), *(model.item_index[s.sku] for s in out)]] = True
        best, scores, reasons = _personal(model, items, counts.astype(np.float64), blocked, k - len(out))
        out += [_suggestion(model, int(i), float(s), r) for i, s, r in zip(best, scores, reasons, strict=True)]
    return out, None
