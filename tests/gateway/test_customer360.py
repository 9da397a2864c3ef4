"""The customer 360 through the gateway: every part, a stopped service, a slow one, unknown and merged ids."""

from __future__ import annotations

import time

import httpx

from rapport.config import Service
from tests.gateway.conftest import GatewayFactory, Platform
from tests.gateway.fakes import FakeServer, fake_app
from tests.support import TOKEN_HEADERS, assert_problem, free_port


def test_360_answers_every_part_in_one_document(platform: Platform, client: httpx.Client) -> None:
    customer_id = platform.complained[0]
    response = client.get(f"/api/v1/customers/{customer_id}/360", headers=platform.headers("frontend"))
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["degraded"] == []
    assert view["customer_id"] == customer_id
    assert view["profile"]["purchases"] is not None
    assert isinstance(view["orders"], list)
    assert view["scores"]["segment"]
    assert {"tier", "cluster", "cluster_rules", "churn_risk", "churn_reasons", "clv_value"} <= view["scores"].keys()
    assert view["recommendations"]["items"]
    assert view["feedback"]["customer_id"] == customer_id
    assert view["feedback"]["latest_nps"] == 1
    assert view["open_alerts"][0]["customer_id"] == customer_id
    assert view["open_alerts"][0]["rule"] == "valued_customer"
    # Profile and orders come from one customers call, summary and alerts from one feedback call: each
    # part still equals what its own route answers.
    customers, feedback = platform.urls[Service.customers], platform.urls[Service.feedback]
    orders = httpx.get(f"{customers}/v1/customers/{customer_id}/orders", params={"limit": 10}, headers=TOKEN_HEADERS)
    assert view["orders"] == orders.json()
    assert "recent_orders" not in view["profile"]
    profile = httpx.get(f"{customers}/v1/customers/{customer_id}", headers=TOKEN_HEADERS).json()
    assert view["profile"] == profile
    alerts = httpx.get(
        f"{feedback}/v1/alerts", params={"status": "open", "customer_id": customer_id}, headers=TOKEN_HEADERS
    )
    assert view["open_alerts"] == alerts.json()["items"][:10]
    assert "alerts" not in view["feedback"]
    summary = httpx.get(f"{feedback}/v1/customers/{customer_id}/feedback/summary", headers=TOKEN_HEADERS)
    assert view["feedback"] == summary.json()


def test_360_of_an_unknown_customer_is_404(platform: Platform, client: httpx.Client) -> None:
    headers = platform.headers("analyst")
    assert_problem(client.get("/api/v1/customers/00000000-0000-0000-0000-000000000000/360", headers=headers), 404)
    assert_problem(client.get("/api/v1/customers/not-a-uuid/360", headers=headers), 404)


def test_360_of_a_merged_away_customer_answers_the_survivor(platform: Platform, client: httpx.Client) -> None:
    survivor, merged = platform.demo_customer_ids[-2:]
    answer = httpx.post(
        f"{platform.urls[Service.customers]}/v1/customers/{survivor}:merge",
        json={"from": [merged]},
        headers=TOKEN_HEADERS,
    )
    assert answer.status_code == 200, answer.text
    view = client.get(f"/api/v1/customers/{merged}/360", headers=platform.headers("frontend")).json()
    assert view["customer_id"] == survivor
    assert view["merged_from"] == merged
    assert view["profile"]["id"] == survivor


def test_360_with_a_stopped_service_lists_it_as_degraded(platform: Platform, start_gateway: GatewayFactory) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    gateway = start_gateway(RAPPORT_RECOMMENDATION_URL=nowhere, RAPPORT_GATEWAY_PART_TIMEOUT_SECONDS="1.0")
    started = time.monotonic()
    response = httpx.get(
        f"{gateway.url}/api/v1/customers/{platform.demo_customer_ids[1]}/360",
        headers=platform.headers("frontend"),
        timeout=10,
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    view = response.json()
    assert [(d["part"], d["service"]) for d in view["degraded"]] == [("recommendations", "recommendation")]
    assert view["recommendations"] is None
    assert view["profile"] is not None
    assert view["scores"] is not None
    assert elapsed < 1.5


def test_360_cuts_a_slow_service_at_the_part_timeout(platform: Platform, start_gateway: GatewayFactory) -> None:
    with FakeServer(fake_app("feedback", delay=3.0)) as slow:
        gateway = start_gateway(RAPPORT_FEEDBACK_URL=slow.url, RAPPORT_GATEWAY_PART_TIMEOUT_SECONDS="0.5")
        started = time.monotonic()
        response = httpx.get(
            f"{gateway.url}/api/v1/customers/{platform.demo_customer_ids[2]}/360",
            headers=platform.headers("frontend"),
            timeout=10,
        )
        elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    view = response.json()
    assert {(d["part"], d["service"], d["reason"]) for d in view["degraded"]} == {
        ("feedback", "feedback", "no answer within 0.5 s"),
        ("open_alerts", "feedback", "no answer within 0.5 s"),
    }
    assert view["profile"] is not None
    assert view["recommendations"] is not None
    assert 0.5 <= elapsed < 1.5
