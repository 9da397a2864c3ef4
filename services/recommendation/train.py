"""One training run: the item model, its offline evaluation against popularity, association rules and
popularity, from order lines as of a cut-off. Pure computation: no database, no HTTP.

The evaluation holds out the last `holdout_days` before `as_of` (train before, test after, customers
active in both) and scores the model and the popularity baseline on the same split; the served model is
then refitted on all history up to `as_of`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import BaseModel, Field, model_validator

from . import evaluation, factors, itemsim, matrix, rules
from . import popularity as popularity_

COUNTED_STATUSES = ("placed", "paid")
EVALUATED_CUSTOMERS = 20_000
TRENDING_DAYS, TRENDING_BASELINE_DAYS = 7, 56
# Chosen on a validation split of the Complete Journey inside its training weeks (docs/evaluation.md).
REPEAT_WEIGHT, BLEND_HALF_LIFE_DAYS = 16.0, 90.0
Estimator = itemsim.ItemSimilarity | factors.LatentFactors
Progress = Callable[[str, float], None]


class TrainParams(BaseModel):
    model_config = {"extra": "forbid"}

    algorithm: Literal["sar", "svd", "blend"] = Field(
        "blend",
        description="item-to-item (SAR), latent factors (SVD), or SAR plus the customer's own repeat purchases "
        "(blend; docs/evaluation.md)",
    )
    repeat_weight: float = Field(
        REPEAT_WEIGHT, ge=0, le=1000, description="blend: weight of the customer's own affinity next to SAR's"
    )
    n_components: int = Field(64, ge=2, le=512, description="latent factors of the svd algorithm")
    similarity: Literal["jaccard", "lift", "cosine"] = "jaccard"
    n_neighbors: int = Field(100, ge=5, le=1000)
    half_life_days: float | None = Field(
        30.0,
        gt=0,
        description="time decay of purchases; null for none. Default: 90 days for blend, 30 for sar and svd "
        "(the best of each on the Complete Journey's validation weeks, docs/evaluation.md)",
    )
    holdout_days: int = Field(56, ge=1, le=365, description="held-out window for the offline evaluation")
    k: int = Field(10, ge=1, le=100, description="cut-off of the offline metrics")
    min_support: float = Field(0.002, gt=0, le=1, description="product-level rules, share of baskets")
    category_min_support: float = Field(0.01, gt=0, le=1)
    min_confidence: float = Field(0.05, ge=0, le=1)
    min_lift: float = Field(1.0, ge=0)

    @model_validator(mode="after")
    def _decay_of_the_algorithm(self) -> TrainParams:
        # Repeat purchases stay predictive for months: the blend decays slower than SAR alone.
        if "half_life_days" not in self.model_fields_set and self.algorithm == "blend":
            self.half_life_days = BLEND_HALF_LIFE_DAYS
        return self


@dataclass
class ServingModel:
    """What a replica holds in memory to answer requests (pickled as the run's artifact)."""

    as_of: datetime
    items: np.ndarray  # sku per item index
    names: np.ndarray
    categories: np.ndarray
    customers: dict[str, int]  # customer id -> affinity row
    affinity: sp.csr_matrix  # customers x items, time-decayed
    purchased: sp.csr_matrix  # customers x items, binary: what each customer already bought
    estimator: Estimator
    popularity: np.ndarray  # buyers per item in the last 90 days, normalised
    segment_popularity: popularity_.Popularity | None  # buyers per item within each segment, when known
    product_rules: pd.DataFrame
    # Items selling faster in the `TRENDING_DAYS` before as_of than over the weeks before (popularity.trending):
    # item (index), recent, baseline, ratio; best first. Empty in artifacts stored before it existed.
    trending: pd.DataFrame = field(default_factory=lambda: _no_trending())
    item_index: dict[str, int] = field(default_factory=dict)
    # Derived for serving (rebuilt when an artifact is unpickled, so artifacts stored before they existed load):
    # a category filter compares small integers instead of 100k strings per request.
    category_codes: dict[str, int] = field(default_factory=dict, repr=False)
    item_category: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int32), repr=False)

    def __post_init__(self) -> None:
        self.item_index = {str(sku): position for position, sku in enumerate(self.items)}
        codes, uniques = pd.factorize(pd.Series(self.categories, dtype=object))
        self.item_category = codes.astype(np.int32)
        self.category_codes = {str(name): code for code, name in enumerate(uniques)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("trending", _no_trending())
        self.__post_init__()


def _no_trending() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item": pd.Series(dtype=np.int64),
            "recent": pd.Series(dtype=np.int64),
            "baseline": pd.Series(dtype=np.int64),
            "ratio": pd.Series(dtype=np.float64),
        }
    )


