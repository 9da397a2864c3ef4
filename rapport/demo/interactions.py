"""Interactions of a cohort: product page views and app opens leading to orders, service contacts
after refunds and cancellations, and background engagement (browsing, campaign e-mails and
responses, app opens, questions) whose volume grows with the customer's purchase rate and fades
after a churner's last purchase.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from . import arrays, assortment, markets
from .calendar import CAMPAIGNS, SECONDS_PER_DAY, Calendar
from .catalog import Catalog
from .orders import CANCELLED, REFUNDED, OrderBook
from .people import Cohort

TYPES: tuple[str, ...] = ("page_view", "campaign_response", "service_contact", "email_open", "app_open")
PAGE_VIEW, CAMPAIGN_RESPONSE, SERVICE_CONTACT, EMAIL_OPEN, APP_OPEN = range(5)
# Background engagement: events per active year = BASE + PER_ORDER x purchase rate, by type.
BACKGROUND_BASE = 1.5
BACKGROUND_PER_ORDER = 1.0
BACKGROUND_MIX = (0.35, 0.12, 0.05, 0.30, 0.18)  # in TYPES order
FADE_DAYS = 45  # a churner keeps opening e-mails and browsing this long after leaving
VIEWED_SHARE = 0.4  # of order lines preceded by a view of the product page
IOS_SHARE = (0.25, 0.55, 0.5)  # per market; the rest is android

_CATEGORY_PAGES = arrays.vocab(
    ["/c/" + c.name.replace(" & ", "-and-").replace(" ", "-") for c in assortment.CATEGORIES]
)
_CAMPAIGNS = arrays.vocab([name for market in CAMPAIGNS for name in market])


class _Rows:
    """Interaction rows collected from several sources, assembled into one sorted table."""

    def __init__(self, cohort: Cohort, first_second: int, last_second: int) -> None:
        self.cohort = cohort
        self.bounds = (first_second, last_second)
        self.customers: list[np.ndarray] = []
        self.kinds: list[np.ndarray] = []
        self.times: list[np.ndarray] = []
        self.properties: list[pa.Array] = []

    def emit(self, customer: np.ndarray, kind: int, at: np.ndarray, props: pa.Array) -> None:
        """Add rows; times are kept inside the date range and after the customer's sign-up."""
        self.customers.append(customer)
        self.kinds.append(np.full(len(customer), kind, dtype=np.int8))
        self.times.append(np.clip(np.maximum(at, self.cohort.created_at[customer]), *self.bounds))
        self.properties.append(props)

    def table(self) -> pa.Table:
        """Return the interactions file rows, sorted by customer, time and type."""
        customer = np.concatenate(self.customers)
        kind = np.concatenate(self.kinds)
        at = np.concatenate(self.times)
        order = np.lexsort((kind, at, customer))
        customer, kind, at = customer[order], kind[order], at[order]
        return pa.table(
            {
                "source": arrays.constant("demo", len(customer)),
                "customer_external_id": self.cohort.external_id.take(pa.array(customer)),
                "type": arrays.take(TYPES, kind),
                "occurred_at": arrays.timestamps(at),
                "properties": pa.concat_arrays(self.properties).take(pa.array(order)),
            }
        )


