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

from . import matrix, rules
from .train import ServingModel

EVENT_WEIGHTS = {"purchase": 1.0, "view": 0.3}


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


def affinity_row(model: ServingModel, customer_id: str, events: Sequence[tuple[str, str]]) -> sp.csr_matrix:
    """The customer's trained affinity plus real-time events (sku, kind) received since the model's cut-off."""
    n_items = len(model.items)
    row = (
        model.affinity[model.customers[customer_id]] if customer_id in model.customers else sp.csr_matrix((1, n_items))
    )
    known = [(model.item_index[sku], EVENT_WEIGHTS.get(kind, 0.3)) for sku, kind in events if sku in model.item_index]
    if known:
        columns, weights = zip(*known, strict=True)
        row = row + sp.csr_matrix((weights, (np.zeros(len(columns), int), columns)), shape=(1, n_items))
    return sp.csr_matrix(row)


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
    row = affinity_row(model, customer_id, events)
    blocked = np.zeros(len(model.items), dtype=bool)
    if exclude_purchased:
        blocked[row.indices] = True
    blocked[[model.item_index[s] for s in exclude if s in model.item_index]] = True
    if category is not None:
        blocked |= model.categories != category
    if row.nnz == 0:
        by_segment = model.segment_popularity
        known = by_segment is not None and segment is not None and segment in set(by_segment.segments_)
        popular = by_segment.item_scores(segment=segment) if by_segment is not None and known else model.popularity
        reason = "popular in your segment" if known else "popular now"
        best, scores = matrix.top_k(np.where(blocked, -np.inf, popular), k)
        return [_suggestion(model, int(i), float(s), reason) for i, s in zip(best, scores, strict=True)], "cold_start"
    scores = model.estimator.score(row)[0]
    best, values = matrix.top_k(np.where(blocked, -np.inf, scores), k)
    reasons = _because(model, row, best)
    return [
        _suggestion(model, int(i), float(s), reason) for i, s, reason in zip(best, values, reasons, strict=True)
    ], "personalised"


def _because(model: ServingModel, row: sp.csr_matrix, best: np.ndarray) -> list[str]:
    """ "bought with X": the item of the customer's history that contributes most to each suggestion."""
    if len(best) == 0:
        return []
    similarity = getattr(model.estimator, "similarity_", None)
    if similarity is None:  # latent factors: no single item to point at
        return ["customers with a history like yours bought it"] * len(best)
    history = row.indices
    contributions = similarity[history][:, best].toarray() * row.data[:, None]
    strongest = history[np.argmax(contributions, axis=0)]
    has = contributions.max(axis=0) > 0
    return [
        f"bought with {model.names[j] or model.items[j]}" if ok else "popular now"
        for j, ok in zip(strongest, has, strict=True)
    ]


def _suggestion(model: ServingModel, item: int, score: float, reason: str) -> Suggestion:
    return Suggestion(
        str(model.items[item]), str(model.names[item]), str(model.categories[item]), round(score, 6), reason
    )


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
        basket = sp.csr_matrix(
            (np.ones(len(known)), (np.zeros(len(known), int), [model.item_index[s] for s in known])),
            shape=(1, len(model.items)),
        )
        blocked = {model.item_index[s] for s in known} | {model.item_index[s.sku] for s in out}
        best, scores = matrix.top_k(model.estimator.score(basket)[0], k - len(out), exclude=sorted(blocked))
        reasons = _because(model, basket, best)
        out += [_suggestion(model, int(i), float(s), r) for i, s, r in zip(best, scores, reasons, strict=True)]
    return out, None
