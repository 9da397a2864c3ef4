"""RFM: recency, frequency and monetary value per customer, 1-5 scores, and named segments.

Recency is days from the last counted order to `as_of`; frequency the number of counted orders; monetary
the net spend. Counted orders are those placed or paid: a refunded or cancelled order gave its money back,
so it adds neither to frequency nor to spend.

Scores are quantile bins over customers with at least one counted order: score = 1 + floor(bins * p) where
p is the share of customers with a strictly worse value (a "min" rank), so equal values always share one
score, the worst value always scores 1, and heavy ties (most customers buy once) do not push the
one-time buyers up. Recency is scored reversed: fewer days is better.

Segments come from SEGMENTS, a rule table over R and FM = round((F + M) / 2), first match wins; the 25
cells of the R x FM grid are all covered (tests check it). Customers without a counted order are in
NO_PURCHASES rather than scored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

COUNTED_STATUSES = ("placed", "paid")
NO_PURCHASES = "no_purchases"


@dataclass(frozen=True)
class Segment:
    key: str
    name: str
    recency: tuple[int, int]  # inclusive R score range
    fm: tuple[int, int]  # inclusive FM score range
    action: str


SEGMENTS: tuple[Segment, ...] = (
    Segment("champions", "Champions", (5, 5), (4, 5), "Reward them; early access, referrals, reviews."),
    Segment("champions", "Champions", (4, 4), (5, 5), "Reward them; early access, referrals, reviews."),
    Segment("loyal", "Loyal", (3, 4), (4, 5), "Upsell higher-value products; ask for reviews; loyalty programme."),
    Segment("potential_loyalist", "Potential Loyalist", (4, 5), (2, 3), "Membership or loyalty offer; recommend."),
    Segment("new", "New", (5, 5), (1, 1), "Onboarding; build the relationship early; second-purchase offer."),
    Segment("promising", "Promising", (4, 4), (1, 1), "Create brand awareness; free trials."),
    Segment("need_attention", "Need Attention", (3, 3), (3, 3), "Limited-time offers based on past purchases."),
    Segment("about_to_sleep", "About to Sleep", (3, 3), (1, 2), "Share popular products; reconnect with discounts."),
    Segment("cant_lose_them", "Can't Lose Them", (1, 1), (5, 5), "Win them back with renewals; talk to them."),
    Segment("at_risk", "At Risk", (1, 2), (3, 5), "Personalised emails to reconnect; renewals; helpful resources."),
    Segment("hibernating", "Hibernating", (2, 2), (1, 2), "Offer relevant products and special discounts."),
    Segment("lost", "Lost", (1, 1), (1, 2), "Revive interest with a reach-out campaign; ignore otherwise."),
)
SEGMENT_NAMES: dict[str, str] = {s.key: s.name for s in SEGMENTS} | {NO_PURCHASES: "No purchases yet"}
SEGMENT_ACTIONS: dict[str, str] = {s.key: s.action for s in SEGMENTS} | {
    NO_PURCHASES: "Welcome series and a first-purchase incentive."
}


def rfm_values(orders: pd.DataFrame, *, as_of: pd.Timestamp) -> pd.DataFrame:
    """recency_days, frequency, monetary, first_order_at, last_order_at per customer_id with a counted order
    placed at or before `as_of`. `orders` has customer_id, placed_at (aware UTC), status, amount (base currency)."""
    counted = orders[(orders["placed_at"] <= as_of) & orders["status"].isin(COUNTED_STATUSES)]
    grouped = counted.groupby("customer_id", sort=False)
    values = grouped.agg(
        frequency=("placed_at", "size"),
        monetary=("amount", "sum"),
        first_order_at=("placed_at", "min"),
        last_order_at=("placed_at", "max"),
    )
    values["recency_days"] = (as_of - values["last_order_at"]).dt.total_seconds() / 86_400
    values["monetary"] = values["monetary"].astype(float)
    return values[["recency_days", "frequency", "monetary", "first_order_at", "last_order_at"]]


def quantile_scores(values: pd.Series, *, bins: int = 5, higher_is_better: bool = True) -> pd.Series:
    """1..bins per value by the share of values strictly worse (see the module docstring)."""
    if bins < 2:
        raise ValueError("bins must be at least 2")
    if values.empty:
        return values.astype("int64")
    ranked = (values if higher_is_better else -values).rank(method="min")
    share_worse = (ranked.to_numpy() - 1) / len(values)
    return pd.Series(np.minimum(1 + np.floor(bins * share_worse), bins).astype("int64"), index=values.index)


def segment_of(r: np.ndarray, fm: np.ndarray) -> np.ndarray:
    """The segment key of each (R, FM) score pair, by the first matching row of SEGMENTS."""
    keys = np.full(len(r), "", dtype=object)
    for segment in reversed(SEGMENTS):  # later rows first, so the first matching row writes last
        hit = (r >= segment.recency[0]) & (r <= segment.recency[1]) & (fm >= segment.fm[0]) & (fm <= segment.fm[1])
        keys[hit] = segment.key
    return keys


def rfm_scores(orders: pd.DataFrame, *, as_of: pd.Timestamp, bins: int = 5) -> pd.DataFrame:
    """`rfm_values` plus r, f, m, fm scores and the segment key of every customer with a counted order."""
    return score_values(rfm_values(orders, as_of=as_of), bins=bins)


def score_values(values: pd.DataFrame, *, bins: int = 5) -> pd.DataFrame:
    """A copy of `rfm_values`' table with the r, f, m, fm scores and the segment key added."""
    table = values.copy()
    table["r"] = quantile_scores(table["recency_days"], bins=bins, higher_is_better=False)
    table["f"] = quantile_scores(table["frequency"], bins=bins)
    table["m"] = quantile_scores(table["monetary"], bins=bins)
    # FM on the 1-5 scale whatever `bins` is, so the segment table keeps its meaning.
    fm_raw = (table["f"] + table["m"]) / 2
    table["fm"] = np.clip(np.round(1 + (fm_raw - 1) * 4 / (bins - 1)), 1, 5).astype("int64")
    r5 = np.clip(np.round(1 + (table["r"].to_numpy() - 1) * 4 / (bins - 1)), 1, 5).astype("int64")
    table["segment"] = segment_of(r5, table["fm"].to_numpy())
    return table


def segment_stats(scores: pd.DataFrame, *, customers_without_orders: int = 0) -> pd.DataFrame:
    """Per segment: count, share of customers, share of revenue, mean R/F/M scores, name and action."""
    total_customers = len(scores) + customers_without_orders
    revenue = float(scores["monetary"].sum())
    grouped = scores.groupby("segment")
    stats = grouped.agg(
        count=("r", "size"),
        revenue=("monetary", "sum"),
        mean_r=("r", "mean"),
        mean_f=("f", "mean"),
        mean_m=("m", "mean"),
        mean_recency_days=("recency_days", "mean"),
        mean_frequency=("frequency", "mean"),
        mean_monetary=("monetary", "mean"),
    )
    if customers_without_orders:
        stats.loc[NO_PURCHASES, ["count", "revenue"]] = [customers_without_orders, 0.0]
    stats["share_customers"] = stats["count"] / total_customers if total_customers else 0.0
    stats["share_revenue"] = stats["revenue"] / revenue if revenue else 0.0
    stats["name"] = [SEGMENT_NAMES[key] for key in stats.index]
    stats["action"] = [SEGMENT_ACTIONS[key] for key in stats.index]
    return stats.sort_values("revenue", ascending=False)
