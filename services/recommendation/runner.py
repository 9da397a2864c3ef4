"""Training runs: read the order lines and catalogue as of the cut-off, train, store the model version and
its rules in one transaction that marks it succeeded, then swap it into this replica's memory."""

from __future__ import annotations

import tempfile
import time
import uuid
from datetime import UTC
from pathlib import Path

import httpx
import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from rapport import datalake, jobs
from rapport.auth import SERVICE_TOKEN_HEADER
from rapport.config import Service, Settings
from rapport.db import transaction

from . import serving, store, train
from .models import ModelRun

LINE_COLUMNS = ["order_id", "customer_id", "placed_at", "status", "sku", "quantity"]


def read_lines(folder: Path, *, as_of: pd.Timestamp) -> pd.DataFrame:
    table = datalake.read_table(
        folder, "orders", columns=LINE_COLUMNS, before=as_of.to_pydatetime(), time_column="placed_at"
    )
    return table.to_pandas()


def read_products(folder: Path | None, base_url: str, token: str) -> pd.DataFrame:
    """The catalogue: `products.parquet` of the folder when present, else the customers service's pages."""
    if folder is not None and (table := datalake.read_table_if_present(folder, "products")) is not None:
        return table.select([c for c in ("sku", "name", "category") if c in table.column_names]).to_pandas()
    rows: list[dict[str, object]] = []
    cursor: str | None = None
    with httpx.Client(base_url=base_url, headers={SERVICE_TOKEN_HEADER: token}, timeout=30) as client:
        while True:
            params: dict[str, str | int] = {"limit": 1000} | ({"cursor": cursor} if cursor else {})
            try:
                page = client.get("/v1/products", params=params)
                page.raise_for_status()
            except httpx.HTTPError as error:
                raise datalake.SourceError(f"customers products: {error}") from error
            body = page.json()
            rows += [{"sku": p["sku"], "name": p.get("name"), "category": p.get("category")} for p in body["items"]]
            cursor = body.get("next_cursor")
            if not cursor:
                break
    return pd.DataFrame(rows, columns=["sku", "name", "category"])


def read_segments(base_url: str, token: str) -> pd.Series | None:
    """customer id -> RFM segment key from the segmentation service's last run; None when it cannot be asked
    (recommendations then fall back to global popularity for cold starts)."""
    try:
        with httpx.Client(base_url=base_url, headers={SERVICE_TOKEN_HEADER: token}, timeout=30) as client:
            listed = client.get("/v1/segments")
            if listed.status_code != 200:
                return None
            keys = [s["key"] for s in listed.json() if s["kind"] == "rfm"]
            parts = []
            for key in keys:
                members = client.get(f"/v1/segments/{key}/members", params={"format": "csv"})
                members.raise_for_status()
                ids = [line.split(",", 1)[0] for line in members.text.splitlines()[1:] if line]
                parts.append(pd.Series(key, index=pd.Index(ids, dtype=str)))
    except httpx.HTTPError:
        return None
    return pd.concat(parts) if parts else None


class Trainer:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session], holder: serving.ModelHolder) -> None:
        self.settings, self.sessions, self.holder = settings, sessions, holder
        self.worker = jobs.RunWorker(
            "recommendation-runs", ModelRun, sessions, self.execute, expected_errors=(ValueError, datalake.SourceError)
        )

    def execute(self, run_id: uuid.UUID, progress: jobs.Progress) -> None:
        started = time.perf_counter()
        with self.sessions() as session:
            run = jobs.get_or_raise(session, ModelRun, run_id)
            as_of = pd.Timestamp(run.as_of if run.as_of.tzinfo else run.as_of.replace(tzinfo=UTC))
            params, folder = train.TrainParams.model_validate(run.params), run.source_folder
        progress("loading", 0.05)
        base_url = self.settings.url_for(Service.customers)
        token = self.settings.service_token.get_secret_value()
        if folder is not None:
            lines = read_lines(Path(folder), as_of=as_of)
            products = read_products(Path(folder), base_url, token)
        else:
            with tempfile.TemporaryDirectory(prefix="rapport-recommendation-") as scratch:
                datalake.download_exports(base_url, token, ["orders"], Path(scratch), until=as_of.to_pydatetime())
                lines = read_lines(Path(scratch), as_of=as_of)
            products = read_products(None, base_url, token)
        segments = read_segments(self.settings.url_for(Service.segmentation), token)
        trained = train.train(
            lines, products, as_of=as_of.to_pydatetime(), params=params, progress=progress, segments=segments
        )
        progress("storing", 0.9)
        artifact = serving.dump(trained.model)
        with transaction(self.sessions) as session:
            run = jobs.get_or_raise(session, ModelRun, run_id)
            if run.cancel_requested:
                raise jobs.Cancelled
            store.save_rules(session, run_id, trained.rules)
            run.artifact, run.artifact_bytes = artifact, len(artifact)
            run.customers, run.items = len(trained.model.customers), len(trained.model.items)
            run.order_lines = len(lines)
            run.metrics = trained.metrics | {"train_seconds": round(time.perf_counter() - started, 2)}
            jobs.finish(run, jobs.RunStatus.succeeded)
        with transaction(self.sessions) as session:
            store.prune_old_models(session)
        self.holder.swap(run_id, artifact)
