"""Real data for the recommendation models: the Complete Journey (fetched once into the shared data-set cache)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from rapport import datasets
from services.recommendation import evaluation
from tests.conftest import REPO


@pytest.fixture(scope="session")
def data_dir() -> Path:
    dest = Path(os.environ.get("RAPPORT_DATA_DIR") or REPO / "var" / "datasets")
    datasets.fetch(dest, names=["complete_journey"])
    return dest


@pytest.fixture(scope="session")
def journey_lines(data_dir: Path) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Complete Journey lines (households as customers, products as skus) and the first timestamp of week 46."""
    frame = datasets.load_complete_journey(
        data_dir, "transactions", columns=["household_id", "product_id", "week", "transaction_timestamp"]
    )
    at = frame["transaction_timestamp"].dt.tz_localize("UTC")
    lines = pd.DataFrame({"customer_id": frame["household_id"], "sku": frame["product_id"], "at": at})
    return lines, at[frame["week"] >= 46].min()


@pytest.fixture(scope="session")
def journey_split(journey_lines: tuple[pd.DataFrame, pd.Timestamp]) -> evaluation.Split:
    """Households x products, weeks 1-45 for training (30-day half-life), weeks 46-53 held out."""
    lines, cutoff = journey_lines
    return evaluation.time_split(lines, cutoff=cutoff, half_life_days=30)
