"""Feedback of a cohort: surveys, tickets, reviews, social posts, e-mails and chats with NPS and
CSAT scores and a text whose sentiment matches them. Scores follow a hidden satisfaction that is
lower for churners and drops after a refund or cancellation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from . import arrays, markets, texts
from .calendar import SECONDS_PER_DAY, Calendar
from .orders import CANCELLED, REFUNDED, OrderBook
from .people import Cohort

CHANNELS: tuple[str, ...] = ("survey", "service_ticket", "app_review", "social", "email", "chat")
# Channel mix after a good and after a bad (refunded or cancelled) experience.
_CHANNEL_MIX = np.array([[0.40, 0.10, 0.20, 0.10, 0.10, 0.10], [0.05, 0.40, 0.05, 0.10, 0.15, 0.25]])
_HAS_NPS = np.array([0.9, 0.05, 0.1, 0.0, 0.1, 0.05])  # per channel
_HAS_CSAT = np.array([0.35, 0.75, 0.95, 0.0, 0.3, 0.7])
# Aspect mix per channel (texts.ASPECTS order: price, quality, delivery, service, product, app).
_ASPECT_MIX = np.array(
    [
        [0.2, 0.2, 0.2, 0.1, 0.2, 0.1],
        [0.05, 0.1, 0.35, 0.35, 0.1, 0.05],
        [0.1, 0.1, 0.1, 0.1, 0.1, 0.5],
        [0.25, 0.2, 0.15, 0.15, 0.2, 0.05],
        [0.1, 0.15, 0.3, 0.3, 0.1, 0.05],
        [0.05, 0.1, 0.35, 0.35, 0.1, 0.05],
    ]
)
EMPTY_TEXT = 0.12  # of scored feedback comes without a text
BASE_RATE = 0.12  # feedback per customer regardless of orders; plus PER_ORDER per order
PER_ORDER = 0.1
PER_BAD_ORDER = 0.6


@dataclass(frozen=True)
class FeedbackBook:
    """The feedback file rows (`table`) and the true sentiment counts per language:
    `sentiment[language, sentiment]` with indices into texts.LANGUAGES and texts.SENTIMENTS."""

    table: pa.Table
    sentiment: np.ndarray


def build_feedback(
    rng: np.random.Generator, cohort: Cohort, book: OrderBook, calendar: Calendar, *, first_number: int
) -> FeedbackBook:
    """Return the cohort's feedback; ids are numbered from first_number + 1, rows sorted by
    customer then time."""
    per_customer = np.bincount(book.customer, minlength=cohort.size)
    bad_order = np.isin(book.status, (REFUNDED, CANCELLED))
    bad_per_customer = np.bincount(book.customer, weights=bad_order, minlength=cohort.size)
    count = rng.poisson(BASE_RATE + PER_ORDER * per_customer + PER_BAD_ORDER * bad_per_customer)
    customer = np.repeat(np.arange(cohort.size), count)
    n = len(customer)

    # Anchor each record on one of the customer's orders, or on a random active day for customers
    # without orders.
    first_order = np.concatenate([[0], np.cumsum(per_customer)[:-1]])[customer]
    has_orders = per_customer[customer] > 0
    anchor = first_order + np.floor(rng.random(n) * per_customer[customer]).astype(np.int64)
    anchor = np.where(has_orders, anchor, 0)
    # A sentinel order keeps the lookups valid for a cohort that placed no order at all.
    placed_at = np.append(book.placed_at, 0)[anchor]
    bad = has_orders & np.append(bad_order, False)[anchor]
    first_second = calendar.start_epoch_second
    last_second = first_second + calendar.n_days * SECONDS_PER_DAY - 1
    after_order = placed_at + 3600 + rng.exponential(3 * SECONDS_PER_DAY, n).astype(np.int64)
    lo = np.minimum(cohort.first_day[customer], calendar.n_days - 1)
    some_day = (calendar.start_epoch_day + lo + np.floor(rng.random(n) * (calendar.n_days - lo))) * SECONDS_PER_DAY
    at = np.where(has_orders, after_order, some_day + rng.integers(0, SECONDS_PER_DAY, n))
    at = np.clip(np.maximum(at, cohort.created_at[customer] + 60), first_second, last_second)

    channel = np.where(bad, _draw(rng, _CHANNEL_MIX[1], n), _draw(rng, _CHANNEL_MIX[0], n))
    feeling = cohort.satisfaction[customer] + rng.normal(0.0, 0.7, n) - 1.2 * bad
    nps = np.clip(np.round(7.6 + 1.9 * feeling), 0, 10).astype(np.int8)
    csat = np.clip(np.round(4.0 + 0.9 * feeling), 1, 5).astype(np.int8)
    has_nps = rng.random(n) < _HAS_NPS[channel]
    has_csat = rng.random(n) < _HAS_CSAT[channel]
    sentiment = np.select(
        [has_nps, has_csat],
        [np.digitize(nps, [7, 9]), np.digitize(csat, [3, 4])],
        np.digitize(feeling, [-0.6, 0.5]),
    )
    language = (cohort.market[customer] == markets.CN).astype(np.int64)
    aspect = _draw_rows(rng, _ASPECT_MIX[channel])
    text = texts.compose(rng, language=language, sentiment=sentiment, aspect=aspect)
    silent = (has_nps | has_csat) & (rng.random(n) < EMPTY_TEXT)

    order = np.lexsort((at, customer))
    table = pa.table(
        {
            "source": arrays.constant("demo", n),
            "external_id": arrays.ids("F", first_number + 1 + np.arange(n), 8),
            "customer_external_id": cohort.external_id.take(pa.array(customer[order])),
            "channel": arrays.take(CHANNELS, channel[order]),
            "nps": arrays.small_ints(nps[order], missing=~has_nps[order]),
            "csat": arrays.small_ints(csat[order], missing=~has_csat[order]),
            "text": arrays.where(silent, "", text).take(pa.array(order)),
            "language": arrays.take(texts.LANGUAGES, language[order]),
            "occurred_at": arrays.timestamps(at[order]),
        }
    )
    truth = np.zeros((len(texts.LANGUAGES), len(texts.SENTIMENTS)), dtype=np.int64)
    np.add.at(truth, (language, sentiment), 1)
    return FeedbackBook(table=table, sentiment=truth)


def _draw(rng: np.random.Generator, p: np.ndarray, n: int) -> np.ndarray:
    """Return n indices drawn from the distribution p."""
    return rng.choice(len(p), size=n, p=p / p.sum())


def _draw_rows(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    """Return one index per row of the (n, k) probability matrix p (inverse CDF, vectorised)."""
    cdf = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
    return np.minimum((rng.random((len(p), 1)) > cdf).sum(axis=1), p.shape[1] - 1)