def build_interactions(
    rng: np.random.Generator, cohort: Cohort, book: OrderBook, catalog: Catalog, calendar: Calendar
) -> pa.Table:
    """Return the interactions file rows of a cohort, sorted by customer then time."""
    first_second = calendar.start_epoch_second
    rows = _Rows(cohort, first_second, first_second + calendar.n_days * SECONDS_PER_DAY - 1)
    ios = rng.random(cohort.size) < np.array(IOS_SHARE)[cohort.market]
    platform = arrays.take(['{"platform": "android"}', '{"platform": "ios"}'], ios)

    # Product pages viewed shortly before buying.
    viewed = np.flatnonzero(rng.random(len(book.line_order)) < VIEWED_SHARE)
    order = book.line_order[viewed]
    before = 60 + rng.exponential(1200, len(viewed)).astype(np.int64)
    pages = arrays.join('{"page": "/p/', catalog.sku.take(pa.array(book.line_product[viewed])), '"}')
    rows.emit(book.customer[order], PAGE_VIEW, book.placed_at[order] - before, pages)
    # The app opened before an app order.
    app = np.flatnonzero((book.channel == markets.CHANNELS.index("app")) & (rng.random(book.size) < 0.8))
    before = 30 + rng.exponential(600, len(app)).astype(np.int64)
    opened = platform.take(pa.array(book.customer[app]))
    rows.emit(book.customer[app], APP_OPEN, book.placed_at[app] - before, opened)
    # Complaints after refunds and cancellations.
    bad = np.flatnonzero(np.isin(book.status, (REFUNDED, CANCELLED)) & (rng.random(book.size) < 0.7))
    after = 3600 + rng.exponential(2 * SECONDS_PER_DAY, len(bad)).astype(np.int64)
    props = arrays.join(
        '{"reason": "',
        arrays.take(["refund", "cancellation"], np.where(book.status[bad] == REFUNDED, 0, 1)),
        '", "channel": "',
        arrays.take(["phone", "chat", "email"], rng.integers(0, 3, len(bad))),
        '"}',
    )
    rows.emit(book.customer[bad], SERVICE_CONTACT, book.placed_at[bad] + after, props)

    _background(rng, cohort, catalog, calendar, platform, rows)
    return rows.table()


def _background(
    rng: np.random.Generator, cohort: Cohort, catalog: Catalog, calendar: Calendar, platform: pa.Array, rows: _Rows
) -> None:
    """Add engagement not tied to an order, over each customer's window [sign-up, leaving + fade)."""
    lo = cohort.first_day
    leaving = np.where(cohort.churned, np.minimum(cohort.last_day + FADE_DAYS, calendar.n_days), calendar.n_days)
    hi = np.maximum(leaving, lo)
    rate = BACKGROUND_BASE + BACKGROUND_PER_ORDER * cohort.rate
    count = rng.poisson(rate * calendar.mass(cohort.market, lo, hi) / 365.25)
    customer = np.repeat(np.arange(cohort.size), count)
    day = calendar.sample_days(rng, cohort.market[customer], lo[customer], hi[customer])
    local = (calendar.start_epoch_day + day) * SECONDS_PER_DAY + calendar.sample_seconds_of_day(rng, len(day))
    at = local - cohort.tz_seconds[customer]
    kind = rng.choice(len(TYPES), size=len(customer), p=np.array(BACKGROUND_MIX) / sum(BACKGROUND_MIX))
    campaign = _CAMPAIGNS.take(pa.array(cohort.market[customer].astype(np.int64) * 12 + calendar.month[day] - 1))

    for k in range(len(TYPES)):
        picked = np.flatnonzero(kind == k)
        who = customer[picked]
        n = len(picked)
        if k == PAGE_VIEW:  # a category page, a product from a favourite category, or the home page
            category = cohort.favourites[who, rng.integers(0, 3, n)]
            product = arrays.join("/p/", catalog.sku.take(pa.array(catalog.draw(rng, category))))
            which = rng.choice(3, size=n, p=[0.5, 0.35, 0.15])
            target = arrays.where(which == 0, _CATEGORY_PAGES.take(pa.array(category)), product)
            props = arrays.join('{"page": "', arrays.where(which == 2, "/", target), '"}')
        elif k == CAMPAIGN_RESPONSE:  # churners unsubscribe more
            unsubscribe = rng.random(n) < np.where(cohort.churned[who], 0.3, 0.08)
            response = np.where(unsubscribe, 2, rng.choice(2, size=n, p=[0.75, 0.25]))
            props = arrays.join(
                '{"campaign": "',
                campaign.take(pa.array(picked)),
                '", "response": "',
                arrays.take(["clicked", "converted", "unsubscribed"], response),
                '"}',
            )
        elif k == SERVICE_CONTACT:
            props = arrays.join(
                '{"reason": "',
                arrays.take(["delivery", "account", "product_question", "return"], rng.integers(0, 4, n)),
                '", "channel": "',
                arrays.take(["phone", "chat", "email"], rng.integers(0, 3, n)),
                '"}',
            )
        elif k == EMAIL_OPEN:
            props = arrays.join('{"campaign": "', campaign.take(pa.array(picked)), '"}')
        else:
            props = platform.take(pa.array(who))
        rows.emit(who, k, at[picked], props)
