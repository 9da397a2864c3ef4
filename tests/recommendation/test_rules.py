"""Association rules: hand-computed metrics, planted pairs from the generator, and the Complete Journey
against mlxtend's own FP-growth (same itemsets, bounded memory)."""

from __future__ import annotations

import math
import os
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from mlxtend.frequent_patterns import association_rules as mlxtend_rules
from mlxtend.frequent_patterns import fpgrowth

from rapport import datasets, demo
from services.recommendation import rules
from tests.conftest import REPO

pytestmark = pytest.mark.database_independent

# Six baskets; "a" twice in basket 1 counts once; basket 6 holds only an infrequent item, so it is
# left out of FP-growth but still counts in every support (N = 6).
TINY = pd.DataFrame(
    [
        (1, "a"),
        (1, "a"),
        (1, "b"),
        (2, "a"),
        (2, "b"),
        (2, "c"),
        (3, "a"),
        (3, "c"),
        (4, "b"),
        (5, "a"),
        (5, "b"),
        (6, "d"),
    ],
    columns=["order_id", "sku"],
)


def rule(frame: pd.DataFrame, antecedent: set[object], consequent: set[object]) -> pd.Series:
    hit = frame[(frame["antecedents"] == frozenset(antecedent)) & (frame["consequents"] == frozenset(consequent))]
    assert len(hit) == 1, f"no rule {antecedent} -> {consequent}"
    return hit.iloc[0]


def splits(frame: pd.DataFrame) -> list[tuple[set[object], set[object]]]:
    return [(set(a), set(c)) for a, c in zip(frame["antecedents"], frame["consequents"], strict=True)]


def test_hand_made_baskets_give_hand_computed_metrics() -> None:
    model = rules.AssociationRules(min_support=0.3, min_confidence=0.0, min_lift=1.0).fit(TINY)

    assert model.n_baskets_ == 6
    assert model.n_frequent_items_ == 3
    supports = dict(zip(model.itemsets_["itemsets"], model.itemsets_["support"], strict=True))
    assert supports == pytest.approx(
        {
            frozenset("a"): 4 / 6,
            frozenset("b"): 4 / 6,
            frozenset("c"): 2 / 6,
            frozenset("ab"): 3 / 6,
            frozenset("ac"): 2 / 6,
        }
    )
    # lift: c->a 1/(4/6) = 1.5 = a->c (1/2)/(2/6); a<->b (3/4)/(4/6) = 1.125. Sorted by lift, then confidence.
    got = splits(model.rules_)
    assert got[:2] == [({"c"}, {"a"}), ({"a"}, {"c"})]
    assert sorted(map(str, got[2:])) == sorted(map(str, [({"a"}, {"b"}), ({"b"}, {"a"})]))
    c_a, a_c, a_b = rule(model.rules_, {"c"}, {"a"}), rule(model.rules_, {"a"}, {"c"}), rule(model.rules_, {"a"}, {"b"})
    assert (c_a.support, c_a.confidence, c_a.lift, c_a.leverage) == pytest.approx((2 / 6, 1.0, 1.5, 1 / 9))
    assert math.isinf(c_a.conviction)
    assert (a_c.antecedent_support, a_c.consequent_support, a_c.confidence, a_c.lift) == pytest.approx(
        (4 / 6, 2 / 6, 0.5, 1.5)
    )
    assert (a_c.leverage, a_c.conviction) == pytest.approx((1 / 9, (1 - 2 / 6) / 0.5))
    assert (a_b.confidence, a_b.lift, a_b.leverage, a_b.conviction) == pytest.approx((0.75, 1.125, 1 / 18, 4 / 3))


def test_min_confidence_and_min_lift_filter_rules() -> None:
    model = rules.AssociationRules(min_support=0.3, min_confidence=0.6, min_lift=1.2).fit(TINY)

    assert splits(model.rules_) == [({"c"}, {"a"})]


