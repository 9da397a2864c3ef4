"""Churn risk: the probability that a customer makes no purchase in the next `horizon` days.

Training needs labels from the past, so the model learns at a cut-off one horizon (or less, see
`windows`) before the validation cut-off: features from history up to the cut-off, label = no purchase
in the horizon after it. It is validated on the later window (features up to `as_of - horizon`, labels
from the last horizon), which is the honest test of how it will do on today's customers, then refitted
on that later window and applied to features at `as_of`. Reasons per customer: the features whose
replacement by the typical value of retained customers lowers that customer's predicted risk the most.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from .rfm import COUNTED_STATUSES

DAY = pd.Timedelta(days=1)
FEATURES = (
    "recency_days",
    "frequency",
    "monetary",
    "tenure_days",
    "mean_gap_days",
    "last_gap_days",
    "gap_trend",
    "orders_last_horizon",
    "spend_last_horizon",
    "mean_order_value",
    "interactions_last_horizon",
)
REASONS = {
    "recency_days": "long time since the last purchase",
    "frequency": "few purchases",
    "monetary": "low total spend",
    "tenure_days": "short relationship",
    "mean_gap_days": "long gaps between purchases",
    "last_gap_days": "last gap longer than usual",
    "gap_trend": "purchases slowing down",
    "orders_last_horizon": "few recent purchases",
    "spend_last_horizon": "low recent spend",
    "mean_order_value": "small orders",
    "interactions_last_horizon": "little recent engagement",
}


def features(
    orders: pd.DataFrame, *, cutoff: pd.Timestamp, horizon_days: int, interactions: pd.DataFrame | None = None
) -> pd.DataFrame:
    """FEATURES per customer with a counted order at or before `cutoff` (orders: customer_id, placed_at,
    status, amount; interactions: customer_id, occurred_at)."""
    counted = orders[(orders["placed_at"] <= cutoff) & orders["status"].isin(COUNTED_STATUSES)]
    counted = counted.sort_values(["customer_id", "placed_at"])
    gaps = counted.groupby("customer_id")["placed_at"].diff().dt.total_seconds() / 86_400
    recent = counted["placed_at"] > cutoff - horizon_days * DAY
    frame = counted.assign(gap=gaps, recent_order=recent, recent_spend=counted["amount"].where(recent, 0.0))
    grouped = frame.groupby("customer_id", sort=False)
    table = grouped.agg(
        first=("placed_at", "min"),
        last=("placed_at", "max"),
        frequency=("placed_at", "size"),
        monetary=("amount", "sum"),
        mean_gap_days=("gap", "mean"),
        last_gap_days=("gap", "last"),
        orders_last_horizon=("recent_order", "sum"),
        spend_last_horizon=("recent_spend", "sum"),
    )
    table["recency_days"] = (cutoff - table["last"]).dt.total_seconds() / 86_400
    table["tenure_days"] = (cutoff - table["first"]).dt.total_seconds() / 86_400
    table["mean_order_value"] = table["monetary"] / table["frequency"]
    # One-order customers have no gaps: their gap is their tenure so far (the wait is still running).
    table["mean_gap_days"] = table["mean_gap_days"].fillna(table["tenure_days"])
    table["last_gap_days"] = table["last_gap_days"].fillna(table["tenure_days"])
    table["gap_trend"] = np.maximum(table["recency_days"], table["last_gap_days"]) / table["mean_gap_days"].clip(
        lower=1.0
    )
    table["interactions_last_horizon"] = 0.0
    if interactions is not None and not interactions.empty:
        window = interactions[
            (interactions["occurred_at"] <= cutoff) & (interactions["occurred_at"] > cutoff - horizon_days * DAY)
        ]
        counts = window.groupby("customer_id").size()
        table["interactions_last_horizon"] = counts.reindex(table.index).fillna(0.0).astype(float)
    return table[list(FEATURES)].astype(float)


def labels(orders: pd.DataFrame, customers: pd.Index, *, cutoff: pd.Timestamp, horizon_days: int) -> pd.Series:
    """1 for customers with no counted order in (cutoff, cutoff + horizon], else 0."""
    after = orders[
        (orders["placed_at"] > cutoff)
        & (orders["placed_at"] <= cutoff + horizon_days * DAY)
        & orders["status"].isin(COUNTED_STATUSES)
    ]
    bought = customers.isin(after["customer_id"].unique())
    return pd.Series((~bought).astype(int), index=customers)


@dataclass(frozen=True)
class Windows:
    train_cutoff: pd.Timestamp
    validation_cutoff: pd.Timestamp


def windows(orders: pd.DataFrame, *, as_of: pd.Timestamp, horizon_days: int) -> Windows:
    """The validation cut-off is one horizon before `as_of`; the training cut-off one horizon before that, or
    halfway back to the first order when history is shorter. Raises ValueError without enough history."""
    validation = as_of - horizon_days * DAY
    first = orders["placed_at"].min()
    if pd.isna(first) or first >= validation:
        raise ValueError(f"churn needs order history older than as_of - horizon ({validation.date()})")
    shift = min(horizon_days * DAY, (validation - first) / 2)
    return Windows(train_cutoff=validation - shift, validation_cutoff=validation)


@dataclass
class ChurnResult:
    probability: pd.Series  # per customer at as_of
    reasons: pd.Series  # per customer: up to 3 FEATURES keys, most important first, joined by ","
    metrics: dict[str, float | list[list[float]]]


def _model(random_state: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        max_iter=200, learning_rate=0.05, max_leaf_nodes=31, random_state=random_state
    )


def predict_churn(
    orders: pd.DataFrame,
    *,
    as_of: pd.Timestamp,
    horizon_days: int = 90,
    interactions: pd.DataFrame | None = None,
    random_state: int = 0,
) -> ChurnResult:
    """Train, validate on the later window, refit, and score every customer with a counted order at `as_of`.

    Raises ValueError without enough history or when a window has only one class (no churner or no
    buyer), because then there is nothing to learn or to measure."""
    if horizon_days <= 0:
        raise ValueError("horizon_days must be positive")
    cut = windows(orders, as_of=as_of, horizon_days=horizon_days)
    x_train = features(orders, cutoff=cut.train_cutoff, horizon_days=horizon_days, interactions=interactions)
    y_train = labels(orders, x_train.index, cutoff=cut.train_cutoff, horizon_days=horizon_days)
    x_valid = features(orders, cutoff=cut.validation_cutoff, horizon_days=horizon_days, interactions=interactions)
    y_valid = labels(orders, x_valid.index, cutoff=cut.validation_cutoff, horizon_days=horizon_days)
    for name, y in (("training", y_train), ("validation", y_valid)):
        if y.nunique() < 2:
            raise ValueError(f"the {name} window has only one class; try another horizon")
    model = _model(random_state).fit(x_train, y_train)
    p_valid = model.predict_proba(x_valid)[:, 1]
    true_share, predicted_share = calibration_curve(y_valid, p_valid, n_bins=10, strategy="quantile")
    metrics: dict[str, float | list[list[float]]] = {
        "roc_auc": round(float(roc_auc_score(y_valid, p_valid)), 4),
        "pr_auc": round(float(average_precision_score(y_valid, p_valid)), 4),
        "brier": round(float(brier_score_loss(y_valid, p_valid)), 4),
        "base_rate": round(float(y_valid.mean()), 4),
        "calibration": [
            [round(float(p), 4), round(float(t), 4)] for p, t in zip(predicted_share, true_share, strict=True)
        ],
        "train_customers": float(len(y_train)),
        "validation_customers": float(len(y_valid)),
        "train_cutoff_days_before_as_of": float((as_of - cut.train_cutoff) / DAY),
    }
    final = _model(random_state).fit(x_valid, y_valid)
    x_now = features(orders, cutoff=as_of, horizon_days=horizon_days, interactions=interactions)
    probability = pd.Series(final.predict_proba(x_now)[:, 1], index=x_now.index)
    typical = x_valid[y_valid == 0].median()
    return ChurnResult(probability, _reasons(final, x_now, probability.to_numpy(), typical), metrics)


def _reasons(model: HistGradientBoostingClassifier, x: pd.DataFrame, risk: np.ndarray, typical: pd.Series) -> pd.Series:
    """Up to three reasons per customer: features whose typical value would lower the risk by at least 0.02."""
    drops = np.zeros((len(x), len(FEATURES)))
    for column, name in enumerate(FEATURES):
        counterfactual = x.copy()
        counterfactual[name] = typical[name]
        drops[:, column] = risk - model.predict_proba(counterfactual)[:, 1]
    top = np.argsort(-drops, axis=1)[:, :3]
    names = np.array(FEATURES, dtype=object)[top]
    names[np.take_along_axis(drops, top, axis=1) < 0.02] = ""
    # Feature keys joined by ",", most important first; REASONS turns a key into text when it is served.
    others = pd.DataFrame({"second": names[:, 1], "third": names[:, 2]}, index=x.index)
    joined = pd.Series(names[:, 0], index=x.index).str.cat(others, sep=",")
    return joined.str.strip(",").str.replace(",,", ",", regex=False)
