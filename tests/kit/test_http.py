"""The service client against a real HTTP server: retries, timeouts, request-id and token propagation."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from rapport.http import AsyncServiceClient, RetryPolicy, ServiceClient
from rapport.logs import request_id_var
from tests.support import ThreadedServer, free_port

calls: Counter[str] = Counter()


def _flaky_app() -> FastAPI:
    app = FastAPI()

    @app.api_route("/flaky/{key}", methods=["GET", "POST"])
    async def flaky(key: str, request: Request) -> Response:
        calls[f"{request.method} {key}"] += 1
        if calls[f"{request.method} {key}"] <= 2:
            return Response(status_code=503)
        return Response("ok")

    @app.get("/echo")
    async def echo(request: Request) -> dict[str, str | None]:
        return {
            "request_id": request.headers.get("x-request-id"),
            "token": request.headers.get("x-service-token"),
        }

    @app.get("/slow")
    async def slow() -> str:
        await asyncio.sleep(2)
        return "late"

    return app


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with ThreadedServer(_flaky_app()) as server:
        yield server.url


def test_get_is_retried_on_503_until_it_succeeds(server_url: str) -> None:
    with ServiceClient(server_url, retry=RetryPolicy(retries=2, backoff_seconds=0.01)) as client:
        assert client.get("/flaky/a").status_code == 200
    assert calls["GET a"] == 3


def test_post_is_never_retried(server_url: str) -> None:
    with ServiceClient(server_url, retry=RetryPolicy(retries=2, backoff_seconds=0.01)) as client:
        assert client.post("/flaky/b").status_code == 503
    assert calls["POST b"] == 1


def test_retries_are_bounded(server_url: str) -> None:
    with ServiceClient(server_url, retry=RetryPolicy(retries=1, backoff_seconds=0.01)) as client:
        assert client.get("/flaky/c").status_code == 503
    assert calls["GET c"] == 2


def test_connection_refused_raises_after_retries() -> None:
    with (
        ServiceClient(f"http://127.0.0.1:{free_port()}", retry=RetryPolicy(retries=1, backoff_seconds=0.01)) as client,
        pytest.raises(httpx.ConnectError),
    ):
        client.get("/anything")


def test_timeout_is_enforced(server_url: str) -> None:
    with (
        ServiceClient(server_url, timeout=0.2, retry=RetryPolicy(retries=0)) as client,
        pytest.raises(httpx.TimeoutException),
    ):
        client.get("/slow")


def test_request_id_and_token_are_propagated(server_url: str) -> None:
    token = request_id_var.set("req-42")
    try:
        with ServiceClient(server_url, token="secret") as client:
            assert client.get("/echo").json() == {"request_id": "req-42", "token": "secret"}
    finally:
        request_id_var.reset(token)


def test_async_client_retries_and_propagates(server_url: str) -> None:
    async def scenario() -> tuple[int, dict[str, str]]:
        request_id_var.set("async-7")
        client = AsyncServiceClient(server_url, token="t", retry=RetryPolicy(retries=2, backoff_seconds=0.01))
        try:
            status = (await client.get("/flaky/d")).status_code
            echoed = (await client.get("/echo")).json()
        finally:
            await client.aclose()
        return status, echoed

    status, echoed = asyncio.run(scenario())
    assert status == 200
    assert calls["GET d"] == 3
    assert echoed == {"request_id": "async-7", "token": "t"}


def test_retry_policy_pauses_double_and_end_after_the_last_retry() -> None:
    policy = RetryPolicy(retries=2, backoff_seconds=0.1)
    assert [policy.pause("GET", "/x", attempt, status=503) for attempt in range(3)] == [0.1, 0.2, None]
    assert policy.pause("DELETE", "/x", 0) == 0.1  # a connection error on an idempotent call
    assert policy.pause("get", "/x", 0, status=504) == 0.1
    assert policy.pause("GET", "/x", 0, status=500) is None
    assert policy.pause("GET", "/x", 0, status=200) is None
    assert policy.pause("POST", "/x", 0) is None
    assert policy.pause("PATCH", "/x", 0, status=503) is None
