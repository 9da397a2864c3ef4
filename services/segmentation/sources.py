"""Where a run reads its data: the customers service's exports as of the run's cut-off, or Parquet files.

Both give the same three frames: orders (one row per order: customer_id, placed_at, status, amount in the
base currency, summed from its lines), customers (profile snapshot, index customer_id) and interactions
(customer_id, occurred_at). The export is streamed to a temporary Parquet file and read column-wise, so
the service never holds the HTTP body and the frame at once. A Parquet folder (a data lake holding
`orders.parquet`, `customers.parquet` and optionally `interactions.parquet` in the export's columns) is the
path for very large bases: reading the export over HTTP runs at about 100k lines/s.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rapport import datalake

ORDER_COLUMNS = ["order_id", "customer_id", "placed_at", "status", "line_total_base"]
PROFILE_COLUMNS = ["id", "city", "country", "gender", "birth_date", "income_band", "education", "signed_up_at"]
INTERACTION_COLUMNS = ["customer_id", "occurred_at"]


SourceError = datalake.SourceError


@dataclass
class Inputs:
    orders: pd.DataFrame
    customers: pd.DataFrame
    interactions: pd.DataFrame
    order_lines: int
    lines_without_rate: int


def orders_from_lines(lines: pa.Table, *, as_of: pd.Timestamp) -> tuple[pd.DataFrame, int]:
    """One row per order placed before `as_of`, amount = sum of its lines in the base currency; and the number
    of lines left out because their currency has no exchange rate (no base amount).

    Vectorised over the sorted order ids (the export's order; other files are sorted first): an order's
    lines are one run, its amount one `np.add.reduceat`, its customer, time and status those of its first
    line. Ids stay Arrow-backed strings (pandas' `str` dtype), never millions of Python objects.
    """
    cutoff = pa.scalar(as_of.to_pydatetime(), lines.schema.field("placed_at").type)
    lines = lines.filter(pc.less(lines["placed_at"], cutoff))
    missing = int(pc.sum(pc.is_null(lines["line_total_base"])).as_py() or 0)
    lines = lines.filter(pc.is_valid(lines["line_total_base"]))
    order_ids = lines["order_id"].to_numpy()
    if len(order_ids) > 1 and not bool((order_ids[1:] >= order_ids[:-1]).all()):
        lines = lines.sort_by("order_id")
        order_ids = lines["order_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, order_ids[1:] != order_ids[:-1]]) if len(order_ids) else np.array([], int)
    amounts = pc.cast(lines["line_total_base"], pa.float64()).to_numpy()
    first = lines.select(["customer_id", "placed_at", "status"]).take(pa.array(starts))
    frame = pd.DataFrame(
        {
            "customer_id": first["customer_id"].to_pandas(),
            "placed_at": first["placed_at"].to_pandas(),
            "status": pc.dictionary_encode(first["status"]).to_pandas(),
            "amount": np.add.reduceat(amounts, starts) if len(starts) else np.array([], float),
        }
    )
    return frame, missing


def _profiles(table: pa.Table) -> pd.DataFrame:
    frame = table.select([c for c in PROFILE_COLUMNS if c in table.column_names]).to_pandas()
    return frame.rename(columns={"id": "customer_id"}).set_index("customer_id")


def _interactions(table: pa.Table | None) -> pd.DataFrame:
    if table is None:
        return pd.DataFrame(
            {"customer_id": pd.Series(dtype=str), "occurred_at": pd.Series(dtype="datetime64[us, UTC]")}
        )
    return pd.DataFrame(
        {
            "customer_id": table["customer_id"].to_pandas(),
            "occurred_at": table["occurred_at"].to_pandas(),
        }
    )


def read_folder(folder: Path, *, as_of: pd.Timestamp, interactions: bool = True) -> Inputs:
    """Inputs from a folder of Parquet files in the export's columns (interactions only when asked: only
    churn uses them). Raises SourceError."""
    cutoff = as_of.to_pydatetime()
    lines = datalake.read_table(folder, "orders", columns=ORDER_COLUMNS)
    customers = datalake.read_table(folder, "customers")
    events = (
        datalake.read_table_if_present(
            folder, "interactions", columns=INTERACTION_COLUMNS, before=cutoff, time_column="occurred_at"
        )
        if interactions
        else None
    )
    orders, missing = orders_from_lines(lines, as_of=as_of)
    return Inputs(orders, _profiles(customers), _interactions(events), lines.num_rows, missing)


def read_exports(
    base_url: str, token: str, *, as_of: pd.Timestamp, interactions: bool = True, timeout: float = 600.0
) -> Inputs:
    """Inputs from the customers service's exports as of `as_of`. Raises SourceError."""
    entities = ("orders", "customers", "interactions") if interactions else ("orders", "customers")
    with tempfile.TemporaryDirectory(prefix="rapport-segmentation-") as scratch:
        folder = Path(scratch)
        datalake.download_exports(base_url, token, entities, folder, until=as_of.to_pydatetime(), timeout=timeout)
        return read_folder(folder, as_of=as_of, interactions=interactions)
