"""The recommendation service over HTTP, trained on a real customers service's export (two uvicorn processes)."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rapport.config import Service
from rapport.demo import generate
from rapport.http import ServiceClient
from services.customers import demo as customers_demo
from tests.support import TOKEN_HEADERS, ServiceProcess, assert_problem, start_service, wait_for_job

AS_OF = "2026-01-01T00:00:00Z"  # the demo data runs to the end of 2025


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("demo")
    generate(folder, customers=1500, seed=11, fmt="csv")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def recommendation_db(make_module_database_url: Any) -> str:
    return str(make_module_database_url("recommendation"))


@pytest.fixture(scope="module")
def services(
    make_module_database_url: Any,
    recommendation_db: str,
    tmp_path_factory: pytest.TempPathFactory,
    demo_folder: Path,
) -> Iterator[dict[str, ServiceProcess]]:
    var_dir = tmp_path_factory.mktemp("var")
    customers = start_service(Service.customers, make_module_database_url("customers"), var_dir=var_dir)
    segmentation = start_service(
        Service.segmentation,
        make_module_database_url("segmentation"),
        var_dir=var_dir,
        RAPPORT_CUSTOMERS_URL=customers.url,
    )
    recommendation = start_service(
        Service.recommendation,
        recommendation_db,
        var_dir=var_dir,
        RAPPORT_CUSTOMERS_URL=customers.url,
        RAPPORT_SEGMENTATION_URL=segmentation.url,
    )
    try:
        with ServiceClient(customers.url, token=TOKEN_HEADERS["X-Service-Token"], timeout=120) as client:
            customers_demo.load(client, demo_folder)
        with httpx.Client(base_url=segmentation.url, headers=TOKEN_HEADERS, timeout=30) as client:
            run = client.post("/v1/runs", json={"as_of": AS_OF, "parts": ["rfm"]}).json()
            deadline = time.monotonic() + 600
            while client.get(f"/v1/runs/{run['id']}").json()["status"] in ("queued", "running"):
                assert time.monotonic() < deadline
                time.sleep(0.2)
        yield {"customers": customers, "segmentation": segmentation, "recommendation": recommendation}
    finally:
        recommendation.stop()
        segmentation.stop()
        customers.stop()


@pytest.fixture(scope="module")
def api(services: dict[str, ServiceProcess]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=services["recommendation"].url, headers=TOKEN_HEADERS, timeout=30) as client:
        yield client


def wait_for(api: httpx.Client, model_id: str, timeout: float = 600) -> dict[str, Any]:
    return wait_for_job(api, f"/v1/models/{model_id}", timeout=timeout)


@pytest.fixture(scope="module")
def model(api: httpx.Client) -> dict[str, Any]:
    assert_problem(api.get("/v1/customers/anyone/recommendations"), 503)  # nothing trained yet
    started = api.post("/v1/runs", json={"as_of": AS_OF})
    assert started.status_code == 202, started.text
    assert_problem(api.post("/v1/runs", json={"as_of": AS_OF}), 409)
    trained = wait_for(api, started.json()["id"])
    assert trained["status"] == "succeeded", trained["error"]
    deadline = time.monotonic() + 10
    while not api.get(f"/v1/models/{trained['id']}").json()["serving"]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    return trained


def _a_customer(api: httpx.Client, services: dict[str, ServiceProcess]) -> str:
    with httpx.Client(base_url=services["customers"].url, headers=TOKEN_HEADERS) as customers:
        found = customers.post(
            "/v1/customers:search",
            json={"filter": {"field": "order_count", "op": "gte", "value": 3}, "limit": 1},
        ).json()
    return str(found["items"][0]["id"])


def test_model_is_evaluated_against_popularity(model: dict[str, Any]) -> None:
    evaluation = model["metrics"]["evaluation"]
    for name in ("model", "popularity"):
        assert 0 <= evaluation[name]["ndcg@10"] <= 1
        assert 0 <= evaluation[name]["precision@10"] <= 1
    assert evaluation["customers_evaluated"] > 50
    assert model["items"] > 100
    assert model["artifact_bytes"] > 0


def test_recommendations_are_personal_with_reasons_and_filters(
    api: httpx.Client, services: dict[str, ServiceProcess], model: dict[str, Any]
) -> None:
    customer = _a_customer(api, services)
    answer = api.get(f"/v1/customers/{customer}/recommendations", params={"k": 5}).json()
    assert answer["strategy"] == "personalised"
    assert answer["model_id"] == model["id"]
    assert len(answer["items"]) == 5
    assert all(item["reason"] for item in answer["items"])
    scores = [item["score"] for item in answer["items"]]
    assert scores == sorted(scores, reverse=True)
    first = answer["items"][0]["sku"]
    again = api.get(f"/v1/customers/{customer}/recommendations", params={"k": 5, "exclude": first}).json()
    assert first not in [item["sku"] for item in again["items"]]
    category = answer["items"][0]["category"]
    filtered = api.get(f"/v1/customers/{customer}/recommendations", params={"k": 5, "category": category}).json()
    assert filtered["items"]
    assert {item["category"] for item in filtered["items"]} == {category}


def test_unknown_customer_gets_the_cold_start_and_an_event_personalises_it(
    api: httpx.Client, model: dict[str, Any]
) -> None:
    cold = api.get("/v1/customers/never-seen/recommendations", params={"k": 3}).json()
    assert cold["strategy"] == "cold_start"
    assert len(cold["items"]) == 3
    sku = cold["items"][0]["sku"]
    assert api.post("/v1/events", json={"customer_id": "never-seen", "sku": sku, "kind": "purchase"}).status_code == 202
    warm = api.get("/v1/customers/never-seen/recommendations", params={"k": 3}).json()
    assert warm["strategy"] == "personalised"
    assert sku not in [item["sku"] for item in warm["items"]]


def test_a_new_replica_serves_the_stored_model(
    api: httpx.Client, recommendation_db: str, model: dict[str, Any], tmp_path: Path
) -> None:
    replica = start_service(Service.recommendation, recommendation_db, var_dir=tmp_path)
    try:
        with httpx.Client(base_url=replica.url, headers=TOKEN_HEADERS, timeout=30) as client:
            answer = client.get("/v1/customers/never-seen-3/recommendations", params={"k": 3})
            assert answer.status_code == 200, answer.text
            served = api.get("/v1/customers/never-seen-3/recommendations", params={"k": 3}).json()
            assert answer.json()["model_id"] == served["model_id"]
            # An event received by the other replica reaches this one within its one-second look.
            sku = served["items"][0]["sku"]
            assert api.post("/v1/events", json={"customer_id": "never-seen-3", "sku": sku}).status_code == 202
            deadline = time.monotonic() + 10
            while client.get("/v1/customers/never-seen-3/recommendations").json()["strategy"] != "personalised":
                assert time.monotonic() < deadline, "the event never reached the second replica"
                time.sleep(0.1)
    finally:
        replica.stop()


def test_similar_items_basket_completion_and_rules(api: httpx.Client, demo_folder: Path, model: dict[str, Any]) -> None:
    planted = json.loads((demo_folder / "manifest.json").read_text())["planted_pairs"][0]
    similar = api.get(f"/v1/items/{planted['antecedent_sku']}/similar", params={"k": 10}).json()
    assert planted["consequent_sku"] in [item["sku"] for item in similar["items"]]
    basket = api.post("/v1/baskets:complete", json={"items": [planted["antecedent_sku"]], "k": 5}).json()
    assert planted["consequent_sku"] in [item["sku"] for item in basket["items"]]
    unknown = api.post("/v1/baskets:complete", json={"items": ["NO-SUCH-SKU"]}).json()
    assert unknown["items"] == []
    assert unknown["reason"]
    rules = api.get("/v1/rules", params={"min_lift": 1.5, "limit": 20}).json()
    assert rules
    assert all(rule["lift"] >= 1.5 for rule in rules)
    assert [rule["lift"] for rule in rules] == sorted((rule["lift"] for rule in rules), reverse=True)


def test_trending_items_over_http(api: httpx.Client, model: dict[str, Any]) -> None:
    answer = api.get("/v1/items:trending", params={"k": 5})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["model_id"] == model["id"]
    assert body["recent_days"] == 7
    assert len(body["items"]) <= 5
    assert body["reason"] is None if body["items"] else body["reason"]
    assert [i["ratio"] for i in body["items"]] == sorted((i["ratio"] for i in body["items"]), reverse=True)
    assert all(i["recent_buyers"] >= 3 for i in body["items"])
    if body["items"]:
        category = body["items"][0]["category"]
        within = api.get("/v1/items:trending", params={"k": 50, "category": category}).json()
        assert within["items"][0] == body["items"][0]
        assert {i["category"] for i in within["items"]} == {category}
    unknown = api.get("/v1/items:trending", params={"category": "no-such-category"})
    assert unknown.status_code == 200
    assert unknown.json()["items"] == []
    assert "no-such-category" in unknown.json()["reason"]
    assert_problem(api.get("/v1/items:trending", params={"k": 0}), 422)


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/v1/customers/x/recommendations", {"k": 0}, 422),
        ("/v1/customers/x/recommendations", {"k": 1001}, 422),
        ("/v1/items/NO-SUCH-SKU/similar", {}, 404),
        ("/v1/rules", {"level": "galaxy"}, 422),
    ],
)
def test_bad_input_is_a_problem(
    api: httpx.Client, model: dict[str, Any], path: str, params: dict[str, Any], status: int
) -> None:
    assert_problem(api.get(path, params=params), status)


def test_a_new_model_is_swapped_in_while_requests_keep_succeeding(api: httpx.Client, model: dict[str, Any]) -> None:
    failures: list[int] = []
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(base_url=str(api.base_url), headers=TOKEN_HEADERS, timeout=10) as client:
            while not stop.is_set():
                answer = client.get("/v1/customers/never-seen-2/recommendations", params={"k": 5})
                if answer.status_code != 200:
                    failures.append(answer.status_code)

    worker = threading.Thread(target=hammer)
    worker.start()
    try:
        second = wait_for(
            api, api.post("/v1/runs", json={"as_of": AS_OF, "params": {"similarity": "lift"}}).json()["id"]
        )
        deadline = time.monotonic() + 10
        while api.get("/v1/customers/never-seen-2/recommendations").json()["model_id"] != second["id"]:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        stop.set()
        worker.join()
    assert second["status"] == "succeeded"
    assert failures == []
    listed = {m["id"]: m for m in api.get("/v1/models").json()}
    assert listed[second["id"]]["serving"] is True
    assert listed[model["id"]]["serving"] is False


def test_the_latent_factor_model_is_selectable_per_run(
    api: httpx.Client, services: dict[str, ServiceProcess], model: dict[str, Any]
) -> None:
    svd = wait_for(api, api.post("/v1/runs", json={"as_of": AS_OF, "params": {"algorithm": "svd"}}).json()["id"])
    assert svd["status"] == "succeeded", svd["error"]
    assert svd["params"]["algorithm"] == "svd"
    assert 0 <= svd["metrics"]["evaluation"]["model"]["ndcg@10"] <= 1
    customer = _a_customer(api, services)
    deadline = time.monotonic() + 10
    while (answer := api.get(f"/v1/customers/{customer}/recommendations", params={"k": 4}).json())["model_id"] != svd[
        "id"
    ]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert answer["strategy"] == "personalised"
    assert len(answer["items"]) == 4
    assert_problem(api.post("/v1/runs", json={"params": {"algorithm": "deep-magic"}}), 422)


def test_an_erased_customer_is_forgotten_here(
    api: httpx.Client, services: dict[str, ServiceProcess], model: dict[str, Any]
) -> None:
    customer = _a_customer(api, services)
    sku = api.get("/v1/customers/nobody/recommendations", params={"k": 1}).json()["items"][0]["sku"]
    assert api.post("/v1/events", json={"customer_id": customer, "sku": sku}).status_code == 202
    assert api.get(f"/v1/customers/{customer}/recommendations").json()["strategy"] == "personalised"
    with httpx.Client(base_url=services["customers"].url, headers=TOKEN_HEADERS) as customers:
        erased = customers.delete(f"/v1/customers/{customer}", headers={"X-Rapport-Actor": "admin:test"})
        assert erased.status_code in (200, 204), erased.text
    deadline = time.monotonic() + 20
    while api.get(f"/v1/customers/{customer}/recommendations").json()["strategy"] != "cold_start":
        assert time.monotonic() < deadline, "the erasure never reached recommendation"
        time.sleep(0.2)


def test_cold_start_is_popular_in_the_customers_segment_and_global_without_segmentation(
    api: httpx.Client, services: dict[str, ServiceProcess], model: dict[str, Any]
) -> None:
    """Trained as of mid-2025, the model does not know customers who first bought later; segmentation (as of
    2026) does, so their cold start is popularity within their segment. With segmentation stopped it is
    global popularity, still answered."""
    early = wait_for(api, api.post("/v1/runs", json={"as_of": "2025-06-01T00:00:00Z"}).json()["id"])
    assert early["status"] == "succeeded", early["error"]
    assert early["metrics"]["segments_known"] > 0
    deadline = time.monotonic() + 10
    while api.get("/v1/customers/x/recommendations").json()["model_id"] != early["id"]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    with httpx.Client(base_url=services["segmentation"].url, headers=TOKEN_HEADERS) as segmentation:
        members = [
            m["customer_id"]
            for key in ("potential_loyalist", "promising", "need_attention", "loyal")
            for m in segmentation.get(f"/v1/segments/{key}/members", params={"limit": 30}).json()["items"]
        ]
    answers = [api.get(f"/v1/customers/{c}/recommendations", params={"k": 3}).json() for c in members]
    in_segment = [
        a for a in answers if a["strategy"] == "cold_start" and a["items"][0]["reason"] == "popular in your segment"
    ]
    assert in_segment, [a["items"][0]["reason"] for a in answers if a["strategy"] == "cold_start"]
    services["segmentation"].stop()
    degraded = api.get(f"/v1/customers/{in_segment[0]['customer_id']}/recommendations", params={"k": 3})
    assert degraded.status_code == 200
    assert degraded.json()["strategy"] == "cold_start"
    assert {item["reason"] for item in degraded.json()["items"]} == {"popular now"}