def test_max_len_bounds_itemset_size() -> None:
    three = rules.frequent_itemsets(TINY, min_support=0.1, max_len=3)
    two = rules.frequent_itemsets(TINY, min_support=0.1, max_len=2)

    assert frozenset("abc") in set(three["itemsets"])
    assert three.loc[three["itemsets"] == frozenset("abc"), "count"].item() == 1
    assert two["itemsets"].map(len).max() == 2


def test_rules_equal_mlxtend_association_rules() -> None:
    itemsets = rules.frequent_itemsets(TINY, min_support=0.1, max_len=None)
    ours = rules.association_rules(itemsets)
    theirs = mlxtend_rules(itemsets[["support", "itemsets"]], metric="confidence", min_threshold=0.0)

    assert_same_rules(ours, theirs)


def test_complete_basket_suggests_missing_consequents_by_lift_with_reason() -> None:
    model = rules.AssociationRules(min_support=0.3, min_confidence=0.0, min_lift=1.0).fit(TINY)

    suggested = model.complete_basket({"a"})
    assert suggested["item"].tolist() == ["c", "b"]
    assert suggested["lift"].tolist() == pytest.approx([1.5, 1.125])
    assert suggested["reason"].tolist() == ["bought with a", "bought with a"]
    assert model.complete_basket({"a", "b"})["item"].tolist() == ["c"]
    assert model.complete_basket({"a"}, k=1, names={"a": "Spaghetti"})["reason"].tolist() == ["bought with Spaghetti"]


def test_complete_basket_of_unknown_items_is_empty() -> None:
    model = rules.AssociationRules(min_support=0.3).fit(TINY)

    suggested = model.complete_basket({"nope"})
    assert suggested.empty
    assert list(suggested.columns) == rules.SUGGESTION_COLUMNS


def test_no_frequent_item_gives_no_itemsets_and_no_rules() -> None:
    model = rules.AssociationRules(min_support=0.99).fit(TINY)

    assert model.itemsets_.empty
    assert model.rules_.empty
    assert model.complete_basket({"a"}).empty


