"""Demo loader of `rapport up`: one segmentation run over the demo customers, as of the data's end."""

from __future__ import annotations

import json
from pathlib import Path

from rapport.http import ServiceClient

from .client import SegmentationClient


def is_empty(client: ServiceClient) -> bool:
    return not SegmentationClient(client).list_runs(limit=1)


def load(client: ServiceClient, folder: Path) -> str:
    """Start a run as of the day after the demo data ends and wait for it; returns a one-line summary."""
    manifest = json.loads((folder / "manifest.json").read_text())
    as_of = f"{manifest['end']}T23:59:59Z"
    segmentation = SegmentationClient(client)
    run = segmentation.wait(segmentation.start_run(as_of=as_of)["id"])
    if run["status"] != "succeeded":
        return f"segmentation run {run['status']}: {run['error']}"
    metrics = run["metrics"]
    return (
        f"run {run['id'][:8]} as of {manifest['end']}: {run['customers']:,} customers scored in "
        f"{run['duration_seconds']:.1f} s, {metrics['clusters']['k']} clusters, "
        f"churn ROC AUC {metrics['churn']['roc_auc']:.2f}"
    )
