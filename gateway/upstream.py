"""Calls from the gateway to the services: one pooled aiohttp session, a timeout per service, retries of
idempotent methods on connection errors, a circuit breaker per service and latency metrics.

aiohttp rather than httpx: measured on this machine, a proxied GET through httpx.AsyncClient ran at about
a quarter of aiohttp's requests/s, most of the gateway's CPU going to httpx's pool bookkeeping
(DESIGN.md; bench/gateway.py measures both clients again in the same run)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson
from multidict import CIMultiDict
from prometheus_client import CollectorRegistry, Gauge, Histogram
from yarl import URL

from rapport.auth import SERVICE_TOKEN_HEADER
from rapport.config import Service, Settings
from rapport.errors import ProblemError
from rapport.logs import request_id_var

from .breaker import CircuitBreaker, State

log = logging.getLogger("gateway.upstream")

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
# Under uvicorn's 5 s keep-alive, so the gateway never reuses a connection the service is closing.
KEEPALIVE_SECONDS = 4.0


class Unavailable(ProblemError):
    """503 naming the service: it refused the connection, or its circuit is open."""

    status, slug = 503, "service-unavailable"


class UpstreamTimeout(ProblemError):
    status, slug = 504, "gateway-timeout"


class UpstreamMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.latency = Histogram(
            "gateway_upstream_request_duration_seconds",
            "Latency of the gateway's calls to each service (until the response headers), by outcome.",
            ["service", "outcome"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.circuit = Gauge(
            "gateway_circuit_open", "1 while the circuit breaker of a service is open.", ["service"], registry=registry
        )


class Upstreams:
    """The gateway's view of every service. Create inside the event loop (the app's lifespan)."""

    def __init__(self, settings: Settings, registry: CollectorRegistry) -> None:
        self.settings = settings
        self.token = settings.service_token.get_secret_value()
        self.base: dict[Service, str] = {
            service: settings.url_for(service) for service in Service if service is not Service.gateway
        }
        self.timeouts: dict[Service, float] = {
            service: settings.gateway_upstream_timeouts.get(service.value, settings.http_timeout_seconds)
            for service in self.base
        }
        self.breakers: dict[Service, CircuitBreaker] = {
            service: CircuitBreaker(
                failures=settings.gateway_breaker_failures, reset_seconds=settings.gateway_breaker_reset_seconds
            )
            for service in self.base
        }
        self.metrics = UpstreamMetrics(registry)
        connector = aiohttp.TCPConnector(limit=200, limit_per_host=100, keepalive_timeout=KEEPALIVE_SECONDS)
        # auto_decompress off: a compressed answer passes through as it came, with its Content-Encoding.
        self.session = aiohttp.ClientSession(
            connector=connector, auto_decompress=False, skip_auto_headers=("User-Agent",)
        )

    async def close(self) -> None:
        await self.session.close()

    def headers(self, extra: Sequence[tuple[str, str]] = ()) -> CIMultiDict[str]:
        headers: CIMultiDict[str] = CIMultiDict(extra)
        headers[SERVICE_TOKEN_HEADER] = self.token
        if request_id := request_id_var.get():
            headers["X-Request-ID"] = request_id
        return headers

    def _unavailable(self, service: Service, reason: str) -> Unavailable:
        breaker = self.breakers[service]
        seconds = max(1, round(breaker.retry_after())) if breaker.state is not State.closed else 1
        return Unavailable(
            f"The {service.value} service is unavailable ({reason}); retry in {seconds} s.",
            headers={"Retry-After": str(seconds)},
            service=service.value,
        )

    async def send(
        self,
        service: Service,
        method: str,
        path: str,
        *,
        query: str = "",
        headers: Sequence[tuple[str, str]] = (),
        body: bytes | AsyncIterable[bytes] | None = None,
        timeout_seconds: float | None = None,
    ) -> aiohttp.ClientResponse:
        """The service's response, headers read and body not yet (release it). Idempotent methods are
        retried on connection errors. Raises Unavailable (503: connection refused, circuit open) or
        UpstreamTimeout (504)."""
        breaker = self.breakers[service]
        seconds = timeout_seconds or self.timeouts[service]
        # sock_read, not total: a long export keeps streaming as long as bytes keep coming.
        limits = aiohttp.ClientTimeout(total=None, sock_connect=min(seconds, 3.0), sock_read=seconds)
        # encoded=True: path parameters and the query go on exactly as the client sent them.
        url = URL(self.base[service] + path + (f"?{query}" if query else ""), encoded=True)
        attempts = 1 + (
            self.settings.http_retries if method in IDEMPOTENT and not isinstance(body, AsyncIterable) else 0
        )
        for attempt in range(attempts):
            if not breaker.allow():
                self.metrics.latency.labels(service.value, "circuit_open").observe(0)
                raise self._unavailable(service, "circuit open after repeated failures")
            started = time.perf_counter()
            try:
                response = await self.session.request(
                    method,
                    url,
                    headers=self.headers(headers),
                    data=body,
                    timeout=limits,
                    allow_redirects=False,
                )
            except TimeoutError as error:
                self._failed(service, "timeout", started)
                raise UpstreamTimeout(
                    f"The {service.value} service did not answer within {seconds:g} s.", service=service.value
                ) from error
            except aiohttp.ClientError as error:
                self._failed(service, "error", started)
                if attempt + 1 < attempts:
                    await asyncio.sleep(0.05 * 2**attempt)
                    continue
                raise self._unavailable(service, f"{type(error).__name__}") from error
            breaker.success()
            self.metrics.circuit.labels(service.value).set(0)
            self.metrics.latency.labels(service.value, str(response.status)).observe(time.perf_counter() - started)
            return response
        raise AssertionError("unreachable")

    def _failed(self, service: Service, outcome: str, started: float) -> None:
        breaker = self.breakers[service]
        breaker.failure()
        self.metrics.latency.labels(service.value, outcome).observe(time.perf_counter() - started)
        self.metrics.circuit.labels(service.value).set(1 if breaker.state is State.open else 0)
        log.warning("upstream %s failed: %s", service.value, outcome, extra={"state": breaker.state.value})

    async def get_json(
        self,
        service: Service,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        timeout_seconds: float | None = None,
    ) -> tuple[int, Any]:
        """(status, decoded JSON body or None) of a GET. Raises like `send`."""
        response = await self.send(service, "GET", path, query=urlencode(query or {}), timeout_seconds=timeout_seconds)
        try:
            body = await response.read()
        finally:
            response.release()
        try:
            return response.status, orjson.loads(body) if body else None
        except ValueError:
            return response.status, None