@pytest.mark.parametrize(
    "params",
    [{"min_support": 0.0}, {"min_support": 1.5}, {"max_len": 0}, {"min_confidence": 2.0}, {"level": "brand"}],
)
def test_bad_parameters_raise_value_error(params: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must be"):
        rules.AssociationRules(**params).fit(TINY)  # type: ignore[arg-type]


def test_category_level_needs_a_category_column() -> None:
    with pytest.raises(ValueError, match="category"):
        rules.AssociationRules(level="category").fit(TINY)


@pytest.fixture(scope="module")
def demo_lines(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, demo.Manifest]:
    folder = tmp_path_factory.mktemp("demo")
    manifest = demo.generate(folder, customers=20_000, seed=11, fmt="parquet")
    lines = pd.read_parquet(folder / "orders.parquet", columns=["order_external_id", "sku"])
    products = pd.read_parquet(folder / "products.parquet", columns=["sku", "category"])
    lines = lines.rename(columns={"order_external_id": "order_id"}).merge(products, on="sku", how="left")
    return lines, manifest


def test_planted_pairs_are_recovered_with_their_measured_confidence_and_lift(
    demo_lines: tuple[pd.DataFrame, demo.Manifest],
) -> None:
    lines, manifest = demo_lines
    model = rules.AssociationRules(min_support=0.002, min_confidence=0.1).fit(lines)

    assert model.n_baskets_ == manifest.orders
    for pair in manifest.planted_pairs:
        found = rule(model.rules_, {pair.antecedent_sku}, {pair.consequent_sku})
        assert found.lift > 1
        assert found.confidence == pytest.approx(pair.measured_confidence, abs=1e-6)
        assert found.lift == pytest.approx(pair.measured_lift, rel=1e-6)
        assert found.confidence == pytest.approx(pair.confidence, abs=0.05)  # as generated, up to sampling
        top = model.complete_basket({pair.antecedent_sku}, k=3)
        assert pair.consequent_sku in set(top["item"])


def test_planted_category_habits_have_lift_above_one(demo_lines: tuple[pd.DataFrame, demo.Manifest]) -> None:
    lines, manifest = demo_lines
    model = rules.AssociationRules(level="category", min_support=0.01, min_confidence=0.0).fit(lines)

    for pair in manifest.category_pairs:
        assert rule(model.rules_, {pair.antecedent}, {pair.consequent}).lift > 1


def test_demo_rules_equal_mlxtend_association_rules(demo_lines: tuple[pd.DataFrame, demo.Manifest]) -> None:
    itemsets = rules.frequent_itemsets(demo_lines[0], min_support=0.002, max_len=3)
    ours = rules.association_rules(itemsets)

    assert_same_rules(ours, mlxtend_rules(itemsets[["support", "itemsets"]], metric="confidence", min_threshold=0.0))


def assert_same_rules(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    key = ["antecedents", "consequents"]
    theirs = theirs.rename(columns=lambda c: c.replace(" ", "_"))
    joined = ours.merge(theirs, on=key, how="outer", suffixes=("", "_mlxtend"), indicator=True)
    assert (joined["_merge"] == "both").all()
    assert len(ours) > 0
    for metric in [
        "antecedent_support",
        "consequent_support",
        "support",
        "confidence",
        "lift",
        "leverage",
        "conviction",
    ]:
        np.testing.assert_allclose(joined[metric], joined[f"{metric}_mlxtend"], rtol=1e-12)


@pytest.fixture(scope="module")
def journey_lines() -> pd.DataFrame:
    dest = Path(os.environ.get("RAPPORT_DATA_DIR") or REPO / "var" / "datasets")
    datasets.fetch(dest, names=["complete_journey"])
    frame = datasets.load_complete_journey(dest, "transactions", columns=["basket_id", "product_id"])
    return frame.rename(columns={"basket_id": "order_id", "product_id": "sku"})


def rss_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_complete_journey_itemsets_equal_mlxtend_in_bounded_memory(journey_lines: pd.DataFrame) -> None:
    # Ours first, so the process-wide peak RSS is not yet raised by mlxtend's full one-hot; the delta
    # from the current RSS is an upper bound of what our path added.
    before, started = rss_bytes(), time.perf_counter()
    mined = rules.mine(journey_lines, min_support=0.002, max_len=None)
    elapsed = time.perf_counter() - started
    peak_delta = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    print(
        f"\nComplete Journey: {elapsed:.1f} s, peak RSS +{peak_delta / 2**20:.0f} MiB, "
        f"{mined.n_frequent_items} frequent items, {mined.n_mined_baskets} baskets mined, {len(mined.itemsets)} itemsets"
    )

    assert mined.n_baskets == 155_848
    assert (mined.n_frequent_items, len(mined.itemsets)) == (517, 639)
    assert peak_delta < 1.5 * 2**30

    baskets, _ = pd.factorize(journey_lines["order_id"])
    items, labels = pd.factorize(journey_lines["sku"])
    onehot = sp.csr_matrix((np.ones(len(items), dtype=bool), (baskets, items)), shape=(baskets.max() + 1, len(labels)))
    frame = pd.DataFrame.sparse.from_spmatrix(onehot, columns=pd.RangeIndex(len(labels)))  # type: ignore[attr-defined]
    theirs = fpgrowth(frame, min_support=0.002)
    names = labels.tolist()
    expected = {frozenset(names[c] for c in s): v for s, v in zip(theirs["itemsets"], theirs["support"], strict=True)}
    assert dict(zip(mined.itemsets["itemsets"], mined.itemsets["support"], strict=True)) == expected

    found = rules.association_rules(mined.itemsets, min_lift=1.0)
    assert len(found) == 244
    assert (found["lift"] > 1).all()
