"""Real data for the segmentation models: CDNOW (fetched once into the shared data-set cache)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from rapport import datasets
from tests.conftest import REPO


@pytest.fixture(scope="session")
def data_dir() -> Path:
    dest = Path(os.environ.get("RAPPORT_DATA_DIR") or REPO / "var" / "datasets")
    datasets.fetch(dest, names=["cdnow"])
    return dest


def as_orders(frame: pd.DataFrame) -> pd.DataFrame:
    """CDNOW purchase lines as orders: customer_id (str), placed_at (UTC day), status paid, amount."""
    return pd.DataFrame(
        {
            "customer_id": frame["customer_id"].astype(str),
            "placed_at": frame["date"].dt.tz_localize("UTC"),
            "status": "paid",
            "amount": frame["amount"],
        }
    )


@pytest.fixture(scope="session")
def cdnow_master(data_dir: Path) -> pd.DataFrame:
    return as_orders(datasets.load_cdnow(data_dir))


@pytest.fixture(scope="session")
def cdnow_sample(data_dir: Path) -> pd.DataFrame:
    return as_orders(datasets.load_cdnow(data_dir, sample=True))
