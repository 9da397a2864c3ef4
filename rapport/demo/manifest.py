"""The manifest written beside the generated files: how they were made (seed, format, date range),
what they hold (row counts) and the ground truth planted in them (co-purchase rules, churn,
revenue concentration, feedback sentiment) for tests and model evaluation to check against.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict

MANIFEST_NAME = "manifest.json"


class PlantedPair(BaseModel):
    """A planted product-level rule antecedent -> consequent, with the confidence it was planted at
    and the counts measured in the generated orders (an order counts once however many lines)."""

    model_config = ConfigDict(frozen=True)

    antecedent_sku: str
    consequent_sku: str
    antecedent_name: str
    consequent_name: str
    confidence: float
    antecedent_orders: int
    consequent_orders: int
    both_orders: int
    measured_confidence: float
    measured_lift: float


class CategoryPair(BaseModel):
    """A planted category-level habit: orders touching `antecedent` gain a `consequent` item at `rate`."""

    model_config = ConfigDict(frozen=True)

    antecedent: str
    consequent: str
    rate: float


class Manifest(BaseModel):
    """What a `generate` run wrote and the truth planted in it.

    `counts` are rows per table (orders: order lines); `orders` counts distinct orders. Catalogue
    prices are in `price_currency`; `fx` gives units of each order currency per unit of it.
    `churned_customers` stopped buying at a random day before `end`; `top20_revenue_share` is the
    share of revenue (paid and placed orders, in USD) held by the top 20% of customers.
    `feedback_sentiment[language][sentiment]` counts the sentiment the feedback texts were written with.
    """

    model_config = ConfigDict(frozen=True)

    version: int = 1
    seed: int
    fmt: str
    start: date
    end: date
    customers: int
    chunk_customers: int
    files: dict[str, str]
    counts: dict[str, int]
    orders: int
    customers_by_country: dict[str, int]
    price_currency: str
    fx: dict[str, float]
    churn_share: float
    churned_customers: int
    top20_revenue_share: float
    planted_pairs: list[PlantedPair]
    category_pairs: list[CategoryPair]
    feedback_sentiment: dict[str, dict[str, int]]

    def write(self, directory: Path) -> Path:
        """Write manifest.json into `directory` and return its path."""
        path = directory / MANIFEST_NAME
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        """Return the manifest in `directory`; raises FileNotFoundError or pydantic.ValidationError."""
        return cls.model_validate_json((directory / MANIFEST_NAME).read_text(encoding="utf-8"))
