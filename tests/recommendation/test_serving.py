"""The serving fast path (scores read from the similarity's CSR arrays, reasons for the returned items only)
gives the reference answer: affinity @ similarity, ranked, with the strongest history item as the reason."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from services.recommendation import factors, itemsim, serving
from services.recommendation.train import ServingModel

pytestmark = pytest.mark.database_independent

N_CUSTOMERS, N_ITEMS = 400, 80


def make_model(estimator: itemsim.ItemSimilarity | factors.LatentFactors | None = None) -> ServingModel:
    """Customers buying within one of four blocks of items (so neighbours are meaningful), with continuous
    decayed-like weights (no tied scores); 10 neighbours per item, so many items are unreached."""
    rng = np.random.default_rng(7)
    rows, cols = [], []
    for customer in range(N_CUSTOMERS):
        block = customer % 4
        bought = rng.choice(np.arange(block * 20, block * 20 + 20), size=rng.integers(1, 8), replace=False)
        if rng.random() < 0.3:  # some customers stray outside their block
            bought = np.append(bought, rng.integers(0, N_ITEMS))
        rows += [customer] * len(np.unique(bought))
        cols += np.unique(bought).tolist()
    weights = rng.uniform(0.05, 3.0, size=len(rows))
    affinity = sp.csr_matrix((weights, (rows, cols)), shape=(N_CUSTOMERS, N_ITEMS))
    fitted = (estimator or itemsim.ItemSimilarity(n_neighbors=10)).fit(affinity)
    return ServingModel(
        as_of=datetime(2025, 1, 1, tzinfo=UTC),
        items=np.array([f"SKU{i:03d}" for i in range(N_ITEMS)], dtype=object),
        names=np.array([f"item {i}" if i % 5 else "" for i in range(N_ITEMS)], dtype=object),
        categories=np.array([f"cat{i % 3}" for i in range(N_ITEMS)], dtype=object),
        customers={f"c{u}": u for u in range(N_CUSTOMERS)},
        affinity=affinity,
        purchased=(affinity > 0).astype(np.float32).tocsr(),
        estimator=fitted,
        popularity=np.linspace(1, 0, N_ITEMS),
        segment_popularity=None,
        product_rules=pd.DataFrame(columns=["antecedents", "consequents", "lift"]),
    )


def reference(model: ServingModel, row: np.ndarray, blocked: np.ndarray, k: int) -> tuple[np.ndarray, list[str]]:
    """The scores of the batch path (dense affinity @ similarity plus the popularity tie-break), the top-k
    item scores, and the "bought with" reason computed over the whole history as before the fast path."""
    estimator = model.estimator
    assert isinstance(estimator, itemsim.ItemSimilarity)
    similarity = estimator.similarity_.toarray().astype(np.float64)
    scores = row @ similarity + estimator.repeat_weight * row + estimator.tie_break()
    scores[blocked] = -np.inf
    best = np.argsort(-scores, kind="stable")[:k]
    history = np.flatnonzero(row)
    contributions = similarity[history][:, best] * row[history][:, None]
    contributions += estimator.repeat_weight * (history[:, None] == best[None, :]) * row[history][:, None]
    strongest = [history[np.argmax(c)] if c.max() > 0 else -1 for c in contributions.T]
    reasons = [
        "popular now"
        if j < 0
        else serving.REPEAT_REASON
        if j == i
        else f"bought with {model.names[j] or model.items[j]}"
        for j, i in zip(strongest, best, strict=True)
    ]
    return scores, reasons


@pytest.mark.parametrize("k", [1, 5, 30, 80])
def test_fast_path_ranks_like_affinity_times_similarity(k: int) -> None:
    model = make_model()
    for customer in range(0, N_CUSTOMERS, 7):
        row = model.affinity[customer].toarray().ravel()
        suggestions, strategy = serving.recommend(model, f"c{customer}", k=k)
        assert strategy == "personalised"
        scores, reasons = reference(model, row, row > 0, k)
        expected = np.sort(scores[np.isfinite(scores)])[::-1][:k]
        got = np.array([s.score for s in suggestions])
        assert got == pytest.approx(np.round(expected, 6), abs=1e-6)
        # the same items, in the same order wherever scores differ (equal popularity tie-breaks may swap)
        indices = [model.item_index[s.sku] for s in suggestions]
        assert scores[indices] == pytest.approx(expected, rel=1e-9, abs=1e-15)
        reached = expected > estimator_floor(model)
        assert [s.reason for s, r in zip(suggestions, reached, strict=True) if r] == [
            r for r, ok in zip(reasons[: len(expected)], reached, strict=True) if ok
        ]


def estimator_floor(model: ServingModel) -> float:
    estimator = model.estimator
    assert isinstance(estimator, itemsim.ItemSimilarity)
    return float(estimator.tie_break().max())


def test_fast_path_with_events_exclusions_and_a_category() -> None:
    model = make_model()
    events = [("SKU050", "purchase"), ("SKU003", "view"), ("SKU003", "purchase"), ("NO-SUCH", "view")]
    suggestions, _ = serving.recommend(
        model, "c1", k=6, events=events, category="cat1", exclude=["SKU010", "SKU013"], exclude_purchased=True
    )
    row = model.affinity[1].toarray().ravel()
    row[50] += 1.0
    row[3] += 1.3
    blocked = (row > 0) | (model.categories != "cat1")
    blocked[[10, 13]] = True
    scores, reasons = reference(model, row, blocked, 6)
    assert [model.item_index[s.sku] for s in suggestions] == np.argsort(-scores, kind="stable")[:6].tolist()
    assert [s.reason for s in suggestions] == reasons
    assert {s.category for s in suggestions} == {"cat1"}


def test_an_unknown_category_filters_everything_out() -> None:
    assert serving.recommend(make_model(), "c1", k=5, category="no-such-category")[0] == []


@pytest.mark.parametrize(
    ("similarity", "neighbors", "repeat_weight"),
    [("jaccard", 10, 0.0), ("jaccard", 10, 0.5), ("jaccard", 10, 4.0), ("lift", 3, 2.0)],  # lift: some diagonals pruned
)
def test_keeping_purchased_items_scores_them_too_and_the_blend_adds_repeat_purchases(
    similarity: str, neighbors: int, repeat_weight: float
) -> None:
    model = make_model(
        itemsim.ItemSimilarity(similarity=similarity, n_neighbors=neighbors, repeat_weight=repeat_weight)
    )
    for customer in range(0, N_CUSTOMERS, 11):
        row = model.affinity[customer].toarray().ravel()
        suggestions, _ = serving.recommend(model, f"c{customer}", k=6, exclude_purchased=False)
        scores, reasons = reference(model, row, np.zeros(N_ITEMS, dtype=bool), 6)
        got = [model.item_index[s.sku] for s in suggestions]
        # the same ranking (lift's integer-count ratios tie: the tied items may come in either order)
        assert scores[got] == pytest.approx(np.sort(scores)[::-1][:6], rel=1e-9)
        if np.unique(scores[got]).size == len(got):
            assert [s.reason for s in suggestions] == reasons
    assert serving.REPEAT_REASON in reasons


def test_contributions_add_the_repeat_term_even_where_the_diagonal_was_pruned() -> None:
    model = itemsim.ItemSimilarity(repeat_weight=3.0).fit(sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1]])))
    model.similarity_ = sp.csr_matrix(np.array([[0, 0.5, 0], [0.5, 1, 0.5], [0, 0.5, 0]], dtype=np.float32))
    items, weights = np.array([0, 1]), np.array([2.0, 1.0])
    source, target, value = model.contributions(items, weights)
    summed = np.bincount(target, value, minlength=3)
    row = np.array([[2.0, 1.0, 0.0]])
    assert summed == pytest.approx(model.score(row)[0] - model.tie_break())
    assert summed == pytest.approx([0.5 + 3 * 2, 1.0 + 1.0 + 3 * 1, 0.5])
    assert sorted(zip(source.tolist(), target.tolist(), strict=True)) == [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2)]


def test_a_large_repeat_weight_puts_the_customers_own_items_first() -> None:
    model = make_model(itemsim.ItemSimilarity(n_neighbors=10, repeat_weight=1000.0))
    row = model.affinity[5]
    own = {model.items[i] for i in row.indices}
    suggestions, _ = serving.recommend(model, "c5", k=len(own) + 2, exclude_purchased=False)
    assert {s.sku for s in suggestions[: len(own)]} == own
    assert [s.sku for s in suggestions[: len(own)]] == [model.items[i] for i in row.indices[np.argsort(-row.data)]]
    assert {s.reason for s in suggestions[: len(own)]} == {serving.REPEAT_REASON}
    assert not {s.sku for s in suggestions[len(own) :]} & own


def test_basket_completion_uses_the_fast_path() -> None:
    model = make_model()
    suggestions, reason = serving.complete(model, ["SKU001", "SKU002", "SKU001"], k=5)
    assert reason is None
    row = np.zeros(N_ITEMS)
    row[1], row[2] = 2.0, 1.0
    blocked = row > 0
    scores, reasons = reference(model, row, blocked, 5)
    assert [model.item_index[s.sku] for s in suggestions] == np.argsort(-scores, kind="stable")[:5].tolist()
    assert [s.reason for s in suggestions] == reasons


def test_latent_factors_still_serve() -> None:
    model = make_model(factors.LatentFactors(n_components=4))
    suggestions, strategy = serving.recommend(model, "c3", k=5)
    assert strategy == "personalised"
    assert len(suggestions) == 5
    row = model.affinity[3]
    assert not {model.item_index[s.sku] for s in suggestions} & set(row.indices.tolist())


def with_trending(model: ServingModel) -> ServingModel:
    model.trending = pd.DataFrame(
        {"item": [4, 9, 1], "recent": [12, 5, 3], "baseline": [3, 1, 0], "ratio": [6.0, 5.0, 2.4]}
    )
    return model


def test_trending_is_best_first_and_filtered_by_category() -> None:
    model = with_trending(make_model())
    everything, reason = serving.trending(model, k=10)
    assert reason is None
    assert [t.sku for t in everything] == ["SKU004", "SKU009", "SKU001"]
    assert (everything[0].recent_buyers, everything[0].baseline_buyers, everything[0].ratio) == (12, 3, 6.0)
    assert [t.sku for t in serving.trending(model, k=1)[0]] == ["SKU004"]
    in_cat1, _ = serving.trending(model, k=10, category="cat1")  # items 4 and 1 are cat1, 9 is cat0
    assert [t.sku for t in in_cat1] == ["SKU004", "SKU001"]


def test_trending_in_an_unknown_category_or_with_nothing_rising_is_empty_with_a_reason() -> None:
    model = with_trending(make_model())
    items, reason = serving.trending(model, k=10, category="no-such-category")
    assert items == []
    assert "no-such-category" in str(reason)
    nothing = make_model()  # no trending table: also what an artifact stored before trending existed loads with
    items, reason = serving.trending(nothing, k=10, category="cat2")
    assert items == []
    assert "nothing in 'cat2'" in str(reason)


def test_a_pickled_model_without_the_newer_fields_loads_with_them_rebuilt() -> None:
    model = with_trending(make_model())
    state = dict(vars(model))
    for derived in ("trending", "category_codes", "item_category"):
        state.pop(derived)
    restored = ServingModel.__new__(ServingModel)
    restored.__setstate__(state)
    assert restored.trending.empty
    assert restored.category_codes == {"cat0": 0, "cat1": 1, "cat2": 2}
    assert serving.recommend(restored, "c1", k=3, category="cat2")[0]
