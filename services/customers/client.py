"""Typed HTTP client of the customers service, for other services, the CLI and the demo loader."""

from __future__ import annotations

from typing import Any

from rapport.http import ServiceClient

from .schemas import BatchResult


class CustomersError(RuntimeError):
    """The customers service answered with an error (the problem document's detail is the message)."""


class CustomersClient:
    def __init__(self, client: ServiceClient) -> None:
        self.http = client

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            detail = response.json().get("detail") if response.content else response.reason_phrase
            raise CustomersError(f"{method} {path}: {response.status_code} {detail}")
        return response.json()

    def count(self, filter_: dict[str, Any] | None = None) -> int:
        return int(self._json("POST", "/v1/customers:count", json={"filter": filter_ or {"all": []}})["count"])

    def batch_upsert(
        self, kind: str, records: list[dict[str, Any]], *, idempotency_key: str | None = None
    ) -> BatchResult:
        """Upsert `records` of `kind` (customers, orders, products); returns the per-record results."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return BatchResult.model_validate(
            self._json("POST", f"/v1/{kind}:batchUpsert", json={"records": records}, headers=headers)
        )
