"""Reading the customers service's exports as Parquet, from its HTTP API or from a data-lake folder.

Analytics services (segmentation, recommendation) train on the customers export as of a cut-off. Both
ways give Parquet files in the export's columns (docs/api.md, "Exports"): downloaded by streaming to a
temporary folder, so a service never holds the HTTP body and the table at once, or read from a folder
that a nightly export job filled (the path for very large bases: the export runs at about 100k lines/s).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from rapport.auth import SERVICE_TOKEN_HEADER


class SourceError(RuntimeError):
    """The data could not be read (the customers service is down, a file is missing or malformed)."""


def download_exports(
    base_url: str, token: str, entities: Iterable[str], folder: Path, *, until: datetime, timeout: float = 600.0
) -> None:
    """Stream `GET /v1/exports/{entity}?format=parquet&until=` of each entity to `folder/<entity>.parquet`.
    Raises SourceError."""
    with httpx.Client(base_url=base_url, headers={SERVICE_TOKEN_HEADER: token}, timeout=timeout) as client:
        for entity in entities:
            params = {"format": "parquet", "until": until.isoformat()}
            try:
                with client.stream("GET", f"/v1/exports/{entity}", params=params) as response:
                    if response.status_code != 200:
                        response.read()
                        raise SourceError(f"customers export of {entity}: {response.status_code} {response.text[:300]}")
                    with (folder / f"{entity}.parquet").open("wb") as out:
                        for chunk in response.iter_bytes(1 << 20):
                            out.write(chunk)
            except httpx.HTTPError as error:
                raise SourceError(f"customers export of {entity} failed: {error}") from error


def read_table(
    folder: Path,
    entity: str,
    *,
    columns: Sequence[str] | None = None,
    before: datetime | None = None,
    time_column: str | None = None,
) -> pa.Table:
    """`folder/<entity>.parquet` (only `columns`), keeping rows whose `time_column` is before `before`.
    Raises SourceError for a missing or malformed file."""
    path = folder / f"{entity}.parquet"
    try:
        table = pq.read_table(path, columns=list(columns) if columns is not None else None)
    except (OSError, pa.ArrowInvalid, KeyError) as error:
        raise SourceError(f"cannot read {path}: {error}") from error
    if before is not None and time_column is not None:
        cutoff = pa.scalar(before, table.schema.field(time_column).type)
        table = table.filter(pc.less(table[time_column], cutoff))
    return table


def read_table_if_present(folder: Path, entity: str, **options: object) -> pa.Table | None:
    """`read_table`, or None when the folder has no such file."""
    if not (folder / f"{entity}.parquet").exists():
        return None
    return read_table(folder, entity, **options)  # type: ignore[arg-type]
