"""The circuit breaker over a real gateway: a service that is down fails fast with a 503 naming it,
and a probe closes the circuit again once the service is back."""

from __future__ import annotations

import time

import httpx

from tests.gateway.conftest import GatewayFactory, Platform
from tests.gateway.fakes import FakeServer, fake_app
from tests.support import assert_problem, free_port


def test_circuit_opens_fails_fast_and_probes_back(platform: Platform, start_gateway: GatewayFactory) -> None:
    port = free_port()
    gateway = start_gateway(
        RAPPORT_SEGMENTATION_URL=f"http://127.0.0.1:{port}",
        RAPPORT_GATEWAY_BREAKER_FAILURES="3",
        RAPPORT_GATEWAY_BREAKER_RESET_SECONDS="1.5",
        RAPPORT_HTTP_RETRIES="0",
    )
    headers = platform.headers("analyst")
    with httpx.Client(base_url=gateway.url, headers=headers, timeout=10) as client:
        for _ in range(3):
            down = assert_problem(client.get("/api/v1/segments"), 503)
            assert down["service"] == "segmentation"
            assert "segmentation" in str(down["detail"])
        started = time.monotonic()
        open_circuit = client.get("/api/v1/segments")
        assert time.monotonic() - started < 0.2
        body = assert_problem(open_circuit, 503)
        assert "circuit open" in str(body["detail"])
        assert int(open_circuit.headers["retry-after"]) >= 1
        assert client.get("/api/v1/health").json()["services"]["segmentation"]["circuit"] == "open"
        # Other services are not affected.
        assert client.get("/api/v1/customers", headers=platform.headers("admin")).status_code == 200
        with FakeServer(fake_app("segmentation"), port=port):
            assert_problem(client.get("/api/v1/segments"), 503)  # still open until the reset time
            time.sleep(1.6)
            assert client.get("/api/v1/segments").status_code == 200  # the probe
            assert client.get("/api/v1/segments").status_code == 200
            assert client.get("/api/v1/health").json()["services"]["segmentation"]["circuit"] == "closed"
