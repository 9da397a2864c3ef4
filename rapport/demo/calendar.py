"""Shopping seasonality: a daily intensity per market over the date range, and samplers drawing
days and times of day from it.

The intensity multiplies a yearly wave (peak late November to December), a weekly pattern and
shopping events: Singles' Day (11-11), 618 and Double 12 in China, Black Friday, Cyber Monday,
Christmas and Boxing Day in the US and UK, and the Chinese New Year lull. Each market's curve has
mean 1, so the mass of a window is "days, seasonally weighted".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from . import markets

SECONDS_PER_DAY = 86_400

# Chinese New Year (first day); the lunar calendar has no closed form, so a table it is.
_CNY = {
    2015: date(2015, 2, 19), 2016: date(2016, 2, 8), 2017: date(2017, 1, 28), 2018: date(2018, 2, 16),
    2019: date(2019, 2, 5), 2020: date(2020, 1, 25), 2021: date(2021, 2, 12), 2022: date(2022, 2, 1),
    2023: date(2023, 1, 22), 2024: date(2024, 2, 10), 2025: date(2025, 1, 29), 2026: date(2026, 2, 17),
    2027: date(2027, 2, 6), 2028: date(2028, 1, 26), 2029: date(2029, 2, 13), 2030: date(2030, 2, 3),
}  # fmt: skip

# Monday..Sunday order intensity: online shopping peaks on Sunday and Monday evenings.
_WEEKLY = np.array(
    [
        [1.06, 1.00, 0.98, 0.97, 0.95, 1.00, 1.04],  # CN
        [1.04, 1.00, 0.98, 0.97, 0.96, 1.01, 1.04],  # US
        [1.05, 1.00, 0.98, 0.97, 0.95, 1.00, 1.05],  # GB
    ]
)
# Local hour-of-day intensity (lunch and evening peaks).
_HOURS = np.array(
    [1.0, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2.2, 2.8, 3.0, 3.0, 3.2, 3.0, 2.9, 2.9, 3.0, 3.2, 3.5, 4.2,
     4.8, 5.0, 4.2, 2.5]
)  # fmt: skip
HOUR_WEIGHTS = _HOURS / _HOURS.sum()

# Campaign running in each month, per market (used by e-mails and campaign responses).
CAMPAIGNS: tuple[tuple[str, ...], ...] = (
    ("new_year", "spring_festival", "spring_sale", "spring_sale", "labour_day", "mid_year_618",
     "summer_sale", "summer_sale", "back_to_school", "golden_week", "singles_day", "double_12"),
    ("new_year", "valentines", "spring_sale", "easter", "mothers_day", "summer_sale", "july_4th",
     "back_to_school", "back_to_school", "halloween", "black_friday", "christmas"),
    ("new_year", "valentines", "spring_sale", "easter", "bank_holiday", "summer_sale", "summer_sale",
     "back_to_school", "back_to_school", "halloween", "black_friday", "christmas"),
)  # fmt: skip


@dataclass(frozen=True)
class Calendar:
    """Daily order intensity per market over [start, end] (both inclusive).

    `weights[m, d]` is the intensity of day d (0 = start) in market m, mean 1 per market;
    `cumulative[m]` its running sum with a leading 0 (length n_days + 1); `promo[m, d]` marks sale
    days, when discounts are common; `month[d]` is 1..12.
    """

    start: date
    n_days: int
    weights: np.ndarray
    cumulative: np.ndarray
    promo: np.ndarray
    month: np.ndarray

    @property
    def start_epoch_day(self) -> int:
        """Days from 1970-01-01 to `start`."""
        return (self.start - date(1970, 1, 1)).days

    @property
    def start_epoch_second(self) -> int:
        """Seconds from 1970-01-01T00:00:00Z to `start` at midnight UTC."""
        return self.start_epoch_day * SECONDS_PER_DAY

    def mass(self, market: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Return the seasonal mass of each day window [lo, hi) (float64; 0 for empty windows)."""
        return np.maximum(self.cumulative[market, hi] - self.cumulative[market, lo], 0.0)

    def sample_days(self, rng: np.random.Generator, market: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Return one day index per row drawn from the intensity restricted to [lo, hi) (needs lo < hi)."""
        days = np.empty(len(market), dtype=np.int64)
        u = rng.random(len(market))
        for m in range(len(markets.MARKETS)):  # one searchsorted per market, not per row
            rows = np.flatnonzero(market == m)
            cum = self.cumulative[m]
            target = cum[lo[rows]] + u[rows] * (cum[hi[rows]] - cum[lo[rows]])
            days[rows] = np.searchsorted(cum, target, side="right") - 1
        return np.clip(days, lo, hi - 1)

    def sample_seconds_of_day(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Return n local seconds-of-day following the hour-of-day intensity (int64)."""
        hours = rng.choice(24, size=n, p=HOUR_WEIGHTS)
        return hours * 3600 + rng.integers(0, 3600, size=n)


def build_calendar(start: date, end: date) -> Calendar:
    """Return the Calendar for [start, end]; raises ValueError if end is before start."""
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    n_days = (end - start).days + 1
    days = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1)
    months = days.astype("datetime64[M]")
    month = (months.astype(np.int64) % 12 + 1).astype(np.int8)
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    day_of_year = (days - days.astype("datetime64[Y]")).astype(np.int64)
    # Yearly wave peaking around 1 December, trough in early June.
    wave = 1.0 + 0.15 * np.cos(2 * np.pi * (day_of_year - 335) / 365.25)
    weights = np.stack([wave * _WEEKLY[m, weekday] for m in range(len(markets.MARKETS))])
    promo = np.zeros(weights.shape, dtype=bool)
    for year in range(start.year, end.year + 1):
        for m, events in enumerate(_events(year)):
            for day, factor, is_promo in events:
                d = (day - start).days
                if 0 <= d < n_days:
                    weights[m, d] *= factor
                    promo[m, d] |= is_promo
    weights /= weights.mean(axis=1, keepdims=True)
    cumulative = np.concatenate([np.zeros((weights.shape[0], 1)), np.cumsum(weights, axis=1)], axis=1)
    return Calendar(start=start, n_days=n_days, weights=weights, cumulative=cumulative, promo=promo, month=month)


