"""One segmentation run over loaded inputs: the requested parts, per-customer scores, summaries and metrics.

Pure computation: no database, no HTTP. `progress(phase, fraction)` is called between steps, and may
raise to cancel the run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field, model_validator

from . import churn, clustering, clv, rfm, tiers
from .sources import Inputs

PARTS = ("rfm", "tiers", "clusters", "churn", "clv")
CLUSTER_FEATURES = ("recency_days", "frequency", "monetary", "tenure_days", "age")
Progress = Callable[[str, float], None]


class RunParams(BaseModel):
    """Parameters of a run; every one has a default."""

    model_config = {"extra": "forbid"}

    bins: int = Field(5, ge=2, le=10, description="RFM score bins")
    tier_a_share: float = Field(0.8, gt=0, lt=1, description="revenue share of tier A")
    tier_b_share: float = Field(0.95, gt=0, le=1, description="cumulative revenue share of tiers A and B")
    k: int | None = Field(None, ge=2, le=20, description="clusters; chosen by silhouette when absent")
    k_min: int = Field(3, ge=2, le=20)
    k_max: int = Field(8, ge=2, le=20)
    cluster_features: list[str] = Field(default_factory=lambda: ["recency_days", "frequency", "monetary"])
    tree_depth: int = Field(3, ge=1, le=6, description="depth of the tree that explains the clusters")
    churn_horizon_days: int = Field(90, gt=0, le=730)
    clv_horizon_days: int = Field(365, gt=0, le=1825)
    random_state: int = 0

    @model_validator(mode="after")
    def _consistent(self) -> RunParams:
        if self.k_min > self.k_max:
            raise ValueError("k_min must not exceed k_max")
        if self.tier_a_share >= self.tier_b_share:
            raise ValueError("tier_a_share must be below tier_b_share")
        unknown = sorted(set(self.cluster_features) - set(CLUSTER_FEATURES))
        if unknown or not self.cluster_features:
            raise ValueError(
                f"cluster_features must be a non-empty subset of {list(CLUSTER_FEATURES)}; unknown {unknown}"
            )
        return self


@dataclass
class Results:
    scores: pd.DataFrame  # one row per customer, columns as models.CustomerScore
    summary: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)


def run(
    inputs: Inputs,
    *,
    as_of: pd.Timestamp,
    parts: list[str],
    params: RunParams,
    progress: Progress,
    previous_clusters: list[dict[str, Any]] | None = None,
) -> Results:
    """Compute `parts` as of `as_of`; `previous_clusters` (the last run's summary) keeps cluster labels
    stable. Raises ValueError when a part cannot be computed on this data."""
    customers = inputs.customers.index.union(pd.Index(inputs.orders["customer_id"].unique()))
    scores = pd.DataFrame(index=customers)
    scores.index.name = "customer_id"
    profile = inputs.customers.reindex(customers)
    for column in ("city", "country", "gender", "birth_date", "income_band", "education"):
        scores[column] = profile.get(column, None)
    values = rfm.rfm_values(inputs.orders, as_of=as_of)
    scores["recency_days"] = values["recency_days"]
    scores["frequency"] = values["frequency"].reindex(customers).fillna(0).astype(int)
    scores["monetary"] = values["monetary"].reindex(customers).fillna(0.0)
    results = Results(scores, metrics={"customers": len(customers), "buyers": len(values)})
    results.metrics["order_lines"] = inputs.order_lines
    results.metrics["lines_without_exchange_rate"] = inputs.lines_without_rate
    steps: list[tuple[str, Callable[[], None]]] = [
        ("rfm", lambda: _rfm(results, values, params)),
        ("tiers", lambda: _tiers(results, params)),
        ("clusters", lambda: _clusters(results, values, profile, as_of, params, previous_clusters)),
        ("churn", lambda: _churn(results, inputs, as_of, params)),
        ("clv", lambda: _clv(results, inputs, as_of, params)),
    ]
    wanted = [(name, step) for name, step in steps if name in parts]
    for position, (name, step) in enumerate(wanted):
        progress(name, 0.3 + 0.6 * position / len(wanted))
        try:
            step()
        except ValueError as error:
            raise ValueError(f"{name}: {error}") from error
    return results


def _rfm(results: Results, values: pd.DataFrame, params: RunParams) -> None:
    scored = rfm.score_values(values, bins=params.bins)
    for column in ("r", "f", "m"):
        results.scores[column] = scored[column].astype("Int64")
    results.scores["segment"] = scored["segment"].reindex(results.scores.index).fillna(rfm.NO_PURCHASES)
    without = int((results.scores["frequency"] == 0).sum())
    stats = rfm.segment_stats(scored, customers_without_orders=without)
    results.summary["segments"] = [
        {"key": key, **{k: _plain(v) for k, v in row.items()}} for key, row in stats.to_dict("index").items()
    ]
    grid = scored.groupby(["r", "f"]).agg(count=("m", "size"), revenue=("monetary", "sum")).reset_index()
    results.summary["rf_grid"] = [{k: _plain(v) for k, v in row.items()} for row in grid.to_dict("records")]


def _tiers(results: Results, params: RunParams) -> None:
    monetary = results.scores["monetary"]
    assigned = tiers.value_tiers(monetary, a_share=params.tier_a_share, b_share=params.tier_b_share)
    results.scores["tier"] = assigned
    stats = tiers.tier_stats(monetary, assigned)
    results.summary["tiers"] = [
        {"tier": tier, **{k: _plain(v) for k, v in row.items()}} for tier, row in stats.to_dict("index").items()
    ]
    results.summary["pareto"] = tiers.pareto_curve(monetary)


def _clusters(
    results: Results,
    values: pd.DataFrame,
    profile: pd.DataFrame,
    as_of: pd.Timestamp,
    params: RunParams,
    previous_clusters: list[dict[str, Any]] | None,
) -> None:
    frame = values[["recency_days", "frequency", "monetary"]].astype(float).copy()
    if "tenure_days" in params.cluster_features:
        frame["tenure_days"] = (as_of - values["first_order_at"]).dt.total_seconds() / 86_400
    if "age" in params.cluster_features:
        born = pd.to_datetime(profile["birth_date"].reindex(frame.index), errors="coerce")
        frame["age"] = ((as_of.tz_localize(None) - born).dt.days / 365.25).fillna(
            float(((as_of.tz_localize(None) - born).dt.days / 365.25).median() or 0)
        )
    frame = frame[params.cluster_features]
    previous = pd.DataFrame({c["label"]: c["centroid"] for c in previous_clusters}).T if previous_clusters else None
    model = clustering.ExplainedKMeans(
        k=params.k,
        k_range=(params.k_min, params.k_max),
        tree_depth=params.tree_depth,
        previous_centers=previous,
        random_state=params.random_state,
    ).fit(frame)
    results.scores["cluster"] = (
        pd.Series(model.labels_, index=frame.index).reindex(results.scores.index).astype("Int64")
    )
    results.summary["clusters"] = [
        {
            "label": d.label,
            "size": d.size,
            "share": round(d.share, 4),
            "centroid": d.centroid,
            "rules": d.rules,
            "rule_precision": d.rule_precision,
        }
        for d in model.descriptions_
    ]
    results.metrics["clusters"] = {
        "k": model.k_,
        "silhouette": round(model.silhouette_, 4),
        "tree_fidelity": round(model.fidelity_, 4),
        "features": params.cluster_features,
    }


def _churn(results: Results, inputs: Inputs, as_of: pd.Timestamp, params: RunParams) -> None:
    outcome = churn.predict_churn(
        inputs.orders,
        as_of=as_of,
        horizon_days=params.churn_horizon_days,
        interactions=inputs.interactions,
        random_state=params.random_state,
    )
    results.scores["churn_risk"] = outcome.probability.round(4)
    results.scores["churn_reasons"] = outcome.reasons
    results.metrics["churn"] = outcome.metrics | {"horizon_days": params.churn_horizon_days}


def _clv(results: Results, inputs: Inputs, as_of: pd.Timestamp, params: RunParams) -> None:
    counted = inputs.orders[inputs.orders["status"].isin(rfm.COUNTED_STATUSES)]
    weeks = params.clv_horizon_days / 7
    metrics: dict[str, Any] = {"horizon_days": params.clv_horizon_days}
    calibration_end = as_of - pd.Timedelta(days=params.clv_horizon_days)
    if counted["placed_at"].min() < calibration_end:
        # Hold-out check: fit on history before the last horizon, predict it, compare with what happened.
        past = clv.summarise(counted, as_of=calibration_end, at="placed_at", amount="amount")
        fitted = clv.BetaGeo().fit(past["frequency"], past["recency"], past["age"])
        actual = _purchase_days(counted, calibration_end, as_of).reindex(past.index, fill_value=0)
        predicted = fitted.expected_purchases(weeks, past["frequency"], past["recency"], past["age"])
        naive = (past["frequency"] / past["age"].where(past["age"] > 0)).fillna(0) * weeks
        metrics |= {
            "holdout_mae": round(float(np.abs(predicted - actual).mean()), 4),
            "naive_mae": round(float(np.abs(naive - actual).mean()), 4),
            "holdout_predicted_purchases": round(float(predicted.sum()), 1),
            "holdout_actual_purchases": int(actual.sum()),
        }
    summary = clv.summarise(counted, as_of=as_of, at="placed_at", amount="amount")
    purchases_model = clv.BetaGeo().fit(summary["frequency"], summary["recency"], summary["age"])
    purchases = purchases_model.expected_purchases(weeks, summary["frequency"], summary["recency"], summary["age"])
    try:
        spend_model = clv.GammaGamma().fit(summary["frequency"], summary["monetary"])
        spend = spend_model.expected_spend(summary["frequency"], summary["monetary"])
        metrics["gamma_gamma"] = {k: round(v, 4) for k, v in spend_model.params_.items()}
    except ValueError:  # too few repeat buyers: value each purchase at the mean order value
        spend = np.full(len(summary), float(counted["amount"].mean()))
    metrics["bg_nbd"] = {k: round(v, 4) for k, v in purchases_model.params_.items()}
    index = summary.index
    results.scores["clv_purchases"] = pd.Series(np.round(purchases, 4), index=index)
    results.scores["clv_value"] = pd.Series(np.round(purchases * spend, 2), index=index)
    alive = purchases_model.probability_alive(summary["frequency"], summary["recency"], summary["age"])
    results.scores["p_alive"] = pd.Series(np.round(alive, 4), index=index)
    results.metrics["clv"] = metrics


def _purchase_days(orders: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    window = orders[(orders["placed_at"] > start) & (orders["placed_at"] <= end)]
    return window.assign(day=window["placed_at"].dt.floor("D")).groupby("customer_id")["day"].nunique()


def _plain(value: Any) -> Any:
    """A JSON-ready scalar (numpy numbers and NaN become Python numbers and None)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if np.isnan(value) else round(value, 4)
    return value
