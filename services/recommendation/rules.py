"""Association rules for cross-sell ("diapers and beer"): frequent itemsets by FP-growth over baskets
(orders), rules with support, confidence, lift, leverage and conviction, and "complete the basket".

Memory stays bounded on large catalogues because FP-growth only ever sees frequent items: item
support is counted first (an itemset can only be frequent if every item in it is), and the sparse
one-hot handed to mlxtend holds only the frequent-item columns and the baskets that contain at least
one of them. Supports stay relative to all baskets. mlxtend is pinned at 0.23.1: later releases turn a
sparse one-hot into a dense table inside fpgrowth (upstream issue 1130; DESIGN.md, "Real data").
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Literal, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp
from mlxtend.frequent_patterns import fpgrowth

Level = Literal["product", "category"]
LEVEL_COLUMNS: dict[str, str] = {"product": "sku", "category": "category"}
BASKET_COLUMN = "order_id"

ITEMSET_COLUMNS = ["support", "count", "itemsets"]
RULE_COLUMNS = [
    "antecedents",
    "consequents",
    "antecedent_support",
    "consequent_support",
    "support",
    "confidence",
    "lift",
    "leverage",
    "conviction",
]
SUGGESTION_COLUMNS = ["item", "lift", "confidence", "support", "antecedents", "reason"]


@dataclass(frozen=True)
class Mined:
    """Frequent itemsets and the sizes behind them: all baskets, frequent items, baskets given to FP-growth."""

    itemsets: pd.DataFrame
    n_baskets: int
    n_frequent_items: int
    n_mined_baskets: int


def mine(
    lines: pd.DataFrame,
    *,
    min_support: float,
    max_len: int | None = 2,
    basket: str = BASKET_COLUMN,
    item: str = "sku",
) -> Mined:
    """Frequent itemsets of the baskets in `lines` (one row per line; a basket counts an item once).

    Returns `Mined` whose `itemsets` has columns support (share of ALL baskets), count (baskets) and
    itemsets (frozenset of item labels), the same sets and supports as mlxtend's fpgrowth on the full
    one-hot. Lines with a missing basket or item are ignored. Raises ValueError on a missing column,
    `min_support` outside (0, 1] or `max_len` < 1.
    """
    _check_columns(lines, basket, item)
    if not 0.0 < min_support <= 1.0:
        raise ValueError(f"min_support must be in (0, 1], got {min_support}")
    if max_len is not None and max_len < 1:
        raise ValueError(f"max_len must be at least 1, got {max_len}")

    basket_codes, basket_labels = pd.factorize(lines[basket])
    item_codes, item_labels = pd.factorize(lines[item])
    n_baskets, n_items = len(basket_labels), len(item_labels)
    known = (basket_codes >= 0) & (item_codes >= 0)
    # One key per (basket, item) so a basket counts an item once however many lines hold it.
    keys = pd.unique(basket_codes[known].astype(np.int64) * max(n_items, 1) + item_codes[known])
    rows, cols = np.divmod(keys, max(n_items, 1))
    counts = np.bincount(cols, minlength=n_items)

    # The same test mlxtend applies to single items, so both paths keep exactly the same items.
    frequent = np.flatnonzero(counts / max(n_baskets, 1) >= min_support)
    if frequent.size == 0:
        return Mined(pd.DataFrame({c: [] for c in ITEMSET_COLUMNS}), n_baskets, 0, 0)
    column = np.full(n_items, -1, dtype=np.int64)
    column[frequent] = np.arange(frequent.size)
    keep = column[cols] >= 0
    mined_rows, mined_baskets = pd.factorize(rows[keep])
    onehot = sp.csr_matrix(
        (np.ones(mined_rows.size, dtype=bool), (mined_rows, column[cols[keep]])),
        shape=(len(mined_baskets), frequent.size),
    )
    # Columns 0..n-1 are the positions in `frequent`: labels of any type map back without a string round trip.
    frame = pd.DataFrame.sparse.from_spmatrix(onehot, columns=pd.RangeIndex(frequent.size))  # type: ignore[attr-defined]
    min_count = math.ceil(min_support * n_baskets)  # mlxtend's own threshold over all baskets
    # Half a basket below the count: the same threshold over the kept baskets, safe from rounding.
    found = fpgrowth(frame, min_support=(min_count - 0.5) / len(mined_baskets), max_len=max_len)

    count = np.rint(found["support"].to_numpy() * len(mined_baskets)).astype(np.int64)
    labels = item_labels[frequent].tolist()  # Python objects (int, str), not numpy scalars
    itemsets = pd.DataFrame(
        {
            "support": count / n_baskets,
            "count": count,
            "itemsets": [frozenset(labels[code] for code in codes) for codes in found["itemsets"]],
        }
    )
    return Mined(itemsets, n_baskets, int(frequent.size), len(mined_baskets))


def frequent_itemsets(
    lines: pd.DataFrame,
    *,
    min_support: float,
    max_len: int | None = 2,
    basket: str = BASKET_COLUMN,
    item: str = "sku",
) -> pd.DataFrame:
    """Frequent itemsets (support, count, itemsets) of the baskets in `lines`; see `mine`."""
    return mine(lines, min_support=min_support, max_len=max_len, basket=basket, item=item).itemsets


def association_rules(itemsets: pd.DataFrame, *, min_confidence: float = 0.0, min_lift: float = 0.0) -> pd.DataFrame:
    """Rules A -> C from every split of every frequent itemset of two or more items, with confidence and
    lift at or above the minimums, sorted by lift, then confidence, then support (all descending).

    Columns: antecedents, consequents (frozensets), antecedent_support, consequent_support, support,
    confidence, lift, leverage, conviction (inf when confidence is 1) - the values of mlxtend's
    association_rules. Raises KeyError if a subset of an itemset is missing from `itemsets`.
    """
    support_of = dict(zip(itemsets["itemsets"], itemsets["support"].to_numpy(dtype=float), strict=True))
    splits = list(_splits(support_of))
    if not splits:
        return pd.DataFrame({c: [] for c in RULE_COLUMNS})
    antecedents, consequents = zip(*splits, strict=True)
    s_ac = np.array([support_of[a | c] for a, c in splits])
    s_a = np.array([support_of[a] for a in antecedents])
    s_c = np.array([support_of[c] for c in consequents])
    confidence = s_ac / s_a
    lift = confidence / s_c
    with np.errstate(divide="ignore"):
        conviction = np.where(confidence < 1.0, (1.0 - s_c) / (1.0 - np.minimum(confidence, 1.0)), np.inf)
    rules = pd.DataFrame(
        {
            "antecedents": antecedents,
            "consequents": consequents,
            "antecedent_support": s_a,
            "consequent_support": s_c,
            "support": s_ac,
            "confidence": confidence,
            "lift": lift,
            "leverage": s_ac - s_a * s_c,
            "conviction": conviction,
        }
    )
    rules = rules[(rules["confidence"] >= min_confidence) & (rules["lift"] >= min_lift)]
    return rules.sort_values(["lift", "confidence", "support"], ascending=False).reset_index(drop=True)


def complete_basket(
    rules: pd.DataFrame,
    items: Collection[object],
    *,
    k: int = 10,
    names: Mapping[object, str] | None = None,
) -> pd.DataFrame:
    """Up to `k` items to add to a basket holding `items`, from the rules whose antecedent is in the
    basket and whose consequent is not, ranked by lift then confidence; each item once, with its best rule.

    Columns: item, lift, confidence, support, antecedents (frozenset), reason ("bought with X", using
    `names` for labels when given). Items the rules do not know give an empty frame, never an error.
    Raises ValueError if `k` < 1.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    basket = frozenset(items)
    applies = [
        a <= basket and not (c & basket) for a, c in zip(rules["antecedents"], rules["consequents"], strict=True)
    ]
    hits = rules.loc[np.array(applies, dtype=bool)]
    if hits.empty:
        return pd.DataFrame({c: [] for c in SUGGESTION_COLUMNS})
    hits = hits.assign(item=pd.Series([list(c) for c in hits["consequents"]], index=hits.index, dtype=object))
    hits = hits.explode("item")
    best = hits.sort_values(["lift", "confidence"], ascending=False, kind="stable").drop_duplicates("item").head(k)
    label = (lambda x: names.get(x, str(x))) if names is not None else str
    reason = ["bought with " + " and ".join(sorted(label(x) for x in a)) for a in best["antecedents"]]
    return best.assign(reason=reason)[SUGGESTION_COLUMNS].reset_index(drop=True)


