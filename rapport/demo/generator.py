"""Generating a whole data set: chunks of customers with their orders, interactions and feedback,
streamed as pyarrow tables or pandas frames, or written to files with a manifest.

Determinism: the catalogue and every chunk draw from their own random stream derived from the
seed (numpy SeedSequence spawn keys), so the same (seed, customers, chunk_customers, dates) give
byte-identical files; memory stays bounded by the chunk size, whatever the number of customers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from . import arrays, assortment, catalog, feedback, interactions, markets, orders, people, texts
from .calendar import Calendar, build_calendar
from .manifest import MANIFEST_NAME, CategoryPair, Manifest, PlantedPair
from .writer import FORMATS, Format, TableWriter

TABLES: tuple[str, ...] = ("customers", "products", "orders", "interactions", "feedback")
DEFAULT_START = date(2024, 1, 1)
DEFAULT_END = date(2025, 12, 31)

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Chunk:
    """One chunk of customers and everything they did (see the modules building each part)."""

    number: int
    cohort: people.Cohort
    book: orders.OrderBook
    interactions: pa.Table
    feedback: feedback.FeedbackBook

    def tables(self) -> dict[str, pa.Table]:
        """Return the chunk's rows per file: customers, orders, interactions, feedback."""
        return {
            "customers": self.cohort.table,
            "orders": self.book.table,
            "interactions": self.interactions,
            "feedback": self.feedback.table,
        }


def build_chunks(
    *, customers: int, seed: int, calendar: Calendar, products: catalog.Catalog, chunk_customers: int
) -> Iterator[Chunk]:
    """Yield the chunks of a customer base in order; ids continue across chunks."""
    order_count = feedback_count = 0
    for number, first in enumerate(range(0, customers, chunk_customers)):
        streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed, spawn_key=(1, number)).spawn(4)]
        size = min(chunk_customers, customers - first)
        cohort = people.build_cohort(streams[0], calendar, first_index=first, size=size, total=customers)
        book = orders.build_orders(streams[1], cohort, products, calendar, first_number=order_count)
        activity = interactions.build_interactions(streams[2], cohort, book, products, calendar)
        said = feedback.build_feedback(streams[3], cohort, book, calendar, first_number=feedback_count)
        yield Chunk(number=number, cohort=cohort, book=book, interactions=activity, feedback=said)
        order_count += book.size
        feedback_count += said.table.num_rows


