"""Synthetic customers: the customers file columns plus the hidden traits (purchase rate, churn,
satisfaction, favourite categories) that drive their orders, interactions and feedback.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from . import arrays, assortment, contacts, markets, names
from .calendar import SECONDS_PER_DAY, Calendar

CHURN_SHARE = 0.30  # customers who stop buying at a random point before the end
PRE_EXISTING_SHARE = 0.45  # customers created before `start` (up to three years earlier)
RATE_MEDIAN = 2.1  # orders per active year of the median customer (lognormal, sigma RATE_SIGMA)
RATE_SIGMA = 1.0
PARENT_SHARE = 0.35  # of customers aged 25-45: they buy baby products (and beer, see assortment)


@dataclass(frozen=True)
class Cohort:
    """One chunk of customers: hidden traits as numpy arrays (one row per customer) and `table`,
    the customers file rows.

    Buying happens on day indices [first_day, last_day) counted from the calendar's start; a
    churner's last_day is its churn day. `rate` is orders per year while active, `basket` the mean
    number of extra lines per order, `favourites` three preferred category indices.
    """

    index: np.ndarray
    external_id: pa.Array
    market: np.ndarray
    tz_seconds: np.ndarray
    created_at: np.ndarray
    first_day: np.ndarray
    last_day: np.ndarray
    churned: np.ndarray
    rate: np.ndarray
    basket: np.ndarray
    favourites: np.ndarray
    parent: np.ndarray
    channel: np.ndarray
    satisfaction: np.ndarray
    table: pa.Table

    @property
    def size(self) -> int:
        """Number of customers in the cohort."""
        return len(self.index)


def build_cohort(rng: np.random.Generator, calendar: Calendar, *, first_index: int, size: int, total: int) -> Cohort:
    """Return customers first_index .. first_index + size - 1 of a base of `total` customers."""
    n = size
    index = np.arange(first_index, first_index + n, dtype=np.int64)
    shares = names.weights(np.array([m.share for m in markets.MARKETS]))
    market = rng.choice(len(shares), size=n, p=shares).astype(np.int8)
    city = _pick_city(rng, market)
    tz_seconds = np.array([c[4] for c in markets.CITIES], dtype=np.int64)[city] * 3600
    gender = rng.choice(3, size=n, p=[0.49, 0.49, 0.02])

    age = (18 + 62 * rng.beta(2.0, 3.2, n)).astype(np.int64)  # mode about 37, mean about 42
    end_day = calendar.start_epoch_day + calendar.n_days - 1
    birth_day = end_day - np.floor(age * 365.25).astype(np.int64) - rng.integers(0, 365, n)
    education = rng.choice(len(markets.EDUCATION), size=n, p=[e[3] for e in markets.EDUCATION])
    education = np.where((age < 23) & np.isin(education, (2, 3)), 0, education)  # no master at 19
    occupation = _pick_occupation(rng, age)
    income = _income(rng, market, age, education, occupation)

    # Customers join over time: some existed before the range, the rest sign up at a growing pace.
    created_day = np.where(
        rng.random(n) < PRE_EXISTING_SHARE,
        -np.ceil(rng.random(n) * 3 * 365).astype(np.int64),
        np.floor((calendar.n_days - 1) * rng.random(n) ** 0.8).astype(np.int64),
    )
    created_at = (calendar.start_epoch_day + created_day) * SECONDS_PER_DAY + rng.integers(0, SECONDS_PER_DAY, n)
    created_at -= tz_seconds  # the sign-up happened on `created_day` local time
    first_day = np.maximum(created_day + 1, 0)  # local days, so the first order follows sign-up
    churned = rng.random(n) < CHURN_SHARE
    span = np.maximum(calendar.n_days - first_day, 0)
    churn_day = first_day + np.floor(rng.random(n) * span).astype(np.int64)
    last_day = np.where(churned, churn_day, calendar.n_days)

    z_income = np.log(income / np.array([m.median_income for m in markets.MARKETS])[market]) / 0.6
    value = np.exp(0.35 * z_income + rng.normal(0.0, 0.5, n))
    rate = RATE_MEDIAN * np.exp(RATE_SIGMA * rng.normal(size=n) + 0.25 * z_income)
    basket = np.clip(1.3 * value**0.5, 0.2, 6.0)
    line_weights = names.weights(np.array([c.line_weight for c in assortment.CATEGORIES]))
    favourites = rng.choice(len(line_weights), size=(n, 3), p=line_weights)
    parent = (age >= 25) & (age <= 45) & (rng.random(n) < PARENT_SHARE)
    favourites[parent, 0] = assortment.CATEGORY_INDEX["baby"]
    channel = _pick_channel(rng, market)
    satisfaction = rng.normal(size=n) - 0.9 * churned

    external_id = arrays.ids("C", index + 1, 7)
    person = contacts.build_contacts(rng, market=market, city=city, gender=gender, index=index, total=total)
    cities = markets.CITIES
    table = pa.table(
        {
            "source": arrays.constant("demo", n),
            "external_id": external_id,
            "given_name": person.given_name,
            "family_name": person.family_name,
            "email": person.email,
            "phone": person.phone,
            "gender": person.gender,
            "birth_date": arrays.dates(birth_day),
            "income": pa.array(income),
            "income_band": arrays.take(markets.INCOME_BANDS, _income_band(market, income)),
            "occupation": arrays.take([o[0] for o in markets.OCCUPATIONS], occupation),
            "education": _education_labels(rng, market, education),
            "country": arrays.take([m.country for m in markets.MARKETS], market),
            "region": arrays.take([c[2] for c in cities], city),
            "city": arrays.take([c[1] for c in cities], city),
            "created_at": arrays.timestamps(created_at),
        }
    )
    return Cohort(
        index=index,
        external_id=external_id,
        market=market,
        tz_seconds=tz_seconds,
        created_at=created_at,
        first_day=first_day,
        last_day=last_day,
        churned=churned,
        rate=rate,
        basket=basket,
        favourites=favourites,
        parent=parent,
        channel=channel,
        satisfaction=satisfaction,
        table=table,
    )


def _pick_city(rng: np.random.Generator, market: np.ndarray) -> np.ndarray:
    """Return an index into markets.CITIES per customer, by population within the customer's market."""
    city = np.empty(len(market), dtype=np.int64)
    for m in range(len(markets.MARKETS)):
        rows = np.flatnonzero(market == m)
        options = np.array([i for i, c in enumerate(markets.CITIES) if c[0] == m])
        population = names.weights(np.array([markets.CITIES[i][3] for i in options]))
        city[rows] = options[rng.choice(len(options), size=len(rows), p=population)]
    return city


