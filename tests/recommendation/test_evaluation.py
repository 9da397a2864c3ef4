"""Metrics on hand-computed examples, the time split, and the models against popularity on the Complete Journey."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from services.recommendation import evaluation, factors, itemsim, popularity

pytestmark = pytest.mark.database_independent

CUTOFF = datetime(2024, 3, 1, tzinfo=UTC)


def test_metrics_match_hand_computation() -> None:
    recommended = np.array([[3, 1, 2], [0, -1, -1], [4, 3, 2]])
    relevant = sp.csr_matrix(np.array([[0, 1, 0, 0, 1], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0]]))
    got = evaluation.ranking_metrics(recommended, relevant, n_items=5)
    # Row 0: one hit at rank 2 of 2 relevant; row 1: a hit at rank 1 of 1; row 2 has nothing relevant.
    ndcg0 = (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    assert got["precision"] == pytest.approx((1 / 3 + 1 / 3) / 2)
    assert got["recall"] == pytest.approx((1 / 2 + 1) / 2)
    assert got["ndcg"] == pytest.approx((ndcg0 + 1) / 2)
    assert got["map"] == pytest.approx(((1 / 2) / 2 + 1) / 2)
    assert got["hit_rate"] == pytest.approx(1.0)
    assert got["coverage"] == pytest.approx(4 / 5)
    assert got["customers"] == 2


def test_perfect_ranking_scores_one() -> None:
    got = evaluation.ranking_metrics(np.array([[2, 0]]), sp.csr_matrix(np.array([[1, 0, 1]])), n_items=3)
    assert (got["precision"], got["recall"], got["ndcg"], got["map"], got["hit_rate"]) == (1, 1, 1, 1, 1)


def purchase(customer: str, sku: str, days: float) -> dict[str, object]:
    return {"customer_id": customer, "sku": sku, "at": CUTOFF + timedelta(days=days)}


def small_split() -> evaluation.Split:
    lines = pd.DataFrame(
        [
            purchase("a", "x", -3),
            purchase("a", "y", -2),
            purchase("b", "x", -1),
            purchase("c", "y", -5),  # no purchase after the cut-off: not evaluated
            purchase("a", "x", 1),
            purchase("a", "z", 2),
            purchase("b", "y", 1),
            purchase("b", "w", 1),  # w is unknown before the cut-off: cannot be recommended
            purchase("d", "x", 1),  # no history: not evaluated
        ]
    )
    return evaluation.time_split(lines, cutoff=CUTOFF)


def test_time_split_keeps_customers_active_on_both_sides() -> None:
    split = small_split()
    assert split.customers.tolist() == ["a", "b", "c"]
    assert split.items.tolist() == ["x", "y"]
    assert split.customers[split.evaluated].tolist() == ["a", "b"]
    assert split.test.toarray().tolist() == [[1, 0], [0, 1], [0, 0]]


def test_new_items_mode_excludes_what_the_customer_bought() -> None:
    split = small_split()
    got = evaluation.evaluate(popularity.BuyAgain().fit(split.train), split, k=1)
    # All items: a's own x comes back (hit), b's own x misses y. New: only b has a new relevant item (y).
    assert got["all"]["precision"] == pytest.approx(0.5)
    assert got["new"]["customers"] == 1
    assert got["new"]["precision"] == pytest.approx(1.0)


def test_unknown_mode_raises() -> None:
    with pytest.raises(ValueError, match="mode"):
        evaluation.evaluate(popularity.BuyAgain().fit(small_split().train), small_split(), modes=("some",))


@pytest.fixture(scope="module")
def journey_popularity(journey_split: evaluation.Split) -> dict[str, dict[str, float]]:
    return evaluation.evaluate(popularity.Popularity().fit(journey_split.train), journey_split, k=10)


@pytest.mark.slow
def test_popularity_matches_the_design_reference(journey_popularity: dict[str, dict[str, float]]) -> None:
    assert journey_popularity["all"]["precision"] == pytest.approx(0.178, abs=0.005)
    assert journey_popularity["all"]["ndcg"] == pytest.approx(0.220, abs=0.005)


@pytest.mark.slow
def test_item_similarity_beats_popularity_on_complete_journey(
    journey_split: evaluation.Split, journey_popularity: dict[str, dict[str, float]]
) -> None:
    model = itemsim.ItemSimilarity(similarity="jaccard", min_cooccurrence=2).fit(journey_split.train)
    got = evaluation.evaluate(model, journey_split, k=10)
    assert got["all"]["ndcg"] >= 1.2 * journey_popularity["all"]["ndcg"]
    assert got["new"]["ndcg"] > journey_popularity["new"]["ndcg"]


@pytest.mark.slow
def test_latent_factors_beat_popularity_on_complete_journey(
    journey_split: evaluation.Split, journey_popularity: dict[str, dict[str, float]]
) -> None:
    model = factors.LatentFactors(n_components=64, random_state=0).fit(journey_split.train)
    got = evaluation.evaluate(model, journey_split, k=10, modes=("all",))
    assert got["all"]["ndcg"] >= 1.2 * journey_popularity["all"]["ndcg"]
