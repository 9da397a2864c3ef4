"""Value tiers (80/20): customers ranked by spend; tier A is the smallest set producing `a_share` of revenue.

Tier A ("golden customers") are the top spenders up to and including the one whose spend takes the
cumulative share to `a_share` (80% by default), B the next ones up to `b_share` (95%), C everyone else,
customers with no spend included. Ties at a boundary are broken by customer id so a run is reproducible.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TIERS = ("A", "B", "C")


def value_tiers(monetary: pd.Series, *, a_share: float = 0.8, b_share: float = 0.95) -> pd.Series:
    """Tier "A", "B" or "C" per customer (the index of `monetary`, net spend). Raises ValueError for shares
    outside 0 < a_share < b_share <= 1."""
    if not 0 < a_share < b_share <= 1:
        raise ValueError("need 0 < a_share < b_share <= 1")
    spend = monetary.clip(lower=0).astype(float)
    order = np.lexsort((spend.index.to_numpy().astype(str), -spend.to_numpy()))
    ranked = spend.to_numpy()[order]
    total = ranked.sum()
    tiers = np.full(len(ranked), "C", dtype=object)
    if total > 0:
        # Share of revenue reached *before* each customer: a customer belongs to A while it is below a_share.
        before = (np.cumsum(ranked) - ranked) / total
        tiers[(before < b_share) & (ranked > 0)] = "B"
        tiers[(before < a_share) & (ranked > 0)] = "A"
    result = np.empty(len(ranked), dtype=object)
    result[order] = tiers
    return pd.Series(result, index=spend.index, name="tier")


def pareto_curve(monetary: pd.Series, *, points: int = 101) -> list[tuple[float, float]]:
    """(share of customers, share of revenue) at `points` evenly spaced customer shares, top spenders first."""
    spend = np.sort(monetary.clip(lower=0).to_numpy(dtype=float))[::-1]
    if len(spend) == 0 or spend.sum() == 0:
        return [(x, 0.0) for x in np.linspace(0, 1, points).tolist()]
    cumulative = np.concatenate([[0.0], np.cumsum(spend) / spend.sum()])
    shares = np.linspace(0, 1, points)
    revenue = np.interp(shares * len(spend), np.arange(len(spend) + 1), cumulative)
    return [(round(float(x), 4), round(float(y), 4)) for x, y in zip(shares, revenue, strict=True)]


def tier_stats(monetary: pd.Series, tiers: pd.Series) -> pd.DataFrame:
    """Per tier: count, share of customers, revenue, share of revenue, mean spend."""
    frame = pd.DataFrame({"monetary": monetary.clip(lower=0).astype(float), "tier": tiers})
    stats = pd.DataFrame(
        frame.groupby("tier")["monetary"].agg(count="size", revenue="sum", mean_spend="mean").reindex(list(TIERS))
    )
    stats = stats.fillna({"count": 0, "revenue": 0.0})
    stats["share_customers"] = stats["count"] / max(len(frame), 1)
    total = float(frame["monetary"].sum())
    stats["share_revenue"] = stats["revenue"] / total if total else 0.0
    return stats
