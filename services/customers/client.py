"""Typed HTTP client of the customers service, for other services, the CLI and the demo loader."""

from __future__ import annotations

from typing import Any

from rapport.http import ServiceClient, ServiceError

from .schemas import BatchResult

# Errors are rapport.http.ServiceError (the problem document's detail is the message).
CustomersError = ServiceError


class CustomersClient:
    def __init__(self, client: ServiceClient) -> None:
        self.http = client

    def count(self, filter_: dict[str, Any] | None = None) -> int:
        return int(self.http.json("POST", "/v1/customers:count", json={"filter": filter_ or {"all": []}})["count"])

    def batch_upsert(
        self, kind: str, records: list[dict[str, Any]], *, idempotency_key: str | None = None
    ) -> BatchResult:
        """Upsert `records` of `kind` (customers, orders, products); returns the per-record results."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return BatchResult.model_validate(
            self.http.json("POST", f"/v1/{kind}:batchUpsert", json={"records": records}, headers=headers)
        )
