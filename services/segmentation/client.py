"""Typed HTTP client of the segmentation service, for other services, the CLI and the demo loader."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rapport.http import ServiceClient, ServiceError

TERMINAL = ("succeeded", "failed", "cancelled")


# Errors are rapport.http.ServiceError (the problem document's detail is the message).
SegmentationError = ServiceError


class SegmentationClient:
    def __init__(self, client: ServiceClient) -> None:
        self.http = client

    def start_run(
        self, *, as_of: str | None = None, parts: list[str] | None = None, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"params": params or {}}
        if as_of is not None:
            body["as_of"] = as_of
        if parts:
            body["parts"] = parts
        return dict(self.http.json("POST", "/v1/runs", json=body, headers={"X-Rapport-Trigger": "cli"}))

    def get_run(self, run_id: str) -> dict[str, Any]:
        return dict(self.http.json("GET", f"/v1/runs/{run_id}"))

    def list_runs(self, *, limit: int = 20) -> list[dict[str, Any]]:
        return list(self.http.json("GET", "/v1/runs", params={"limit": limit})["items"])

    def wait(
        self, run_id: str, *, on_progress: Callable[[dict[str, Any]], None] | None = None, poll: float = 0.5
    ) -> dict[str, Any]:
        """Poll until the run ends; returns its final state."""
        while True:
            run = self.get_run(run_id)
            if on_progress is not None:
                on_progress(run)
            if run["status"] in TERMINAL:
                return run
            time.sleep(poll)

    def scores(self, customer_id: str) -> dict[str, Any]:
        return dict(self.http.json("GET", f"/v1/customers/{customer_id}/scores"))

    def lookup_values(self, customer_ids: list[str]) -> dict[str, Any]:
        """Segment, tier, churn risk and CLV of the given customers the last run scored."""
        return dict(self.http.json("POST", "/v1/scores:lookup", json={"customer_ids": customer_ids}))
