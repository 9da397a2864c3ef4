"""HTTP clients for service-to-service calls: timeouts, retries on idempotent calls, request-id and
service-token propagation. Sync and async flavours share one retry policy."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from rapport.auth import SERVICE_TOKEN_HEADER
from rapport.logs import request_id_var

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({502, 503, 504})

log = logging.getLogger("rapport.http")


class ServiceError(RuntimeError):
    """A service answered with an error status; the message carries its problem document's detail."""

    def __init__(self, method: str, path: str, response: httpx.Response) -> None:
        detail = response.reason_phrase
        if response.content:
            try:
                detail = response.json().get("detail", detail)
            except ValueError:
                detail = response.text[:200]
        super().__init__(f"{method} {path}: {response.status_code} {detail}")
        self.status_code = response.status_code


@dataclass(frozen=True)
class RetryPolicy:
    """Retry idempotent calls on connection errors and 502/503/504, with exponential backoff.

    The clients' loops only send and wait: `pause` decides, so sync and async retry identically."""

    retries: int = 2
    backoff_seconds: float = 0.05

    def should_retry(self, method: str, attempt: int, *, status: int | None = None, error: bool = False) -> bool:
        if attempt >= self.retries or method.upper() not in IDEMPOTENT_METHODS:
            return False
        return error or status in RETRY_STATUSES

    def delay(self, attempt: int) -> float:
        return float(self.backoff_seconds * (2**attempt))

    def pause(self, method: str, path: str, attempt: int, *, status: int | None = None) -> float | None:
        """Seconds to wait before retrying after `attempt` (0-based) ended with `status`, or with a
        connection error when `status` is None; None when that outcome is final."""
        if not self.should_retry(method, attempt, status=status, error=status is None):
            return None
        log.info("retrying %s %s", method, path, extra={"attempt": attempt + 1, "status": status})
        return self.delay(attempt)


def _headers(token: str | None, extra: Mapping[str, str] | None) -> dict[str, str]:
    headers = dict(extra or {})
    if token:
        headers[SERVICE_TOKEN_HEADER] = token
    request_id = request_id_var.get()
    if request_id:
        headers.setdefault("X-Request-ID", request_id)
    return headers


class ServiceClient:
    """Blocking client for one service base URL."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 5.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.token = token
        self.retry = retry or RetryPolicy()
        self._client = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)

    def request(
        self, method: str, path: str, *, headers: Mapping[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Send a request; raises httpx.TransportError when the last attempt cannot connect."""
        headers, attempt = _headers(self.token, headers), 0
        while True:
            try:
                response = self._client.request(method, path, headers=headers, **kwargs)
            except httpx.TransportError:
                if (pause := self.retry.pause(method, path, attempt)) is None:
                    raise
            else:
                if (pause := self.retry.pause(method, path, attempt, status=response.status_code)) is None:
                    return response
                response.close()
            time.sleep(pause)
            attempt += 1

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """The decoded JSON answer of a request; raises ServiceError for a 4xx/5xx answer."""
        response = self.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise ServiceError(method, path, response)
        return response.json()

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ServiceClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class AsyncServiceClient:
    """Non-blocking client for one service base URL (use from async handlers)."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 5.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.token = token
        self.retry = retry or RetryPolicy()
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)

    async def request(
        self, method: str, path: str, *, headers: Mapping[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Send a request; raises httpx.TransportError when the last attempt cannot connect."""
        headers, attempt = _headers(self.token, headers), 0
        while True:
            try:
                response = await self._client.request(method, path, headers=headers, **kwargs)
            except httpx.TransportError:
                if (pause := self.retry.pause(method, path, attempt)) is None:
                    raise
            else:
                if (pause := self.retry.pause(method, path, attempt, status=response.status_code)) is None:
                    return response
                await response.aclose()
            await asyncio.sleep(pause)
            attempt += 1

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)

    async def aclose(self) -> None:
        await self._client.aclose()