def trending_items(counted: pd.DataFrame, items: np.ndarray, *, as_of: datetime) -> pd.DataFrame:
    """`popularity.trending` over the counted lines with item indices instead of skus (items outside the
    model's index are left out)."""
    found = popularity_.trending(counted, as_of=as_of, recent_days=TRENDING_DAYS, baseline_days=TRENDING_BASELINE_DAYS)
    index = pd.Index(items).get_indexer(found["sku"])
    keep = index >= 0
    return pd.DataFrame(
        {
            "item": index[keep].astype(np.int64),
            "recent": found["recent"].to_numpy()[keep],
            "baseline": found["baseline"].to_numpy()[keep],
            "ratio": found["ratio"].to_numpy()[keep],
        }
    )


@dataclass
class Trained:
    model: ServingModel
    rules: pd.DataFrame  # level, antecedents, consequents, support, confidence, lift, leverage, conviction
    metrics: dict[str, Any]


def counted_lines(lines: pd.DataFrame, *, before: datetime) -> pd.DataFrame:
    """Lines of placed or paid orders before `before`, with the matrix's `at` column."""
    keep = lines["status"].isin(COUNTED_STATUSES) & (lines["placed_at"] < before)
    return lines.loc[keep].assign(at=lines.loc[keep, "placed_at"])


def estimator_for(params: TrainParams) -> Estimator:
    """An unfitted model of the run's algorithm."""
    if params.algorithm == "svd":
        return factors.LatentFactors(n_components=params.n_components)
    repeat_weight = params.repeat_weight if params.algorithm == "blend" else 0.0
    return itemsim.ItemSimilarity(
        similarity=params.similarity, n_neighbors=params.n_neighbors, repeat_weight=repeat_weight
    )


def _fit(
    lines: pd.DataFrame, params: TrainParams, as_of: datetime, items: np.ndarray | None = None
) -> tuple[matrix.Interactions, Estimator]:
    interactions = matrix.build_interactions(
        lines, weight="quantity", half_life_days=params.half_life_days, as_of=as_of, items=items
    )
    return interactions, estimator_for(params).fit(interactions.matrix)


def evaluate(lines: pd.DataFrame, *, as_of: datetime, params: TrainParams) -> dict[str, Any]:
    """Metrics at k (precision, recall, NDCG, MAP, hit rate, coverage) of the model and of popularity on the
    last `holdout_days`, for all items and for items new to the customer (evaluation.py)."""
    cutoff = as_of - timedelta(days=params.holdout_days)
    try:
        split = evaluation.time_split(lines, cutoff=cutoff, half_life_days=params.half_life_days, weight="quantity")
    except ValueError as error:
        raise ValueError(f"evaluation: {error} (cut-off {cutoff.date()}); try another holdout_days") from error
    if len(split.evaluated) == 0:
        raise ValueError("evaluation: no customer bought both before and during the hold-out window")
    if len(split.evaluated) > EVALUATED_CUSTOMERS:  # a fixed random sample keeps large bases affordable
        sample = np.random.default_rng(0).choice(split.evaluated, EVALUATED_CUSTOMERS, replace=False)
        split = dataclasses.replace(split, evaluated=np.sort(sample))
    table = evaluation.compare({"model": estimator_for(params).fit(split.train)}, split, k=params.k)
    results: dict[str, Any] = {"holdout_days": params.holdout_days, "customers_evaluated": len(split.evaluated)}
    for row in table.to_dict("records"):
        metrics = {
            f"{name}@{params.k}" if name in ("precision", "recall", "ndcg", "map") else name: value
            for name, value in row.items()
            if name not in ("model", "mode", "customers")
        }
        key = row["model"] if row["mode"] == "all" else f"{row['model']}_new_items"
        results[key] = {name: round(float(value), 4) for name, value in metrics.items()}
    return results


