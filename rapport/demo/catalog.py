"""The product catalogue: products with SKUs, names, brands and prices, their popularity inside
their category, and the SKUs chosen for the planted co-purchase pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from . import arrays, assortment

MIN_PRODUCTS = 200
MAX_PRODUCTS = 100_000


@dataclass(frozen=True)
class PlantedItems:
    """The catalogue indices of a planted item pair and its rule (see `assortment.ItemPair`)."""

    antecedent: int
    consequent: int
    rule: assortment.ItemPair


@dataclass(frozen=True)
class Catalog:
    """Products in internal order (grouped by category) with what order generation needs.

    `sku` and `name` are in internal order too; `table` is the products file, sorted by SKU.
    `category[p]` is the category index of product p; `popularity_cdf` increases from c to c + 1
    across the products of category c, so `searchsorted(popularity_cdf, c + u)` draws a product of
    category c by popularity.
    """

    sku: pa.Array
    name: pa.Array
    category: np.ndarray
    price_cents: np.ndarray
    popularity_cdf: np.ndarray
    table: pa.Table
    planted: tuple[PlantedItems, ...]

    @property
    def size(self) -> int:
        """Number of products."""
        return len(self.category)

    def draw(self, rng: np.random.Generator, category: np.ndarray) -> np.ndarray:
        """Return one product index per entry of `category`, by popularity within that category."""
        target = category + rng.random(len(category))
        picked = np.searchsorted(self.popularity_cdf, target, side="right")
        # Float rounding at a category's upper edge must not spill into the next category.
        return np.minimum(picked, len(self.popularity_cdf) - 1)


def catalog_size(customers: int) -> int:
    """Return the number of products for a customer base: 500 at 2,000 customers, ~21k at 1M."""
    return int(np.clip(round(500 * (max(customers, 1) / 2000) ** 0.6), MIN_PRODUCTS, MAX_PRODUCTS))


def build_catalog(n_products: int, rng: np.random.Generator) -> Catalog:
    """Return a Catalog of about `n_products` products (every item kind appears at least once)."""
    cats = assortment.CATEGORIES
    share = np.sqrt([c.line_weight for c in cats])
    share /= share.sum()
    per_category = [max(len(c.items), round(n_products * s)) for c, s in zip(cats, share, strict=True)]

    columns: dict[str, list[np.ndarray]] = {k: [] for k in ("category", "item", "brand", "variant", "series")}
    cents_parts: list[np.ndarray] = []
    cdf_parts: list[np.ndarray] = []
    for c, (cat, n) in enumerate(zip(cats, per_category, strict=True)):
        j = np.arange(n)
        n_items, n_brands, n_variants = len(cat.items), len(cat.brands), len(cat.variants)
        item = j % n_items  # item kinds get equal shares; product j < n_items is item j's planted pick
        combos = n_brands * n_variants
        rank_in_item = j // n_items
        combo = rng.permutation(combos)[rank_in_item % combos]
        brand, variant = combo // n_variants, combo % n_variants
        columns["category"].append(np.full(n, c))
        columns["item"].append(item)
        columns["brand"].append(brand)
        columns["variant"].append(variant)
        columns["series"].append(rank_in_item // combos)
        typical = np.array([price for _, price in cat.items])[item]
        brand_factor = rng.lognormal(0.0, 0.25, n_brands)[brand]
        cents_parts.append(_shelf_price(typical * brand_factor * rng.lognormal(0.0, 0.3, n)))
        weight = 1.0 / (rng.permutation(n) + 5.0)  # Zipf-like popularity, random order
        cdf = np.cumsum(weight) / weight.sum()
        cdf[-1] = 1.0
        cdf_parts.append(c + cdf)

    category = np.concatenate(columns["category"])
    n_total = len(category)
    sku_numbers = rng.permutation(n_total) + 1  # SKU numbers say nothing about the category
    sku = arrays.ids("SKU-", sku_numbers, 6)
    cents = np.concatenate(cents_parts)
    brand_names = arrays.take(
        [b for cat in cats for b in cat.brands],
        _flat_index([len(cat.brands) for cat in cats], category, np.concatenate(columns["brand"])),
    )
    names = _names(category, brand_names, *(np.concatenate(columns[k]) for k in ("item", "variant", "series")))
    table = pa.table(
        {
            "sku": sku,
            "name": names,
            "category": arrays.take([cat.name for cat in cats], category),
            "brand": brand_names,
            "price": arrays.money(cents),
        }
    ).take(pa.array(np.argsort(sku_numbers)))
    first = np.concatenate([[0], np.cumsum(per_category)[:-1]])
    planted = tuple(
        PlantedItems(
            antecedent=_item_product(first, rule.antecedent),
            consequent=_item_product(first, rule.consequent),
            rule=rule,
        )
        for rule in assortment.ITEM_PAIRS
    )
    return Catalog(
        sku=sku,
        name=names,
        category=category.astype(np.int16),
        price_cents=cents,
        popularity_cdf=np.concatenate(cdf_parts),
        table=table,
        planted=planted,
    )


def _shelf_price(usd: np.ndarray) -> np.ndarray:
    """Return prices in cents ending in 9 the way shops price them (x.99 from 10 up, x.x9 below)."""
    big = np.round(usd) * 100 - 1
    small = np.round(usd * 10) * 10 - 1
    return np.maximum(np.where(usd >= 10, big, small), 49).astype(np.int64)


def _flat_index(sizes: list[int], category: np.ndarray, local: np.ndarray) -> np.ndarray:
    """Map (category, index within that category's list) to an index into the concatenated lists."""
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return offsets[category] + local


def _names(
    category: np.ndarray, brands: pa.Array, item: np.ndarray, variant: np.ndarray, series: np.ndarray
) -> pa.Array:
    """Return product names like "Pampers Diapers Size 3" (" Series 2" when combinations run out)."""
    cats = assortment.CATEGORIES
    items = arrays.take(
        [_title(name) for cat in cats for name, _ in cat.items],
        _flat_index([len(cat.items) for cat in cats], category, item),
    )
    variants = arrays.take(
        [v for cat in cats for v in cat.variants], _flat_index([len(cat.variants) for cat in cats], category, variant)
    )
    suffix = arrays.where(series > 0, arrays.join(" Series ", pa.array(series + 1).cast(pa.string())), "")
    return arrays.join(brands, " ", items, " ", variants, suffix)


def _title(text: str) -> str:
    """Capitalise each word's first letter only ("children's book" -> "Children's Book")."""
    return " ".join(word[:1].upper() + word[1:] for word in text.split(" "))


def _item_product(first: np.ndarray, key: tuple[str, str]) -> int:
    """Return the product index of the planted pick of an item kind (the first product of that kind)."""
    category = assortment.CATEGORY_INDEX[key[0]]
    items = [name for name, _ in assortment.CATEGORIES[category].items]
    return int(first[category]) + items.index(key[1])
