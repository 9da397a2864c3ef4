"""Linking feedback to customers known by a source system's id: one call to the customers service per batch."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from rapport.auth import SERVICE_TOKEN_HEADER
from rapport.errors import ServiceUnavailable


class IdentityResolver:
    def __init__(self, base_url: str, token: str, *, timeout: float = 5.0) -> None:
        self._client = httpx.Client(base_url=base_url, headers={SERVICE_TOKEN_HEADER: token}, timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def resolve(self, refs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
        """(source, external_id) -> customer id, None when unknown. Raises ServiceUnavailable (503) when the
        customers service cannot answer: the feedback cannot be linked, so it is not half-written."""
        unique = list(dict.fromkeys(refs))
        found: dict[tuple[str, str], str | None] = {}
        try:
            for start in range(0, len(unique), 10_000):
                chunk = unique[start : start + 10_000]
                body = {"identities": [{"source": s, "external_id": e} for s, e in chunk]}
                answer = self._client.post("/v1/identities:resolve", json=body)
                answer.raise_for_status()
                found.update({(r["source"], r["external_id"]): r["customer_id"] for r in answer.json()["identities"]})
        except (httpx.HTTPError, ValueError, KeyError) as error:
            raise ServiceUnavailable(
                f"Customer identities cannot be resolved: the customers service does not answer ({error}).",
                headers={"Retry-After": "5"},
            ) from error
        return found
