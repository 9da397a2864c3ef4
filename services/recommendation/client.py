"""Typed HTTP client of the recommendation service, for other services, the gateway and the demo loader."""

from __future__ import annotations

import time
from typing import Any

from rapport.http import ServiceClient

TERMINAL = ("succeeded", "failed", "cancelled")


class RecommendationClient:
    def __init__(self, client: ServiceClient) -> None:
        self.http = client

    def train(self, *, as_of: str | None = None, params: dict[str, Any] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"params": params or {}} | ({"as_of": as_of} if as_of else {})
        return dict(self.http.json("POST", "/v1/runs", json=body))

    def models(self, *, limit: int = 20) -> list[dict[str, Any]]:
        return list(self.http.json("GET", "/v1/models", params={"limit": limit}))

    def wait(self, model_id: str, *, poll: float = 0.5) -> dict[str, Any]:
        while True:
            model = dict(self.http.json("GET", f"/v1/models/{model_id}"))
            if model["status"] in TERMINAL:
                return model
            time.sleep(poll)

    def recommendations(self, customer_id: str, *, k: int = 10) -> dict[str, Any]:
        return dict(self.http.json("GET", f"/v1/customers/{customer_id}/recommendations", params={"k": k}))
