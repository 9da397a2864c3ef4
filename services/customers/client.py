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

    def resolve_identities(self, refs: list[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
        """(source, external id) -> the live customer's id, None when unknown (at most 10,000 per call)."""
        body = {"identities": [{"source": source, "external_id": external_id} for source, external_id in refs]}
        answer = self.http.json("POST", "/v1/identities:resolve", json=body)
        return {(row["source"], row["external_id"]): row["customer_id"] for row in answer["identities"]}
