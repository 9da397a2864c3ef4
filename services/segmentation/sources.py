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

import httpx
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from rapport.auth import SERVICE_TOKEN_HEADER

ORDER_COLUMNS = ["order_id", "customer_id", "placed_at", "status", "line_total_base"]
PROFILE_COLUMNS = ["id", "city", "country", "gender", "birth_date", "income_band", "education", "signed_up_at"]
INTERACTION_COLUMNS = ["customer_id", "occurred_at"]


class SourceError(RuntimeError):
    """The data could not be read (the customers service is down, a file is missing or malformed)."""


@dataclass
class Inputs:
    orders: pd.DataFrame
    customers: pd.DataFrame
    interactions: pd.DataFrame
    order_lines: int
    lines_without_rate: int


def orders_from_lines(lines: pa.Table, *, as_of: pd.Timestamp) -> tuple[pd.DataFrame, int]:
    """One row per order placed before `as_of`, amount = sum of its lines in the base currency; and the number
    of lines left out because their currency has no exchange rate (no base amount)."""
    lines = lines.filter(
        pc.less(lines["placed_at"], pa.scalar(as_of.to_pydatetime(), lines.schema.field("placed_at").type))
    )
    missing = int(pc.sum(pc.is_null(lines["line_total_base"])).as_py() or 0)
    lines = lines.filter(pc.is_valid(lines["line_total_base"]))
    amount = pc.cast(lines["line_total_base"], pa.float64())
    table = pa.table(
        {"order_id": lines["order_id"], "customer_id": lines["customer_id"], "placed_at": lines["placed_at"],
         "status": lines["status"], "amount": amount}
    )  # fmt: skip
    # An order's lines repeat its customer, time and status, so "min" picks them (and runs multi-threaded).
    grouped = table.group_by("order_id").aggregate(
        [("customer_id", "min"), ("placed_at", "min"), ("status", "min"), ("amount", "sum")]
    )
    frame = grouped.rename_columns(["order_id", "customer_id", "placed_at", "status", "amount"]).to_pandas()
    return frame[["customer_id", "placed_at", "status", "amount"]], missing


def _profiles(table: pa.Table) -> pd.DataFrame:
    frame = table.select([c for c in PROFILE_COLUMNS if c in table.column_names]).to_pandas()
    return frame.rename(columns={"id": "customer_id"}).set_index("customer_id")


def _interactions(table: pa.Table | None) -> pd.DataFrame:
    if table is None:
        return pd.DataFrame(
            {"customer_id": pd.Series(dtype=str), "occurred_at": pd.Series(dtype="datetime64[us, UTC]")}
        )
    return table.select(INTERACTION_COLUMNS).to_pandas()


def read_folder(folder: Path, *, as_of: pd.Timestamp) -> Inputs:
    """Inputs from a folder of Parquet files in the export's columns. Raises SourceError."""
    try:
        lines = pq.read_table(folder / "orders.parquet", columns=ORDER_COLUMNS)
        customers = pq.read_table(folder / "customers.parquet")
        interactions_path = folder / "interactions.parquet"
        interactions = (
            pq.read_table(interactions_path, columns=INTERACTION_COLUMNS) if interactions_path.exists() else None
        )
    except (OSError, pa.ArrowInvalid, KeyError) as error:
        raise SourceError(f"cannot read the Parquet folder {folder}: {error}") from error
    if interactions is not None:
        interactions = interactions.filter(
            pc.less(
                interactions["occurred_at"],
                pa.scalar(as_of.to_pydatetime(), interactions.schema.field("occurred_at").type),
            )
        )
    orders, missing = orders_from_lines(lines, as_of=as_of)
    return Inputs(orders, _profiles(customers), _interactions(interactions), lines.num_rows, missing)


def read_exports(base_url: str, token: str, *, as_of: pd.Timestamp, timeout: float = 600.0) -> Inputs:
    """Inputs from the customers service's exports as of `as_of`. Raises SourceError."""
    with (
        tempfile.TemporaryDirectory(prefix="rapport-segmentation-") as scratch,
        httpx.Client(base_url=base_url, headers={SERVICE_TOKEN_HEADER: token}, timeout=timeout) as client,
    ):
        folder = Path(scratch)
        for entity in ("orders", "customers", "interactions"):
            _download(client, entity, folder / f"{entity}.parquet", as_of=as_of)
        return read_folder(folder, as_of=as_of)


def _download(client: httpx.Client, entity: str, target: Path, *, as_of: pd.Timestamp) -> None:
    params = {"format": "parquet", "until": as_of.isoformat()}
    try:
        with client.stream("GET", f"/v1/exports/{entity}", params=params) as response:
            if response.status_code != 200:
                response.read()
                raise SourceError(f"customers export of {entity}: {response.status_code} {response.text[:300]}")
            with target.open("wb") as out:
                for chunk in response.iter_bytes(1 << 20):
                    out.write(chunk)
    except httpx.HTTPError as error:
        raise SourceError(f"customers export of {entity} failed: {error}") from error
