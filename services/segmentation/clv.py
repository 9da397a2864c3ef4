"""Customer lifetime value: the BG/NBD purchase model and the Gamma-Gamma spend model, fitted with scipy.

BG/NBD (Fader, Hardie and Lee 2005, "Counting your customers the easy way"): while alive, a customer buys
at a Poisson rate drawn from Gamma(r, alpha); after each purchase they drop out with a probability drawn
from Beta(a, b). Per customer it needs x (repeat purchases: purchase days after the first), t_x (time of
the last purchase, from the first) and T (time from the first purchase to the end of the calibration
period). Gamma-Gamma (Fader and Hardie 2013): the mean spend of a customer's repeat purchases, from
Gamma(p, nu) transactions with nu ~ Gamma(q, v); spend independent of frequency.

Both are maximum-likelihood fits over log-parameters (so they stay positive) with L-BFGS-B from a few
starting points, keeping the best. The published CDNOW_sample parameters are reproduced to 2 decimals
(tests/segmentation/test_clv.py). The maintained alternative, `lifetimes`, is archived and pins old scipy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

Floats = NDArray[np.float64]
_STARTS = (np.zeros(4), np.array([-1.0, 1.0, 0.0, 1.0]), np.array([0.0, 2.0, -1.0, 0.5]))


def summarise(
    orders: pd.DataFrame,
    *,
    as_of: pd.Timestamp,
    unit_days: float = 7.0,
    customer: str = "customer_id",
    at: str = "placed_at",
    amount: str = "amount",
) -> pd.DataFrame:
    """Columns frequency (x), recency (t_x), age (T) and monetary (mean repeat spend, 0 without repeats), one
    row per customer with an order placed up to `as_of`; later orders are ignored.

    Purchases on one day count as one transaction (the models' unit), with their amounts summed; the first
    day's spend is left out of the mean, as the Gamma-Gamma model prescribes. Times are in days / `unit_days`
    (weeks by default), T measured to `as_of`'s day.
    """
    placed = orders.loc[orders[at] <= as_of, [customer, at, amount]]
    days = placed.assign(day=placed[at].dt.floor("D")).groupby([customer, "day"], sort=True)[amount].sum()
    daily = days.reset_index()
    first = daily.groupby(customer)["day"].transform("min")
    daily["repeat"] = daily["day"] > first
    grouped = daily.groupby(customer)
    summary = pd.DataFrame(
        {
            "frequency": grouped["repeat"].sum().astype(float),
            "recency": (grouped["day"].max() - grouped["day"].min()).dt.days / unit_days,
            "age": (as_of.floor("D") - grouped["day"].min()).dt.days / unit_days,
        }
    )
    repeat_spend = daily[daily["repeat"]].groupby(customer)[amount].mean()
    summary["monetary"] = repeat_spend.reindex(summary.index).fillna(0.0).astype(float)
    return summary


def _fit(negative_ll: object, starts: tuple[Floats, ...]) -> Floats:
    best: optimize.OptimizeResult | None = None
    for start in starts:
        result = optimize.minimize(negative_ll, start, method="L-BFGS-B", options={"maxiter": 2000, "ftol": 1e-13})
        if best is None or result.fun < best.fun:
            best = result
    assert best is not None
    return np.exp(best.x)


class BetaGeo:
    """BG/NBD estimator: `fit(frequency, recency, T)`; learned `r_`, `alpha_`, `a_`, `b_`."""

    def __init__(self, *, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    def fit(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> BetaGeo:  # noqa: N803 (the paper's T)
        x, t_x, big_t = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
        if len(x) == 0:
            raise ValueError("BG/NBD needs at least one customer")
        if np.any(x < 0) or np.any(t_x < 0) or np.any(big_t < t_x):
            raise ValueError("need frequency >= 0 and 0 <= recency <= T")
        scale = float(np.mean(big_t)) or 1.0  # fit in scaled time for conditioning; alpha scales back

        def negative_ll(log_params: Floats) -> float:
            r, alpha, a, b = np.exp(log_params)
            ll = _bgnbd_log_likelihood(r, alpha, a, b, x, t_x / scale, big_t / scale)
            return -float(ll.mean()) + self.penalizer * float(np.sum(np.exp(log_params) ** 2))

        r, alpha, a, b = _fit(negative_ll, _STARTS)
        self.r_, self.alpha_, self.a_, self.b_ = float(r), float(alpha * scale), float(a), float(b)
        return self

    @property
    def params_(self) -> dict[str, float]:
        return {"r": self.r_, "alpha": self.alpha_, "a": self.a_, "b": self.b_}

    def expected_purchases(self, t: float, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> Floats:  # noqa: N803
        """Expected purchases in the next `t` time units of each customer (FHL 2005, eq. 10)."""
        x, t_x, big_t = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + big_t + t))
        head = (a + b + x - 1) / (a - 1) * (1 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x) * hyp)
        return np.asarray(head / (1 + (x > 0) * a / (b + x - 1) * ((alpha + big_t) / (alpha + t_x)) ** (r + x)))

    def probability_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> Floats:  # noqa: N803
        x, t_x, big_t = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
        odds = (x > 0) * self.a_ / (self.b_ + x - 1) * ((self.alpha_ + big_t) / (self.alpha_ + t_x)) ** (self.r_ + x)
        return np.asarray(1.0 / (1.0 + odds))


def _bgnbd_log_likelihood(r: float, alpha: float, a: float, b: float, x: Floats, t_x: Floats, big_t: Floats) -> Floats:
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b) - special.gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + big_t)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(x > 0, np.log(a) - np.log(b + x - 1) - (r + x) * np.log(alpha + t_x), -np.inf)
    return np.asarray(a1 + a2 + np.logaddexp(a3, a4))


class GammaGamma:
    """Gamma-Gamma spend estimator over customers with repeat purchases: `fit(frequency, monetary)`;
    learned `p_`, `q_`, `v_`."""

    def __init__(self, *, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    def fit(self, frequency: ArrayLike, monetary: ArrayLike) -> GammaGamma:
        x, m = np.asarray(frequency, dtype=float), np.asarray(monetary, dtype=float)
        keep = (x > 0) & (m > 0)
        x, m = x[keep], m[keep]
        if len(x) < 2:
            raise ValueError("Gamma-Gamma needs at least two customers with repeat purchases")
        scale = float(np.mean(m))  # fit in scaled money for conditioning; v scales back

        def negative_ll(log_params: Floats) -> float:
            p, q, v = np.exp(log_params)
            ms = m / scale
            ll = (
                special.gammaln(p * x + q)
                - special.gammaln(p * x)
                - special.gammaln(q)
                + q * np.log(v)
                + (p * x - 1) * np.log(ms)
                + (p * x) * np.log(x)
                - (p * x + q) * np.log(x * ms + v)
            )
            return -float(ll.mean()) + self.penalizer * float(np.sum(np.exp(log_params) ** 2))

        p, q, v = _fit(negative_ll, tuple(start[:3] for start in _STARTS))
        self.p_, self.q_, self.v_ = float(p), float(q), float(v * scale)
        return self

    @property
    def params_(self) -> dict[str, float]:
        return {"p": self.p_, "q": self.q_, "v": self.v_}

    def expected_spend(self, frequency: ArrayLike, monetary: ArrayLike) -> Floats:
        """Expected mean transaction value per customer; the population mean for customers with no repeats."""
        x, m = np.asarray(frequency, dtype=float), np.asarray(monetary, dtype=float)
        population = self.p_ * self.v_ / (self.q_ - 1) if self.q_ > 1 else np.nan
        individual = self.p_ * (self.v_ + x * m) / (self.p_ * x + self.q_ - 1)
        return np.asarray(np.where(x > 0, individual, population))
