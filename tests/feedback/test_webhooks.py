"""Alerts delivered to a real local HTTP receiver: signed, retried after a failure, never twice after success."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from rapport.config import Service
from services.feedback import train, webhooks
from tests.feedback.support import DATA_DIR, MODEL_DIR
from tests.support import TOKEN_HEADERS, ServiceProcess, assert_problem, free_port, start_service


class Receiver:
    """An HTTP server that answers 500 to the first `failures` requests, then 204, and records them all."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.requests: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body, "at": time.monotonic()})
                self.send_response(500 if len(receiver.requests) <= receiver.failures else 204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/rapport"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="module")
def feedback(make_module_database_url: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    train.load_or_train(MODEL_DIR, DATA_DIR)
    nowhere = f"http://127.0.0.1:{free_port()}"  # no segmentation: alerts fire on text and score alone
    process = start_service(
        Service.feedback,
        make_module_database_url("feedback"),
        var_dir=tmp_path_factory.mktemp("var"),
        RAPPORT_CUSTOMERS_URL=nowhere,
        RAPPORT_SEGMENTATION_URL=nowhere,
        RAPPORT_FEEDBACK_MODEL_DIR=str(MODEL_DIR),
        RAPPORT_DATA_DIR=str(DATA_DIR),
        RAPPORT_WEBHOOK_BACKOFF_SECONDS="0.5",
    )
    yield process
    process.stop()


@pytest.fixture
def api(feedback: ServiceProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=feedback.url, headers=TOKEN_HEADERS, timeout=30) as client:
        yield client


def wait_for(condition: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_delivery_is_signed_retried_once_after_a_failure_and_not_repeated(api: httpx.Client) -> None:
    receiver = Receiver(failures=1)
    try:
        created = api.post("/v1/webhooks", json={"url": receiver.url, "description": "ops inbox"})
        assert created.status_code == 201, created.text
        hook = created.json()
        assert len(hook["secret"]) >= 16
        assert api.get("/v1/webhooks").json()[0]["secret"] is None  # shown once, at creation

        written = api.post(
            "/v1/feedback",
            json={"channel": "chat", "customer_id": "c-42", "csat": 1, "text": "Awful, broken on arrival"},
        )
        assert written.status_code == 201
        wait_for(lambda: len(receiver.requests) >= 2)
        time.sleep(2.0)  # time for a wrong third attempt to show up
        assert len(receiver.requests) == 2

        first, second = receiver.requests
        assert second["at"] - first["at"] >= 0.4  # the backoff
        for request in receiver.requests:
            headers = request["headers"]
            assert webhooks.verify(
                hook["secret"], headers["X-Rapport-Timestamp"], request["body"], headers["X-Rapport-Signature"]
            )
            assert not webhooks.verify(
                "another secret of enough length",
                headers["X-Rapport-Timestamp"],
                request["body"],
                headers["X-Rapport-Signature"],
            )
        assert first["headers"]["X-Rapport-Delivery"] == second["headers"]["X-Rapport-Delivery"]
        document = json.loads(second["body"])
        assert document["type"] == "alert.created"
        assert document["alert"]["feedback_id"] == written.json()["id"]
        assert second["headers"]["X-Rapport-Alert-Id"] == document["alert"]["id"]

        (delivery,) = api.get(f"/v1/webhooks/{hook['id']}/deliveries").json()
        assert delivery["status"] == "delivered"
        assert delivery["attempts"] == 2
        assert delivery["last_status"] == 204
    finally:
        receiver.close()
        for hook in api.get("/v1/webhooks").json():
            api.delete(f"/v1/webhooks/{hook['id']}")


def test_a_receiver_that_never_answers_is_given_up_after_the_last_attempt(
    feedback: ServiceProcess, api: httpx.Client
) -> None:
    gone = f"http://127.0.0.1:{free_port()}/nobody-listens"
    hook = api.post("/v1/webhooks", json={"url": gone}).json()
    try:
        api.post(
            "/v1/feedback", json={"channel": "chat", "customer_id": "c-43", "nps": 0, "text": "Worst service ever"}
        )
        deliveries = f"/v1/webhooks/{hook['id']}/deliveries"
        wait_for(lambda: api.get(deliveries).json()[0]["attempts"] >= 3)
        delivery = api.get(deliveries).json()[0]
        assert delivery["status"] == "pending"
        assert "ConnectError" in delivery["last_error"]
    finally:
        assert api.delete(f"/v1/webhooks/{hook['id']}").status_code == 204
    assert api.get(deliveries).status_code == 404


@pytest.mark.parametrize("url", ["ftp://example.com/hook", "not a url", ""])
def test_a_webhook_needs_an_http_url(api: httpx.Client, url: str) -> None:
    problem = assert_problem(api.post("/v1/webhooks", json={"url": url}), 422)
    assert problem["errors"][0]["loc"] == "body.url"


def test_a_signature_over_another_body_or_time_does_not_verify() -> None:
    signature = webhooks.sign("s3cret-s3cret-s3cret", "1700000000", b'{"a":1}')
    assert webhooks.verify("s3cret-s3cret-s3cret", "1700000000", b'{"a":1}', signature)
    assert not webhooks.verify("s3cret-s3cret-s3cret", "1700000001", b'{"a":1}', signature)
    assert not webhooks.verify("s3cret-s3cret-s3cret", "1700000000", b'{"a":2}', signature)