def train(
    lines: pd.DataFrame,
    products: pd.DataFrame,
    *,
    as_of: datetime,
    params: TrainParams,
    progress: Progress,
    segments: pd.Series | None = None,
) -> Trained:
    """Evaluate, fit the served model, mine rules. `lines`: order_id, customer_id, placed_at, status, sku,
    quantity; `products`: sku, name, category; `segments`: customer id -> segment key (from segmentation,
    for cold-start popularity per segment). Raises ValueError when the data cannot support a part."""
    counted = counted_lines(lines, before=as_of)
    if counted.empty:
        raise ValueError("no placed or paid orders before as_of")
    progress("evaluation", 0.35)
    metrics: dict[str, Any] = {"evaluation": evaluate(counted, as_of=as_of, params=params)}
    progress("model", 0.6)
    interactions, estimator = _fit(counted, params, as_of)
    catalogue = products.drop_duplicates("sku").set_index("sku").reindex(interactions.items)
    recent = counted[counted["at"] >= as_of - timedelta(days=90)]
    buyers = recent.groupby("sku")["customer_id"].nunique().reindex(interactions.items).fillna(0).to_numpy()
    progress("rules", 0.75)
    with_category = counted.assign(category=counted["sku"].map(products.set_index("sku")["category"]))
    product_rules = rules.mine_rules(
        counted,
        level="product",
        min_support=params.min_support,
        min_confidence=params.min_confidence,
        min_lift=params.min_lift,
    )
    category_rules = rules.mine_rules(
        with_category.dropna(subset=["category"]),
        level="category",
        min_support=params.category_min_support,
        min_confidence=params.min_confidence,
        min_lift=params.min_lift,
    )
    all_rules = pd.concat([product_rules.assign(level="product"), category_rules.assign(level="category")])
    metrics["rules"] = {"product": len(product_rules), "category": len(category_rules)}
    by_segment = None
    if segments is not None and not segments.empty:
        labels = segments.reindex(pd.Index(interactions.customers).astype(str)).fillna("unknown").to_numpy()
        by_segment = popularity_.Popularity().fit(interactions.matrix, segments=labels)
        metrics["segments_known"] = int((labels != "unknown").sum())
    model = ServingModel(
        as_of=as_of,
        items=np.asarray(interactions.items, dtype=object),
        names=catalogue["name"].fillna("").to_numpy(dtype=object)
        if "name" in catalogue
        else np.full(len(catalogue), ""),
        categories=catalogue["category"].fillna("").to_numpy(dtype=object)
        if "category" in catalogue
        else np.full(len(catalogue), ""),
        customers={str(c): row for row, c in enumerate(interactions.customers)},
        affinity=interactions.matrix,
        purchased=matrix.binarize(interactions.matrix),
        estimator=estimator,
        popularity=buyers / max(float(buyers.max()), 1.0),
        segment_popularity=by_segment,
        product_rules=product_rules,
        trending=trending_items(counted, interactions.items, as_of=as_of),
    )
    metrics["trending_items"] = len(model.trending)
    return Trained(model=model, rules=all_rules, metrics=metrics)