def _events(year: int) -> tuple[list[tuple[date, float, bool]], ...]:
    """Return (day, intensity factor, is a sale day) per market for one year."""
    cn: list[tuple[date, float, bool]] = [(date(year, 11, d), 1.25, True) for d in range(1, 10)]
    cn += [(date(year, 11, 10), 1.8, True), (date(year, 11, 11), 5.0, True), (date(year, 11, 12), 1.6, True)]
    cn += [(date(year, 6, 17), 1.4, True), (date(year, 6, 18), 3.0, True), (date(year, 6, 19), 1.3, True)]
    cn += [(date(year, 12, 12), 2.0, True)]
    if year in _CNY:  # the week around the new year is quiet: people travel home
        cn += [(_CNY[year] + timedelta(days=k), 0.6, False) for k in range(-2, 6)]
    thanksgiving = date(year, 11, 1) + timedelta(days=(3 - date(year, 11, 1).weekday()) % 7 + 21)
    black_friday = thanksgiving + timedelta(days=1)
    west: list[tuple[date, float, bool]] = [(date(year, 12, d), 1.3, False) for d in range(1, 23)]
    west += [(black_friday, 3.5, True), (black_friday + timedelta(days=3), 2.5, True)]
    west += [(black_friday + timedelta(days=k), 1.3, True) for k in (1, 2)]
    west += [(date(year, 12, 24), 0.8, False), (date(year, 12, 25), 0.35, False)]
    west += [(date(year, 1, d), 1.1, True) for d in range(2, 8)]
    us = [*west, (thanksgiving, 0.8, False), (date(year, 12, 26), 1.3, True)]
    gb = [*west, (date(year, 12, 26), 2.5, True), (date(year, 12, 27), 1.5, True)]
    return cn, us, gb
