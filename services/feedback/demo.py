"""Demo loader of `rapport up`: the generated feedback, linked to the demo customers by their source ids.

The newest few days are written with today's dates, so the demo has fresh feedback and the real-time
alert rules have something to look at; the rest keeps its original dates (history raises no alert).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from rapport.http import ServiceClient

from .client import FeedbackClient

BATCH = 2000
FRESH_DAYS = 7  # the demo's last week of feedback, moved to end yesterday


def is_empty(client: ServiceClient) -> bool:
    return not FeedbackClient(client).list_feedback(limit=1)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Feedback file rows -> API records (NPS/CSAT may be missing, text may be empty)."""
    out = []
    for row in frame.itertuples(index=False):
        record: dict[str, Any] = {
            "source": row.source,
            "external_id": row.external_id,
            "channel": row.channel,
            "customer": {"source": row.source, "external_id": row.customer_external_id},
            "text": row.text if isinstance(row.text, str) else "",
            "language": row.language,
            "occurred_at": row.occurred_at,
        }
        for score in ("nps", "csat"):
            value = getattr(row, score)
            if pd.notna(value):
                record[score] = int(value)
        out.append(record)
    return out


def load(client: ServiceClient, folder: Path) -> str:
    """Write every demo feedback record in batches; returns a one-line summary."""
    frame = pd.read_csv(folder / "feedback.csv", dtype={"text": str, "external_id": str, "customer_external_id": str})
    end = pd.Timestamp(json.loads((folder / "manifest.json").read_text())["end"], tz="UTC")
    frame["occurred_at"] = freshen(pd.to_datetime(frame["occurred_at"], utc=True), end=end, now=datetime.now(UTC))
    feedback = FeedbackClient(client)
    counts = {"created": 0, "error": 0, "alerts": 0}
    for start in range(0, len(frame), BATCH):
        answer = feedback.batch(records(frame.iloc[start : start + BATCH]))
        counts["created"] += answer["counts"]["created"] + answer["counts"]["unchanged"]
        counts["error"] += answer["counts"]["error"]
        counts["alerts"] += answer["alerts"]
    last_month = {"from": (end - timedelta(days=29)).date().isoformat(), "to": end.date().isoformat()}
    nps = feedback.stats(interval="month", **last_month)["totals"]["nps"]
    return (
        f"{counts['created']:,} feedback records ({counts['error']} rejected), {counts['alerts']} alerts raised; "
        f"NPS of the data's last 30 days {nps if nps is not None else 'n/a'}"
    )


def freshen(occurred_at: pd.Series, *, end: pd.Timestamp, now: datetime) -> pd.Series:
    """Move the last FRESH_DAYS days of the data to end yesterday (whole days, so the hour stays and nothing
    lands in the future), and return ISO strings."""
    shift = pd.Timedelta(days=(pd.Timestamp(now).normalize() - end.normalize()).days - 1)
    recent = occurred_at > end.normalize() - pd.Timedelta(days=FRESH_DAYS - 1)
    moved = occurred_at.where(~recent | (shift <= pd.Timedelta(0)), occurred_at + shift)
    return moved.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