def _pick_channel(rng: np.random.Generator, market: np.ndarray) -> np.ndarray:
    """Return each customer's preferred channel index (markets.CHANNELS), by market habits."""
    channel = np.empty(len(market), dtype=np.int8)
    for m, info in enumerate(markets.MARKETS):
        rows = np.flatnonzero(market == m)
        channel[rows] = rng.choice(len(markets.CHANNELS), size=len(rows), p=names.weights(info.channel_weights))
    return channel


def _pick_occupation(rng: np.random.Generator, age: np.ndarray) -> np.ndarray:
    """Return an occupation index per person: mostly students under 23, mostly retired from 63."""
    share = names.weights(np.array([o[2] for o in markets.OCCUPATIONS]))
    occupation = rng.choice(len(share), size=len(age), p=share)
    u = rng.random(len(age))
    occupation = np.where((age < 23) & (u < 0.7), markets.STUDENT, occupation)
    return np.where((age >= 63) & (u < 0.8), markets.RETIRED, occupation)


def _income(
    rng: np.random.Generator, market: np.ndarray, age: np.ndarray, education: np.ndarray, occupation: np.ndarray
) -> np.ndarray:
    """Return annual income in the market's currency, rounded to 100 (int64)."""
    median = np.array([m.median_income for m in markets.MARKETS])[market]
    edu = np.array([e[2] for e in markets.EDUCATION])[education]
    occ = np.array([o[1] for o in markets.OCCUPATIONS])[occupation]
    career = 0.65 + 0.45 * np.exp(-(((age - 48) / 16.0) ** 2))  # earnings peak in the late forties
    income = median * edu * occ * career * rng.lognormal(0.0, 0.45, len(age))
    return (np.round(income / 100) * 100).astype(np.int64)


def _income_band(market: np.ndarray, income: np.ndarray) -> np.ndarray:
    """Return the income band index per customer, with edges relative to the market's median."""
    median = np.array([m.median_income for m in markets.MARKETS])[market]
    relative = income / median
    return np.searchsorted(np.array(markets.INCOME_BAND_EDGES), relative, side="right")


def _education_labels(rng: np.random.Generator, market: np.ndarray, education: np.ndarray) -> pa.Array:
    """Return education labels; a quarter of Chinese customers' come in Chinese (e.g. "本科")."""
    canonical = [e[0] for e in markets.EDUCATION]
    chinese = [e[1] for e in markets.EDUCATION]
    in_chinese = (market == markets.CN) & (rng.random(len(market)) < 0.25)
    return arrays.take(canonical + chinese, education + len(canonical) * in_chinese)
