"""RFM values, tie-safe quantile scores, the segment rule table, and value tiers, on hand-made data."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from services.segmentation import rfm, tiers

pytestmark = pytest.mark.database_independent

AS_OF = pd.Timestamp("2024-07-01", tz="UTC")


def _orders(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "placed_at", "status", "amount"])
    frame["placed_at"] = pd.to_datetime(frame["placed_at"], utc=True)
    return frame


def test_rfm_values_count_placed_and_paid_orders_and_ignore_later_ones() -> None:
    orders = _orders(
        [
            ("a", "2024-06-21", "paid", 100.0),
            ("a", "2024-01-01", "placed", 50.0),
            ("a", "2024-05-01", "refunded", 999.0),
            ("a", "2024-08-01", "paid", 999.0),  # after as_of
            ("b", "2023-07-01", "cancelled", 10.0),
            ("c", "2024-03-03", "paid", 20.0),
        ]
    )
    values = rfm.rfm_values(orders, as_of=AS_OF)
    assert sorted(values.index) == ["a", "c"]  # b never completed an order
    assert values.loc["a", ["recency_days", "frequency", "monetary"]].tolist() == [10.0, 2, 150.0]
    assert values.loc["c", "recency_days"] == 120.0


def test_quantile_scores_give_ties_one_score_and_the_worst_value_a_one() -> None:
    frequency = pd.Series([1, 1, 1, 1, 1, 1, 2, 2, 5, 9])
    scores = rfm.quantile_scores(frequency)
    assert scores.tolist() == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    recency = pd.Series([3.0, 300.0, 30.0, 3.0])
    assert rfm.quantile_scores(recency, higher_is_better=False).tolist() == [3, 1, 2, 3]


def test_every_cell_of_the_r_by_fm_grid_has_exactly_one_segment() -> None:
    r, fm = np.meshgrid(np.arange(1, 6), np.arange(1, 6))
    keys = rfm.segment_of(r.ravel(), fm.ravel())
    assert "" not in set(keys)
    assert set(keys) == {s.key for s in rfm.SEGMENTS}
    grid = dict(zip(zip(r.ravel().tolist(), fm.ravel().tolist(), strict=True), keys, strict=True))
    assert grid[(5, 5)] == "champions"
    assert grid[(1, 1)] == "lost"
    assert grid[(5, 1)] == "new"
    assert grid[(1, 5)] == "cant_lose_them"
    assert grid[(2, 4)] == "at_risk"
    assert grid[(3, 3)] == "need_attention"


def test_segment_stats_shares_add_up_and_count_customers_without_orders() -> None:
    rng = np.random.default_rng(1)
    orders = _orders(
        [
            (f"c{i % 200}", f"2024-{1 + i % 6:02d}-{1 + i % 28:02d}", "paid", float(rng.integers(5, 500)))
            for i in range(1000)
        ]
    )
    scores = rfm.rfm_scores(orders, as_of=AS_OF)
    stats = rfm.segment_stats(scores, customers_without_orders=50)
    assert stats["count"].sum() == 250
    assert stats.loc[rfm.NO_PURCHASES, "share_revenue"] == 0
    assert stats["share_customers"].sum() == pytest.approx(1.0)
    assert stats["share_revenue"].sum() == pytest.approx(1.0)
    assert set(stats["action"]) <= set(rfm.SEGMENT_ACTIONS.values())


def test_tier_a_is_the_smallest_set_reaching_80_percent_of_revenue() -> None:
    spend = pd.Series([500.0, 300.0, 100.0, 50.0, 30.0, 20.0, 0.0], index=list("abcdefg"))
    assigned = tiers.value_tiers(spend)
    # a + b = 800 of 1000: exactly 80%, so A is {a, b}; B runs to 95% (c, d); the rest are C.
    assert assigned.to_dict() == {"a": "A", "b": "A", "c": "B", "d": "B", "e": "C", "f": "C", "g": "C"}
    stats = tiers.tier_stats(spend, assigned)
    assert stats.loc["A", "share_revenue"] == pytest.approx(0.8)
    curve = tiers.pareto_curve(spend, points=8)
    assert curve[0] == (0.0, 0.0)
    assert curve[-1] == (1.0, 1.0)
    assert all(y1 <= y2 for (_, y1), (_, y2) in itertools.pairwise(curve))


def test_tiers_refuse_bad_shares() -> None:
    with pytest.raises(ValueError, match="a_share"):
        tiers.value_tiers(pd.Series([1.0]), a_share=0.9, b_share=0.8)