class AssociationRules:
    """Cross-sell rules mined from order lines (columns order_id, sku and, for `level="category"`, category).

    Learned: `itemsets_`, `rules_` (see `association_rules`), `n_baskets_`, `n_frequent_items_`.
    `max_len` bounds the items in an itemset (None: no bound).
    """

    def __init__(
        self,
        *,
        level: Level = "product",
        min_support: float = 0.005,
        min_confidence: float = 0.1,
        min_lift: float = 1.0,
        max_len: int | None = 2,
    ) -> None:
        self.level = level
        self.min_support = min_support
        self.min_confidence = min_confidence
        self.min_lift = min_lift
        self.max_len = max_len

    def fit(self, X: pd.DataFrame, y: object = None) -> Self:  # noqa: N803 (scikit-learn's X)
        """Mine the itemsets and rules of the baskets in `X` and return self. Raises ValueError on an
        unknown level, a missing column or a parameter out of range."""
        if self.level not in LEVEL_COLUMNS:
            raise ValueError(f"level must be one of {sorted(LEVEL_COLUMNS)}, got {self.level!r}")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be in [0, 1], got {self.min_confidence}")
        mined = mine(X, min_support=self.min_support, max_len=self.max_len, item=LEVEL_COLUMNS[self.level])
        self.itemsets_ = mined.itemsets
        self.n_baskets_ = mined.n_baskets
        self.n_frequent_items_ = mined.n_frequent_items
        self.rules_ = association_rules(mined.itemsets, min_confidence=self.min_confidence, min_lift=self.min_lift)
        return self

    def complete_basket(
        self, items: Collection[object], *, k: int = 10, names: Mapping[object, str] | None = None
    ) -> pd.DataFrame:
        """Suggestions for a basket holding `items`; see `complete_basket`."""
        return complete_basket(self.rules_, items, k=k, names=names)


def mine_rules(
    lines: pd.DataFrame,
    *,
    level: Level = "product",
    min_support: float = 0.005,
    min_confidence: float = 0.1,
    min_lift: float = 1.0,
    max_len: int | None = 2,
) -> pd.DataFrame:
    """The rules of `AssociationRules(...).fit(lines)` in one call."""
    model = AssociationRules(
        level=level, min_support=min_support, min_confidence=min_confidence, min_lift=min_lift, max_len=max_len
    )
    return model.fit(lines).rules_


def _splits(support_of: Mapping[frozenset[object], float]) -> Iterator[tuple[frozenset[object], frozenset[object]]]:
    """Every (antecedent, consequent) split of every itemset of two or more items, in mlxtend's order."""
    for itemset in support_of:
        for size in range(len(itemset) - 1, 0, -1):
            for antecedent in combinations(itemset, size):
                first = frozenset(antecedent)
                yield first, itemset - first


def _check_columns(lines: pd.DataFrame, *columns: str) -> None:
    missing = [c for c in columns if c not in lines.columns]
    if missing:
        raise ValueError(f"order lines lack column(s) {', '.join(missing)}")
