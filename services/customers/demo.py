"""Loads the generated demo data set into the customers service through its public batch API."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from rapport.http import ServiceClient

from .client import CustomersClient
from .schemas import RecordStatus

BATCH = 1000


def is_empty(client: ServiceClient) -> bool:
    return CustomersClient(client).count() == 0


def _records(frame: pd.DataFrame) -> Iterator[list[dict[str, Any]]]:
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for start in range(0, len(rows), BATCH):
        yield [{str(key): value for key, value in row.items()} for row in rows[start : start + BATCH]]


def _orders(lines: pd.DataFrame) -> list[dict[str, Any]]:
    """Order lines (one row per item) -> order records with their items."""
    orders: list[dict[str, Any]] = []
    for (source, external_id), group in lines.groupby(["source", "order_external_id"], sort=False):
        first = group.iloc[0]
        orders.append(
            {
                "source": source,
                "external_id": external_id,
                "customer": {"source": source, "external_id": first["customer_external_id"]},
                "placed_at": first["placed_at"],
                "channel": first["channel"],
                "currency": first["currency"],
                "status": first["status"],
                "items": [
                    {"sku": sku, "quantity": int(quantity), "unit_price": str(price)}
                    for sku, quantity, price in zip(group["sku"], group["quantity"], group["unit_price"], strict=True)
                ],
            }
        )
    return orders


def load(client: ServiceClient, folder: Path) -> str:
    """Push products, customers and orders of the demo CSV files; returns a one-line summary."""
    customers = CustomersClient(client)
    counts = {"products": 0, "customers": 0, "orders": 0, "errors": 0}
    for batch in _records(pd.read_csv(folder / "products.csv", dtype=str)):
        result = customers.batch_upsert("products", batch)
        counts["products"] += result.counts[RecordStatus.created]
    people = pd.read_csv(folder / "customers.csv", dtype=str).rename(columns={"created_at": "signed_up_at"})
    for batch in _records(people):
        result = customers.batch_upsert("customers", batch)
        counts["customers"] += result.counts[RecordStatus.created] + result.counts[RecordStatus.updated]
        counts["errors"] += result.counts[RecordStatus.error]
    orders = _orders(pd.read_csv(folder / "orders.csv", dtype=str))
    for start in range(0, len(orders), BATCH):
        result = customers.batch_upsert("orders", orders[start : start + BATCH])
        counts["orders"] += result.counts[RecordStatus.created] + result.counts[RecordStatus.updated]
        counts["errors"] += result.counts[RecordStatus.error]
    batches = math.ceil(len(orders) / BATCH)
    return (
        f"{counts['customers']:,} customers, {counts['products']:,} products, {counts['orders']:,} orders "
        f"in {batches} order batches ({counts['errors']:,} records rejected by cleaning)"
    )
