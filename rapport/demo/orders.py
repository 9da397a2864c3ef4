"""Orders and order lines of a cohort: how many orders each customer places (purchase rate x
seasonally weighted active window), when, through which channel, which products (favourite
categories, popularity, planted co-purchases) and at what price.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from . import arrays, assortment, markets, names
from .calendar import SECONDS_PER_DAY, Calendar
from .catalog import Catalog
from .people import Cohort

STATUSES: tuple[str, ...] = ("placed", "paid", "refunded", "cancelled")
PLACED, PAID, REFUNDED, CANCELLED = range(4)
FAVOURITE_SHARE = 0.55  # of lines drawn from the customer's favourite categories


@dataclass(frozen=True)
class OrderBook:
    """Orders of one cohort, sorted by customer then time, and their lines (`table`, the orders
    file rows). Customer indices are cohort-local.

    `revenue_usd[c]` is customer c's spend on orders neither cancelled nor refunded, in USD;
    `planted[k]` counts orders holding the antecedent, the consequent, and both, of planted pair k.
    """

    customer: np.ndarray
    placed_at: np.ndarray
    day: np.ndarray
    status: np.ndarray
    channel: np.ndarray
    line_order: np.ndarray
    line_product: np.ndarray
    revenue_usd: np.ndarray
    planted: np.ndarray
    table: pa.Table

    @property
    def size(self) -> int:
        """Number of orders."""
        return len(self.customer)


def build_orders(
    rng: np.random.Generator, cohort: Cohort, catalog: Catalog, calendar: Calendar, *, first_number: int
) -> OrderBook:
    """Return the cohort's orders; order ids are numbered from first_number + 1."""
    lo, hi = cohort.first_day, np.maximum(cohort.last_day, cohort.first_day)
    count = rng.poisson(cohort.rate * calendar.mass(cohort.market, lo, hi) / 365.25)
    customer = np.repeat(np.arange(cohort.size), count)
    market = cohort.market[customer]
    day = calendar.sample_days(rng, market, lo[customer], hi[customer])
    local = (calendar.start_epoch_day + day) * SECONDS_PER_DAY + calendar.sample_seconds_of_day(rng, len(day))
    first_second = calendar.start_epoch_second
    last_second = first_second + calendar.n_days * SECONDS_PER_DAY - 1
    placed_at = np.clip(local - cohort.tz_seconds[customer], first_second, last_second)
    order = np.lexsort((placed_at, customer))
    customer, market, day, placed_at = customer[order], market[order], day[order], placed_at[order]
    n_orders = len(customer)

    channel = np.where(rng.random(n_orders) < 0.7, cohort.channel[customer], _market_channel(rng, market))
    status = _statuses(rng, placed_at, last_second)
    line_order, product = _basket_lines(rng, cohort, catalog, customer)
    line_order, product, planted = _plant_pairs(rng, cohort, catalog, customer, line_order, product)

    line_customer = customer[line_order]
    line_market = market[line_order]
    category = catalog.category[product]
    extra = np.array([c.extra_quantity for c in assortment.CATEGORIES])[category]
    quantity = 1 + rng.poisson(extra).astype(np.int32)
    fx = np.array([m.fx for m in markets.MARKETS])[line_market]
    on_sale = calendar.promo[line_market, day[line_order]]
    r = rng.random(len(product))
    discount = np.where(on_sale & (r < 0.6), 1 - rng.uniform(0.1, 0.3, len(r)), np.where(r < 0.08, 0.9, 1.0))
    unit_cents = np.round(catalog.price_cents[product] * fx * discount).astype(np.int64)
    kept = (status[line_order] == PAID) | (status[line_order] == PLACED)
    revenue_usd = np.bincount(line_customer, weights=kept * quantity * unit_cents / fx / 100, minlength=cohort.size)

    order_ids = arrays.ids("O", first_number + 1 + np.arange(n_orders), 9)
    table = pa.table(
        {
            "source": arrays.constant("demo", len(product)),
            "order_external_id": order_ids.take(pa.array(line_order)),
            "customer_external_id": cohort.external_id.take(pa.array(line_customer)),
            "placed_at": arrays.timestamps(placed_at[line_order]),
            "channel": arrays.take(markets.CHANNELS, channel[line_order]),
            "currency": arrays.take([m.currency for m in markets.MARKETS], line_market),
            "status": arrays.take(STATUSES, status[line_order]),
            "sku": catalog.sku.take(pa.array(product)),
            "quantity": pa.array(quantity),
            "unit_price": arrays.money(unit_cents),
        }
    )
    return OrderBook(
        customer=customer,
        placed_at=placed_at,
        day=day,
        status=status,
        channel=channel,
        line_order=line_order,
        line_product=product,
        revenue_usd=revenue_usd,
        planted=planted,
        table=table,
    )


