"""Hand-made checks of the implicit matrix, time decay, the item-to-item model, latent factors and popularity."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from services.recommendation import factors, itemsim, matrix, popularity

pytestmark = pytest.mark.database_independent

AS_OF = datetime(2024, 3, 1, tzinfo=UTC)

# Customers 0 and 1 bought items 0 and 1, customer 2 items 0 and 2, customer 3 item 2:
# buyers c = (3, 2, 2); co-occurrence C01 = 2, C02 = 1, C12 = 0; 4 customers.
BASKETS = sp.csr_matrix(np.array([[1, 1, 0], [2, 1, 0], [1, 0, 3], [0, 0, 1]], dtype=np.float64))


def lines(*rows: tuple[str, str, int]) -> pd.DataFrame:
    """Purchase lines from (customer, sku, days before AS_OF)."""
    return pd.DataFrame(
        [{"customer_id": c, "sku": s, "at": AS_OF - timedelta(days=d), "quantity": 2} for c, s, d in rows]
    )


def dense(model: itemsim.ItemSimilarity) -> np.ndarray:
    return model.similarity_.toarray()


def test_interactions_count_lines_and_sort_indexes() -> None:
    built = matrix.build_interactions(lines(("b", "y", 0), ("a", "x", 0), ("a", "x", 3), ("b", "x", 1)))
    assert built.customers.tolist() == ["a", "b"]
    assert built.items.tolist() == ["x", "y"]
    assert built.matrix.toarray().tolist() == [[2.0, 0.0], [1.0, 1.0]]


def test_interactions_sum_a_weight_column() -> None:
    built = matrix.build_interactions(lines(("a", "x", 0), ("a", "x", 5)), weight="quantity")
    assert built.matrix.toarray().tolist() == [[4.0]]


def test_time_decay_halves_weight_every_half_life() -> None:
    built = matrix.build_interactions(
        lines(("a", "x", 0), ("a", "y", 10), ("a", "y", 20)), half_life_days=10, as_of=AS_OF
    )
    assert built.matrix.toarray() == pytest.approx(np.array([[1.0, 0.75]]))


def test_given_indexes_drop_unknown_customers_and_items() -> None:
    built = matrix.build_interactions(
        lines(("a", "x", 0), ("a", "z", 0), ("c", "x", 0)), customers=["b", "a"], items=["x", "y"]
    )
    assert built.matrix.toarray().tolist() == [[0.0, 0.0], [1.0, 0.0]]


def test_missing_column_raises() -> None:
    with pytest.raises(ValueError, match="sku"):
        matrix.build_interactions(pd.DataFrame({"customer_id": [1], "at": [AS_OF]}))


def test_jaccard_divides_cooccurrence_by_union() -> None:
    model = itemsim.ItemSimilarity(similarity="jaccard").fit(BASKETS)
    expected = [[1, 2 / 3, 1 / 4], [2 / 3, 1, 0], [1 / 4, 0, 1]]
    assert dense(model) == pytest.approx(np.array(expected), abs=1e-6)


def test_lift_divides_cooccurrence_by_expected_cooccurrence() -> None:
    model = itemsim.ItemSimilarity(similarity="lift").fit(BASKETS)
    expected = [[4 / 3, 4 / 3, 2 / 3], [4 / 3, 2, 0], [2 / 3, 0, 2]]
    assert dense(model) == pytest.approx(np.array(expected), abs=1e-6)


def test_cosine_divides_cooccurrence_by_geometric_mean_of_counts() -> None:
    model = itemsim.ItemSimilarity(similarity="cosine").fit(BASKETS)
    expected = [[1, 2 / math.sqrt(6), 1 / math.sqrt(6)], [2 / math.sqrt(6), 1, 0], [1 / math.sqrt(6), 0, 1]]
    assert dense(model) == pytest.approx(np.array(expected), abs=1e-6)


def test_min_cooccurrence_drops_rare_pairs() -> None:
    model = itemsim.ItemSimilarity(min_cooccurrence=2).fit(BASKETS)
    assert dense(model)[0, 2] == 0.0
    assert dense(model)[0, 1] == pytest.approx(2 / 3)


def test_neighbours_are_top_k_per_item_even_across_blocks() -> None:
    model = itemsim.ItemSimilarity(n_neighbors=2, block_pairs=1).fit(BASKETS)
    assert np.diff(model.similarity_.indptr).tolist() == [2, 2, 2]
    assert dense(model)[0].tolist() == pytest.approx([1, 2 / 3, 0])


def test_score_is_affinity_times_similarity_for_an_unseen_customer() -> None:
    model = itemsim.ItemSimilarity().fit(BASKETS)
    scores = model.score(sp.csr_matrix([[0.0, 1.0, 0.5]]))
    assert scores[0] == pytest.approx([2 / 3 + 0.5 / 4, 1.0, 0.5], abs=1e-6)


def test_recommend_excludes_given_items_and_breaks_zero_ties_by_popularity() -> None:
    model = itemsim.ItemSimilarity().fit(BASKETS)
    items, scores = model.recommend(sp.csr_matrix([[0.0, 1.0, 0.0]]), k=2, exclude=[1])
    assert items.tolist() == [0, 2]
    assert scores[0] == pytest.approx(2 / 3)


def test_similar_items_leave_the_item_out() -> None:
    model = itemsim.ItemSimilarity().fit(BASKETS)
    items, scores = model.similar_items(0, k=5)
    assert items.tolist() == [1, 2]
    assert scores.tolist() == pytest.approx([2 / 3, 1 / 4])


@pytest.mark.parametrize("params", [{"similarity": "dice"}, {"n_neighbors": 0}, {"min_cooccurrence": 0}])
def test_bad_parameters_raise_value_error(params: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        itemsim.ItemSimilarity(**params).fit(BASKETS)  # type: ignore[arg-type]


def test_wrong_width_affinity_raises() -> None:
    model = itemsim.ItemSimilarity().fit(BASKETS)
    with pytest.raises(ValueError, match="columns"):
        model.score(sp.csr_matrix((1, 5)))


def blocks() -> sp.csr_matrix:
    """Customers 0-5 buy items 0-3, customers 6-11 buy items 4-7 (with gaps), one block each."""
    rng = np.random.default_rng(0)
    x = np.zeros((12, 8))
    x[:6, :4] = rng.integers(1, 4, size=(6, 4))
    x[6:, 4:] = rng.integers(1, 4, size=(6, 4))
    x[0, 3] = x[6, 7] = 0
    return sp.csr_matrix(x)


@pytest.mark.parametrize("weighting", ["bm25", "tfidf", "none"])
def test_factors_fold_in_recommends_the_customers_block(weighting: str) -> None:
    model = factors.LatentFactors(n_components=2, weighting=weighting, random_state=0).fit(blocks())
    items, _ = model.recommend(blocks()[0], k=1, exclude=[0, 1, 2])
    assert items.tolist() == [3]
    new_customer = sp.csr_matrix(np.eye(1, 8, 5))
    assert set(model.recommend(new_customer, k=3)[0].tolist()) <= {4, 5, 6, 7}


def test_factors_similar_items_stay_in_block() -> None:
    model = factors.LatentFactors(n_components=2, random_state=0).fit(blocks())
    items, _ = model.similar_items(0, k=3)
    assert set(items.tolist()) == {1, 2, 3}


def test_factors_need_more_rows_than_components() -> None:
    with pytest.raises(ValueError, match="more than"):
        factors.LatentFactors(n_components=8).fit(blocks())


def test_popularity_counts_buyers_globally_and_per_segment() -> None:
    model = popularity.Popularity().fit(BASKETS, segments=["a", "a", "b", "b"])
    assert model.counts_.tolist() == [3, 2, 2]
    assert model.recommend(k=3)[0].tolist() == [0, 1, 2]
    assert model.recommend(k=1, segment="b")[0].tolist() == [2]
    assert model.recommend(k=1, segment="unknown")[0].tolist() == [0]
    assert model.score(BASKETS[:2]).shape == (2, 3)


def test_popularity_per_category() -> None:
    model = popularity.Popularity().fit(BASKETS)
    categories = popularity.category_items(np.array(["x", "y", "z"]), {"x": "dairy", "y": "bakery", "z": "bakery"})
    items, _ = model.recommend(k=5, item_categories=categories, category="bakery")
    assert items.tolist() == [1, 2]


def test_buy_again_ranks_own_items_by_affinity_then_popularity() -> None:
    model = popularity.BuyAgain().fit(BASKETS)
    assert matrix.top_k(model.score(BASKETS[2])[0], 3)[0].tolist() == [2, 0, 1]


def test_trending_ranks_items_selling_faster_recently() -> None:
    recent = [(f"c{i}", "new", 2) for i in range(4)] + [(f"c{i}", "steady", 2) for i in range(3)]
    before = [(f"c{i}", "steady", 10 + 7 * w) for i in range(3) for w in range(7)]
    table = popularity.trending(lines(*recent, *before), as_of=AS_OF, recent_days=7, baseline_days=56)
    assert table["sku"].tolist() == ["new", "steady"]
    assert table.loc[0, "ratio"] == pytest.approx(4 / (1 * 7 / 56))
    assert table.loc[1, "baseline"] == 3