def build_catalog(*, customers: int, seed: int) -> catalog.Catalog:
    """Return the product catalogue of a data set (its size grows mildly with `customers`)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,)))
    return catalog.build_catalog(catalog.catalog_size(customers), rng)


def iter_tables(
    *,
    customers: int = 2000,
    seed: int = 42,
    start: date = DEFAULT_START,
    end: date = DEFAULT_END,
    chunk_customers: int = 50_000,
) -> Iterator[tuple[str, pa.Table]]:
    """Yield (table name, pyarrow Table): products once, then customers, orders, interactions and
    feedback per chunk, so a loader can push customers before their orders. Raises ValueError on
    invalid arguments."""
    _check(customers=customers, seed=seed, start=start, end=end, chunk_customers=chunk_customers, fmt="csv")
    products = build_catalog(customers=customers, seed=seed)
    yield "products", products.table
    calendar = build_calendar(start, end)
    for chunk in build_chunks(
        customers=customers, seed=seed, calendar=calendar, products=products, chunk_customers=chunk_customers
    ):
        yield from chunk.tables().items()


def iter_frames(
    *,
    customers: int = 2000,
    seed: int = 42,
    start: date = DEFAULT_START,
    end: date = DEFAULT_END,
    chunk_customers: int = 50_000,
) -> Iterator[tuple[str, pd.DataFrame]]:
    """Like `iter_tables`, as pandas DataFrames (see `to_frame` for the column types)."""
    for name, table in iter_tables(
        customers=customers, seed=seed, start=start, end=end, chunk_customers=chunk_customers
    ):
        yield name, to_frame(table)


def to_frame(table: pa.Table) -> pd.DataFrame:
    """Return `table` as a DataFrame: timestamps tz-aware UTC, scores nullable Int8, money exact
    (pyarrow decimal), dates as datetime64."""
    mapping = {pa.int8(): pd.Int8Dtype(), arrays.MONEY: pd.ArrowDtype(arrays.MONEY)}
    return table.to_pandas(types_mapper=mapping.get, date_as_object=False)


def generate(
    out_dir: Path,
    *,
    customers: int = 2000,
    seed: int = 42,
    fmt: Format = "csv",
    start: date = DEFAULT_START,
    end: date = DEFAULT_END,
    chunk_customers: int = 50_000,
    progress: Progress | None = None,
) -> Manifest:
    """Write customers, products, orders (one row per line), interactions and feedback files in
    `fmt` plus manifest.json into `out_dir` (created if missing; files there are replaced) and
    return the manifest. `progress(stage, done, total)` is called after the catalogue and after
    each chunk of customers. Raises ValueError on invalid arguments."""
    _check(customers=customers, seed=seed, start=start, end=end, chunk_customers=chunk_customers, fmt=fmt)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MANIFEST_NAME).unlink(missing_ok=True)  # no manifest until the files are complete
    files = {name: f"{name}.{fmt}" for name in TABLES}
    writers = {name: TableWriter(out_dir / file, fmt) for name, file in files.items()}
    tally = _Tally(customers)
    try:
        products = build_catalog(customers=customers, seed=seed)
        writers["products"].write(products.table)
        if progress is not None:
            progress("products", products.size, products.size)
        calendar = build_calendar(start, end)
        for chunk in build_chunks(
            customers=customers, seed=seed, calendar=calendar, products=products, chunk_customers=chunk_customers
        ):
            for name, table in chunk.tables().items():
                writers[name].write(table)
            tally.add(chunk)
            if progress is not None:
                progress("customers", int(chunk.cohort.index[-1]) + 1, customers)
        for writer in writers.values():
            writer.close()
    except BaseException:
        for writer in writers.values():
            writer.abort()
        raise
    manifest = tally.manifest(
        seed=seed,
        fmt=fmt,
        start=start,
        end=end,
        chunk_customers=chunk_customers,
        files=files,
        counts={name: writer.rows for name, writer in writers.items()},
        products=products,
    )
    manifest.write(out_dir)
    return manifest


class _Tally:
    """Ground truth accumulated chunk by chunk for the manifest."""

    def __init__(self, customers: int) -> None:
        self.customers = customers
        self.revenue = np.zeros(customers)  # 8 bytes per customer: the only whole-base array
        self.orders = 0
        self.churned = 0
        self.by_country = np.zeros(len(markets.MARKETS), dtype=np.int64)
        self.planted = np.zeros((len(assortment.ITEM_PAIRS), 3), dtype=np.int64)
        self.sentiment = np.zeros((len(texts.LANGUAGES), len(texts.SENTIMENTS)), dtype=np.int64)

    def add(self, chunk: Chunk) -> None:
        """Count one chunk."""
        self.revenue[chunk.cohort.index] = chunk.book.revenue_usd
        self.orders += chunk.book.size
        self.churned += int(chunk.cohort.churned.sum())
        self.by_country += np.bincount(chunk.cohort.market, minlength=len(markets.MARKETS))
        self.planted += chunk.book.planted
        self.sentiment += chunk.feedback.sentiment

    def manifest(
        self,
        *,
        seed: int,
        fmt: str,
        start: date,
        end: date,
        chunk_customers: int,
        files: dict[str, str],
        counts: dict[str, int],
        products: catalog.Catalog,
    ) -> Manifest:
        """Return the manifest of the run."""
        top = np.sort(self.revenue)[::-1][: int(np.ceil(0.2 * self.customers))]
        total = float(self.revenue.sum())
        return Manifest(
            seed=seed,
            fmt=fmt,
            start=start,
            end=end,
            customers=self.customers,
            chunk_customers=chunk_customers,
            files=files,
            counts=counts,
            orders=self.orders,
            customers_by_country={m.country: int(c) for m, c in zip(markets.MARKETS, self.by_country, strict=True)},
            price_currency="USD",
            fx={m.currency: m.fx for m in markets.MARKETS},
            churn_share=round(self.churned / self.customers, 6),
            churned_customers=self.churned,
            top20_revenue_share=round(float(top.sum()) / total, 6) if total else 0.0,
            planted_pairs=[self._pair(products, k) for k in range(len(products.planted))],
            category_pairs=[
                CategoryPair(antecedent=p.antecedent, consequent=p.consequent, rate=p.rate)
                for p in assortment.CATEGORY_PAIRS
            ],
            feedback_sentiment={
                language: {s: int(self.sentiment[i, j]) for j, s in enumerate(texts.SENTIMENTS)}
                for i, language in enumerate(texts.LANGUAGES)
            },
        )

    def _pair(self, products: catalog.Catalog, k: int) -> PlantedPair:
        """Return planted pair k with the counts measured over all chunks."""
        planted = products.planted[k]
        with_a, with_b, both = (int(x) for x in self.planted[k])
        return PlantedPair(
            antecedent_sku=products.sku[planted.antecedent].as_py(),
            consequent_sku=products.sku[planted.consequent].as_py(),
            antecedent_name=products.name[planted.antecedent].as_py(),
            consequent_name=products.name[planted.consequent].as_py(),
            confidence=planted.rule.confidence,
            antecedent_orders=with_a,
            consequent_orders=with_b,
            both_orders=both,
            measured_confidence=round(both / with_a, 6) if with_a else 0.0,
            measured_lift=round(both * self.orders / (with_a * with_b), 6) if with_a and with_b else 0.0,
        )


def _check(*, customers: int, seed: int, start: date, end: date, chunk_customers: int, fmt: str) -> None:
    """Raise ValueError naming the first invalid argument."""
    if customers < 1:
        raise ValueError(f"customers must be at least 1, got {customers}")
    if chunk_customers < 1:
        raise ValueError(f"chunk_customers must be at least 1, got {chunk_customers}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}, got {fmt!r}")
