"""Typed HTTP client of the feedback service, for other services, the CLI and the demo loader."""

from __future__ import annotations

from typing import Any

from rapport.http import ServiceClient, ServiceError

# Errors are rapport.http.ServiceError (the problem document's detail is the message).
FeedbackError = ServiceError


class FeedbackClient:
    def __init__(self, client: ServiceClient) -> None:
        self.http = client

    def create(self, record: dict[str, Any]) -> dict[str, Any]:
        return dict(self.http.json("POST", "/v1/feedback", json=record))

    def batch(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """Write up to 10,000 records; returns counts, per-record results and the number of alerts raised."""
        return dict(self.http.json("POST", "/v1/feedback:batch", json={"records": records}))

    def list_feedback(self, **params: Any) -> list[dict[str, Any]]:
        return list(self.http.json("GET", "/v1/feedback", params=params)["items"])

    def stats(self, **params: Any) -> dict[str, Any]:
        return dict(self.http.json("GET", "/v1/stats", params=params))

    def customer_summary(self, customer_id: str) -> dict[str, Any]:
        return dict(self.http.json("GET", f"/v1/customers/{customer_id}/feedback/summary"))

    def alerts(self, *, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": limit} | ({"status": status} if status else {})
        return list(self.http.json("GET", "/v1/alerts", params=params)["items"])
