"""Customer value from the segmentation service, for the alert rules and the tier/segment statistics.

Asked once per write batch for every customer in it, cached for a minute (scores change once per
segmentation run), with a short timeout: a write never waits long on segmentation. While segmentation
is down the lookup answers "unknown" at once for `retry_after` seconds instead of timing out per batch.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

import httpx

from rapport.auth import SERVICE_TOKEN_HEADER

from .alerts import UNKNOWN_VALUE, CustomerValue

log = logging.getLogger("rapport.feedback.values")
NOT_SCORED = CustomerValue(known=True)  # segmentation answered; its last run did not score the customer


class ValueLookup:
    def __init__(
        self, base_url: str, token: str, *, timeout: float = 0.5, ttl: float = 60.0, retry_after: float = 10.0
    ) -> None:
        self._client = httpx.Client(base_url=base_url, headers={SERVICE_TOKEN_HEADER: token}, timeout=timeout)
        self.ttl, self.retry_after = ttl, retry_after
        self._cache: dict[str, tuple[float, CustomerValue]] = {}
        self._down_until = 0.0
        self._lock = threading.Lock()

    def close(self) -> None:
        self._client.close()

    def values(self, customer_ids: Sequence[str]) -> dict[str, CustomerValue]:
        """Every id's value; UNKNOWN_VALUE for all of them when segmentation cannot be asked."""
        now = time.monotonic()
        with self._lock:
            cached = {cid: hit[1] for cid in customer_ids if (hit := self._cache.get(cid)) and hit[0] > now}
            down = now < self._down_until
        missing = [cid for cid in dict.fromkeys(customer_ids) if cid not in cached]
        if not missing:
            return cached
        if down:
            return cached | dict.fromkeys(missing, UNKNOWN_VALUE)
        fetched = self._fetch(missing)
        if fetched is None:
            with self._lock:
                self._down_until = time.monotonic() + self.retry_after
            return cached | dict.fromkeys(missing, UNKNOWN_VALUE)
        with self._lock:
            expires = time.monotonic() + self.ttl
            if len(self._cache) > 200_000:
                self._cache.clear()  # bounded memory; a cold cache only costs one lookup per customer
            self._cache.update({cid: (expires, value) for cid, value in fetched.items()})
        return cached | fetched

    def _fetch(self, customer_ids: list[str]) -> dict[str, CustomerValue] | None:
        found: dict[str, CustomerValue] = {}
        try:
            for start in range(0, len(customer_ids), 10_000):
                chunk = customer_ids[start : start + 10_000]
                answer = self._client.post("/v1/scores:lookup", json={"customer_ids": chunk})
                if answer.status_code == 404:  # no segmentation run yet: nobody has a known value
                    return None
                answer.raise_for_status()
                for row in answer.json()["customers"]:
                    found[row["customer_id"]] = CustomerValue(
                        known=True, tier=row["tier"], segment=row["segment"], churn_risk=row["churn_risk"]
                    )
        except (httpx.HTTPError, ValueError, KeyError) as error:
            log.warning("segmentation cannot be asked for customer value: %s", error)
            return None
        return {cid: found.get(cid, NOT_SCORED) for cid in customer_ids}