def _market_channel(rng: np.random.Generator, market: np.ndarray) -> np.ndarray:
    """Return a channel index per order drawn from its market's channel mix."""
    channel = np.empty(len(market), dtype=np.int8)
    for m, info in enumerate(markets.MARKETS):
        rows = np.flatnonzero(market == m)
        channel[rows] = rng.choice(len(markets.CHANNELS), size=len(rows), p=names.weights(info.channel_weights))
    return channel


def _statuses(rng: np.random.Generator, placed_at: np.ndarray, last_second: int) -> np.ndarray:
    """Return order statuses: ~2% cancelled, ~3% refunded, ~1% left unpaid plus most orders of the
    last three days still `placed` (not yet paid), the rest paid."""
    u = rng.random(len(placed_at))
    status = np.select([u < 0.02, u < 0.05, u < 0.06], [CANCELLED, REFUNDED, PLACED], PAID)
    recent = (placed_at > last_second - 3 * SECONDS_PER_DAY) & (rng.random(len(u)) < 0.6)
    return np.where(recent & (status == PAID), PLACED, status).astype(np.int8)


def _basket_lines(
    rng: np.random.Generator, cohort: Cohort, catalog: Catalog, customer: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return (order index, product index) per line: 1 + Poisson(basket) lines per order, each from
    a favourite category or the overall category mix, then a product by popularity."""
    lines = 1 + rng.poisson(cohort.basket[customer])
    line_order = np.repeat(np.arange(len(customer)), lines)
    n = len(line_order)
    favourite = cohort.favourites[customer[line_order], rng.integers(0, 3, n)]
    mix = names.weights(np.array([c.line_weight for c in assortment.CATEGORIES]))
    category = np.where(rng.random(n) < FAVOURITE_SHARE, favourite, rng.choice(len(mix), size=n, p=mix))
    return line_order, catalog.draw(rng, category)


def _plant_pairs(
    rng: np.random.Generator,
    cohort: Cohort,
    catalog: Catalog,
    customer: np.ndarray,
    line_order: np.ndarray,
    product: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Add the planted co-purchases and drop repeated products within an order.

    Returns (line order, line product, counts) with lines grouped by order; counts[k] holds the
    orders with pair k's antecedent, with its consequent, and with both.
    """
    n_orders = len(customer)
    orders, products = [line_order], [product]

    def holding(items: np.ndarray) -> np.ndarray:
        has = np.zeros(n_orders, dtype=bool)
        all_orders, all_products = np.concatenate(orders), np.concatenate(products)
        has[all_orders[np.isin(all_products, items)]] = True
        return has

    def add(mask: np.ndarray, new_products: np.ndarray | int) -> None:
        hit = np.flatnonzero(mask)
        orders.append(hit)
        products.append(np.broadcast_to(new_products, hit.shape).astype(np.int64))

    # 1. Antecedents get enough support: eligible orders receive them at the pair's inject rate.
    for planted in catalog.planted:
        eligible = cohort.parent[customer] if planted.rule.parents_only else np.ones(n_orders, dtype=bool)
        add(eligible & (rng.random(n_orders) < planted.rule.inject_rate), planted.antecedent)
    # 2. Category habits: an order touching the antecedent category gains a consequent-category item.
    for pair in assortment.CATEGORY_PAIRS:
        source = np.flatnonzero(catalog.category == assortment.CATEGORY_INDEX[pair.antecedent])
        mask = holding(source) & (rng.random(n_orders) < pair.rate)
        target = np.full(int(mask.sum()), assortment.CATEGORY_INDEX[pair.consequent])
        add(mask, catalog.draw(rng, target))
    # 3. Item rules: the consequent follows the antecedent with the planted confidence.
    for planted in catalog.planted:
        has_antecedent = holding(np.array([planted.antecedent]))
        add(has_antecedent & (rng.random(n_orders) < planted.rule.confidence), planted.consequent)

    all_orders, all_products = np.concatenate(orders), np.concatenate(products)
    _, first = np.unique(all_orders * catalog.size + all_products, return_index=True)
    keep = np.sort(first)  # first occurrence of each (order, product), original order preserved
    all_orders, all_products = all_orders[keep], all_products[keep]
    by_order = np.argsort(all_orders, kind="stable")
    all_orders, all_products = all_orders[by_order], all_products[by_order]

    counts = np.zeros((len(catalog.planted), 3), dtype=np.int64)
    for k, planted in enumerate(catalog.planted):
        has_a = np.zeros(n_orders, dtype=bool)
        has_b = np.zeros(n_orders, dtype=bool)
        has_a[all_orders[all_products == planted.antecedent]] = True
        has_b[all_orders[all_products == planted.consequent]] = True
        counts[k] = (has_a.sum(), has_b.sum(), (has_a & has_b).sum())
    return all_orders, all_products, counts
