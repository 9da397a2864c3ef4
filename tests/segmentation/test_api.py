"""The segmentation service over HTTP, reading a real customers service's exports (two uvicorn processes)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
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
def services(
    make_module_database_url: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, ServiceProcess]]:
    var_dir = tmp_path_factory.mktemp("var")
    data = tmp_path_factory.mktemp("demo")
    generate(data, customers=1200, seed=5, fmt="csv")
    customers = start_service(Service.customers, make_module_database_url("customers"), var_dir=var_dir)
    segmentation = start_service(
        Service.segmentation,
        make_module_database_url("segmentation"),
        var_dir=var_dir,
        RAPPORT_CUSTOMERS_URL=customers.url,
    )
    try:
        with ServiceClient(customers.url, token=TOKEN_HEADERS["X-Service-Token"], timeout=120) as client:
            customers_demo.load(client, data)
            # A data-lake copy of the exports, as a nightly job would leave it.
            lake = var_dir / "lake" / "demo"
            lake.mkdir(parents=True)
            for entity in ("orders", "customers"):
                export = client.get(f"/v1/exports/{entity}", params={"format": "parquet"})
                (lake / f"{entity}.parquet").write_bytes(export.content)
        yield {"customers": customers, "segmentation": segmentation}
    finally:
        segmentation.stop()
        customers.stop()
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="module")
def api(services: dict[str, ServiceProcess]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=services["segmentation"].url, headers=TOKEN_HEADERS, timeout=30) as client:
        yield client


def wait_for(api: httpx.Client, run_id: str, timeout: float = 600) -> dict[str, Any]:
    return wait_for_job(api, f"/v1/runs/{run_id}", timeout=timeout)


@pytest.fixture(scope="module")
def first_run(api: httpx.Client) -> dict[str, Any]:
    response = api.post("/v1/runs", json={"as_of": AS_OF})
    assert response.status_code == 202, response.text
    # One active run at a time: a second request is refused while the first is queued or running.
    assert_problem(api.post("/v1/runs", json={"as_of": AS_OF}), 409)
    run = wait_for(api, response.json()["id"])
    assert run["status"] == "succeeded", run["error"]
    return run


def test_run_reports_progress_duration_and_metrics(first_run: dict[str, Any]) -> None:
    assert first_run["progress"] == 100
    assert first_run["phase"] == "done"
    assert first_run["duration_seconds"] > 0
    assert first_run["customers"] >= 1000
    metrics = first_run["metrics"]
    assert 3 <= metrics["clusters"]["k"] <= 8
    assert metrics["clusters"]["tree_fidelity"] > 0.8
    assert 0.5 < metrics["churn"]["roc_auc"] <= 1
    assert metrics["clv"]["holdout_mae"] > 0
    assert set(metrics["clv"]["bg_nbd"]) == {"r", "alpha", "a", "b"}


def test_segments_cover_every_customer_and_members_page_through(api: httpx.Client, first_run: dict[str, Any]) -> None:
    segments = api.get("/v1/segments").json()
    rfm = [s for s in segments if s["kind"] == "rfm"]
    assert sum(s["count"] for s in rfm) == first_run["customers"]
    assert sum(s["share_revenue"] for s in rfm) == pytest.approx(1, abs=1e-3)
    biggest = max(rfm, key=lambda s: s["count"])
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 97} | ({"cursor": cursor} if cursor else {})
        response = api.get(f"/v1/segments/{biggest['key']}/members", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [m["customer_id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == biggest["count"]
    exported = api.get(f"/v1/segments/{biggest['key']}/members", params={"format": "csv"})
    lines = exported.text.strip().splitlines()
    assert lines[0].startswith("customer_id,segment,tier")
    assert sorted(line.split(",")[0] for line in lines[1:]) == sorted(seen)


def test_scores_of_a_customer_explain_themselves(api: httpx.Client, first_run: dict[str, Any]) -> None:
    member = api.get("/v1/segments/champions/members", params={"limit": 1}).json()["items"][0]
    scores = api.get(f"/v1/customers/{member['customer_id']}/scores").json()
    assert scores["scored"] is True
    assert scores["run_id"] == first_run["id"]
    assert scores["segment"] == "champions"
    assert scores["segment_name"] == "Champions"
    assert scores["suggested_action"]
    assert scores["tier"] in ("A", "B", "C")
    assert scores["cluster_rules"]
    assert 0 <= scores["churn_risk"] <= 1
    assert scores["clv_value"] >= 0


def test_unknown_customer_is_404_and_one_without_orders_is_no_purchases(
    api: httpx.Client, services: dict[str, ServiceProcess], first_run: dict[str, Any]
) -> None:
    assert_problem(api.get("/v1/customers/00000000-0000-0000-0000-000000000000/scores"), 404)
    with httpx.Client(base_url=services["customers"].url, headers=TOKEN_HEADERS) as customers:
        created = customers.post("/v1/customers", json={"given_name": "Late", "city": "Xiamen"})
        assert created.status_code == 201, created.text
    scores = api.get(f"/v1/customers/{created.json()['id']}/scores").json()
    assert (scores["scored"], scores["segment"]) == (False, "no_purchases")


def test_rule_segment_counts_equal_a_brute_force_filter(api: httpx.Client, first_run: dict[str, Any]) -> None:
    rule = {"all": [{"field": "tier", "op": "eq", "value": "A"}, {"field": "churn_risk", "op": "gt", "value": 0.3}]}
    saved = api.put(
        "/v1/segments/golden-at-risk", json={"key": "golden-at-risk", "name": "Golden at risk", "filter": rule}
    )
    assert saved.status_code == 201, saved.text
    members = api.get("/v1/segments/golden-at-risk/members", params={"limit": 1000}).json()["items"]
    tier_a = api.put("/v1/segments/tier-a", json={"key": "tier-a", "name": "A", "filter": rule["all"][0]}).json()
    everyone = api.get("/v1/segments/tier-a/members", params={"limit": 1000}).json()["items"]
    expected = {m["customer_id"] for m in everyone if m["churn_risk"] is not None and m["churn_risk"] > 0.3}
    assert {m["customer_id"] for m in members} == expected
    assert saved.json()["count"] == len(expected)
    assert tier_a["count"] == len(everyone)
    listed = {s["key"]: s for s in api.get("/v1/segments").json()}
    assert listed["golden-at-risk"]["count"] == len(expected)
    assert api.post("/v1/segments:count", json={"filter": rule}).json()["count"] == len(expected)
    bad = api.put(
        "/v1/segments/bad", json={"key": "bad", "name": "x", "filter": {"field": "shoe_size", "op": "eq", "value": 1}}
    )
    body = assert_problem(bad, 422)
    assert "shoe_size" in str(body)
    assert api.delete("/v1/segments/tier-a").status_code == 204
    assert_problem(api.get("/v1/segments/tier-a/members"), 404)


def _all_members(api: httpx.Client, key: str) -> list[dict[str, Any]]:
    members: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = api.get(
            f"/v1/segments/{key}/members", params={"limit": 1000, "cursor": cursor} if cursor else {"limit": 1000}
        )
        members += page.json()["items"]
        if (cursor := page.json()["next_cursor"]) is None:
            return members


def test_top_members_equal_a_brute_force_ranking(api: httpx.Client, first_run: dict[str, Any]) -> None:
    valued = {"field": "tier", "op": "in", "value": ["A", "B"]}
    assert api.put("/v1/segments/valued", json={"key": "valued", "name": "A and B", "filter": valued}).status_code in (
        200,
        201,
    )
    members = _all_members(api, "valued")
    by_value = sorted(
        (m for m in members if m["churn_risk"] is not None),
        key=lambda m: (-m["churn_risk"] * m["monetary"], m["customer_id"]),
    )
    top = api.post("/v1/segments:top", json={"filter": valued, "limit": 10})
    assert top.status_code == 200, top.text
    answer = top.json()
    assert (answer["run_id"], answer["by"]) == (first_run["id"], "at_risk_value")
    assert [m["customer_id"] for m in answer["items"]] == [m["customer_id"] for m in by_value[:10]]
    assert answer["items"][0]["value"] == pytest.approx(by_value[0]["churn_risk"] * by_value[0]["monetary"])
    assert {m["tier"] for m in answer["items"]} <= {"A", "B"}
    by_clv = api.post("/v1/segments:top", json={"by": "clv_value", "limit": 3}).json()["items"]
    values = [m["value"] for m in by_clv]
    assert values == sorted(values, reverse=True)
    assert len(values) == 3
    for body, field in (
        ({"by": "shoe_size"}, "by"),
        ({"limit": 0}, "limit"),
        ({"filter": {"field": "x", "op": "eq", "value": 1}}, "x"),
        ({"sort": "up"}, "sort"),
    ):
        problem = assert_problem(api.post("/v1/segments:top", json=body), 422)
        assert field in str(problem)


def test_clusters_and_tiers_describe_the_last_run(api: httpx.Client, first_run: dict[str, Any]) -> None:
    clusters = api.get("/v1/clusters").json()
    assert clusters["run_id"] == first_run["id"]
    assert sum(c["size"] for c in clusters["clusters"]) > 0
    assert all(c["rules"] for c in clusters["clusters"])
    tiers = api.get("/v1/tiers").json()
    shares = {t["tier"]: t["share_revenue"] for t in tiers["tiers"]}
    assert shares["A"] == pytest.approx(0.8, abs=0.02)
    assert tiers["pareto"][0] == [0.0, 0.0]
    assert tiers["pareto"][-1] == [1.0, 1.0]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"params": {"k": 1}}, "k"),
        ({"params": {"churn_horizon_days": 0}}, "churn_horizon_days"),
        ({"as_of": "2999-01-01"}, "as_of"),
        ({"parts": ["rfm", "horoscope"]}, "parts"),
        ({"source_folder": "../../etc"}, "source_folder"),
    ],
)
def test_invalid_run_requests_are_422_naming_the_field(api: httpx.Client, body: dict[str, Any], field: str) -> None:
    problem = assert_problem(api.post("/v1/runs", json=body), 422)
    assert field in str(problem["errors"])


def test_a_failed_run_never_replaces_the_last_good_one(api: httpx.Client, first_run: dict[str, Any]) -> None:
    # In early 2024 there is no history older than the churn horizon: the run fails, naming the part.
    failed = wait_for(api, api.post("/v1/runs", json={"as_of": "2024-01-15", "parts": ["rfm", "churn"]}).json()["id"])
    assert failed["status"] == "failed"
    assert failed["error"].startswith("churn:")
    assert api.get("/v1/clusters").json()["run_id"] == first_run["id"]
    cancelled = api.post("/v1/runs", json={"as_of": AS_OF}).json()
    assert api.post(f"/v1/runs/{cancelled['id']}:cancel").status_code == 200
    assert wait_for(api, cancelled["id"])["status"] == "cancelled"
    assert api.get("/v1/summary").json()["run"]["id"] == first_run["id"]
    history = api.get("/v1/runs", params={"limit": 2}).json()
    assert [run["id"] for run in history["items"]] == [cancelled["id"], failed["id"]]


def test_a_run_reads_a_parquet_folder_of_the_data_lake(api: httpx.Client, first_run: dict[str, Any]) -> None:
    run = wait_for(api, api.post("/v1/runs", json={"as_of": AS_OF, "source_folder": "demo"}).json()["id"])
    assert run["status"] == "succeeded", run["error"]
    assert run["customers"] == first_run["customers"]  # the copy predates the customer created since
    assert api.get("/v1/summary").json()["run"]["id"] == run["id"]


def test_cli_starts_a_run_and_follows_its_progress(services: dict[str, ServiceProcess], api: httpx.Client) -> None:
    env = {**os.environ, "RAPPORT_SEGMENTATION_URL": services["segmentation"].url, "RAPPORT_ENV": "test"}
    done = subprocess.run(
        [sys.executable, "-m", "rapport.cli", "segment", "run", "--as-of", AS_OF, "--part", "rfm", "--part", "tiers"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "succeeded" in done.stdout
    latest = api.get("/v1/runs", params={"limit": 1}).json()["items"][0]
    assert (latest["trigger"], latest["parts"], latest["status"]) == ("cli", ["rfm", "tiers"], "succeeded")


def test_a_customer_erased_in_customers_is_forgotten_here(
    api: httpx.Client, services: dict[str, ServiceProcess], first_run: dict[str, Any]
) -> None:
    member = api.get("/v1/segments/lost/members", params={"limit": 1}).json()["items"][0]["customer_id"]
    assert api.get(f"/v1/customers/{member}/scores").json()["scored"] is True
    with httpx.Client(base_url=services["customers"].url, headers=TOKEN_HEADERS) as customers:
        erased = customers.delete(f"/v1/customers/{member}", headers={"X-Rapport-Actor": "admin:test"})
        assert erased.status_code in (200, 204), erased.text
    deadline = time.monotonic() + 20
    while api.get(f"/v1/customers/{member}/scores").status_code != 404:
        assert time.monotonic() < deadline, "the erasure never reached segmentation"
        time.sleep(0.2)
    csv_ids = api.get("/v1/segments/lost/members", params={"format": "csv"}).text
    assert member not in csv_ids


def test_many_customers_values_are_looked_up_at_once(api: httpx.Client, first_run: dict[str, Any]) -> None:
    members = api.get("/v1/segments/champions/members", params={"limit": 3}).json()["items"]
    ids = [m["customer_id"] for m in members]
    answer = api.post("/v1/scores:lookup", json={"customer_ids": [*ids, "not-a-customer"]})
    assert answer.status_code == 200, answer.text
    found = {row["customer_id"]: row for row in answer.json()["customers"]}
    assert set(found) == set(ids)  # the unknown id is left out
    for member in members:
        single = api.get(f"/v1/customers/{member['customer_id']}/scores").json()
        assert found[member["customer_id"]]["tier"] == single["tier"]
        assert found[member["customer_id"]]["segment"] == single["segment"] == "champions"
        assert found[member["customer_id"]]["churn_risk"] == single["churn_risk"]
    assert_problem(api.post("/v1/scores:lookup", json={"customer_ids": []}), 422)
