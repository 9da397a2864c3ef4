"""The feedback service over HTTP, with real customers and segmentation services beside it (uvicorn processes).

Customers and a segmentation run come from a small demo data set, so "tier A" and "at risk" are real scores.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from rapport.config import Service
from rapport.demo import generate
from rapport.http import ServiceClient
from services.customers import demo as customers_demo
from services.feedback import train
from tests.feedback.support import DATA_DIR, MODEL_DIR
from tests.support import TOKEN_HEADERS, ServiceProcess, assert_problem, free_port, start_service, wait_for_job

AS_OF = "2026-01-01T00:00:00Z"  # the demo data runs to the end of 2025
NEGATIVE_EN = "Terrible experience, the parcel arrived broken and support never answered. I want a refund."
POSITIVE_EN = "Great quality and fast delivery, I love it. Will buy again!"


def feedback_env(customers: str, segmentation: str) -> dict[str, str]:
    return {
        "RAPPORT_CUSTOMERS_URL": customers,
        "RAPPORT_SEGMENTATION_URL": segmentation,
        "RAPPORT_FEEDBACK_MODEL_DIR": str(MODEL_DIR),
        "RAPPORT_DATA_DIR": str(DATA_DIR),
        "RAPPORT_FEEDBACK_SPIKE_MIN": "4",
        "RAPPORT_WEBHOOK_BACKOFF_SECONDS": "0.3",
    }


@pytest.fixture(scope="module")
def services(
    make_module_database_url: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, ServiceProcess]]:
    train.load_or_train(MODEL_DIR, DATA_DIR)  # once, before the service needs it
    var_dir = tmp_path_factory.mktemp("var")
    data = tmp_path_factory.mktemp("demo")
    generate(data, customers=800, seed=11, fmt="csv")
    started: list[ServiceProcess] = []
    try:
        customers = start_service(Service.customers, make_module_database_url("customers"), var_dir=var_dir)
        started.append(customers)
        with ServiceClient(customers.url, token=TOKEN_HEADERS["X-Service-Token"], timeout=120) as client:
            customers_demo.load(client, data)
        segmentation = start_service(
            Service.segmentation,
            make_module_database_url("segmentation"),
            var_dir=var_dir,
            RAPPORT_CUSTOMERS_URL=customers.url,
        )
        started.append(segmentation)
        run = httpx.post(
            f"{segmentation.url}/v1/runs", json={"as_of": AS_OF, "parts": ["rfm", "tiers"]}, headers=TOKEN_HEADERS
        )
        assert run.status_code == 202, run.text
        with httpx.Client(base_url=segmentation.url, headers=TOKEN_HEADERS) as client:
            assert wait_for_job(client, f"/v1/runs/{run.json()['id']}", timeout=300)["status"] == "succeeded"
        feedback = start_service(
            Service.feedback,
            make_module_database_url("feedback"),
            var_dir=var_dir,
            **feedback_env(customers.url, segmentation.url),
        )
        started.append(feedback)
        yield {"customers": customers, "segmentation": segmentation, "feedback": feedback}
    finally:
        for process in reversed(started):
            process.stop()
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="module")
def api(services: dict[str, ServiceProcess]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=services["feedback"].url, headers=TOKEN_HEADERS, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def people(services: dict[str, ServiceProcess]) -> dict[str, str]:
    """A tier-A customer and a low-value, low-risk one, by the segmentation run's real scores."""
    with httpx.Client(headers=TOKEN_HEADERS, timeout=30) as client:
        ids = [
            c["id"]
            for c in client.get(f"{services['customers'].url}/v1/customers", params={"limit": 800}).json()["items"]
        ]
        scored = client.post(f"{services['segmentation'].url}/v1/scores:lookup", json={"customer_ids": ids}).json()
    rows = scored["customers"]
    tier_a = next(r for r in rows if r["tier"] == "A")
    ordinary = next(r for r in rows if r["tier"] == "C" and r["segment"] in ("lost", "hibernating", "new", "promising"))
    return {"tier_a": tier_a["customer_id"], "ordinary": ordinary["customer_id"]}


def open_alerts(api: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    response = api.get("/v1/alerts", params={"status": "open", "limit": 1000, **params})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_a_write_comes_back_analysed(api: httpx.Client) -> None:
    response = api.post("/v1/feedback", json={"channel": "app_review", "text": NEGATIVE_EN, "csat": 1})
    assert response.status_code == 201, response.text
    stored = response.json()
    assert stored["language"] == "en"
    assert stored["language_detected"] is True
    assert stored["label"] == "negative"
    assert stored["sentiment"] < -0.3
    assert {"delivery", "service"} <= {a["aspect"] for a in stored["aspects"]}
    assert api.get(f"/v1/feedback/{stored['id']}").json() == stored

    chinese = api.post(
        "/v1/feedback", json={"channel": "social", "text": "物流太慢了，客服态度也很差，非常失望"}
    ).json()
    assert chinese["language"] == "zh"
    assert chinese["label"] == "negative"
    assert "delivery" in {a["aspect"] for a in chinese["aspects"]}


def test_a_score_without_text_is_valid_and_labelled_by_the_score(api: httpx.Client) -> None:
    stored = api.post("/v1/feedback", json={"channel": "survey", "nps": 3}).json()
    assert stored["text"] == ""
    assert stored["sentiment"] is None
    assert stored["language"] is None
    assert stored["label"] == "negative"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": "survey", "nps": 11}, "body.nps"),
        ({"channel": "survey", "csat": 0}, "body.csat"),
        ({"channel": "fax", "nps": 5}, "body.channel"),
        ({"channel": "survey"}, "body"),
        ({"channel": "survey", "nps": 5, "customer_id": "x", "customer": {"source": "s", "external_id": "e"}}, "body"),
        ({"channel": "survey", "text": "x" * 5001}, "body.text"),
        ({"channel": "survey", "nps": 5, "occurred_at": "2999-01-01T00:00:00Z"}, "body.occurred_at"),
        ({"channel": "survey", "nps": 5, "customer": {"source": "demo", "external_id": "nobody"}}, "body.customer"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(api: httpx.Client, body: dict[str, Any], field: str) -> None:
    before = api.get("/v1/feedback", params={"limit": 1000}).json()["items"]
    problem = assert_problem(api.post("/v1/feedback", json=body), 422)
    assert any(error["loc"].startswith(field) for error in problem["errors"]), problem
    assert api.get("/v1/feedback", params={"limit": 1000}).json()["items"] == before


def test_the_same_source_record_is_stored_once(api: httpx.Client) -> None:
    record = {"channel": "email", "text": "Thanks, all good.", "source": "zendesk", "external_id": f"T-{uuid.uuid4()}"}
    first = api.post("/v1/feedback", json=record)
    again = api.post("/v1/feedback", json=record)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]


def test_a_batch_writes_the_valid_records_and_reports_the_rest(api: httpx.Client) -> None:
    key = f"B-{uuid.uuid4()}"
    records = [
        {"channel": "chat", "text": "Very helpful agent, thank you", "source": "chat", "external_id": key},
        {"channel": "chat", "nps": 42},
        {"channel": "chat", "text": "duplicate of the first", "source": "chat", "external_id": key},
        {"channel": "survey", "nps": 9, "customer": {"source": "demo", "external_id": "no-such-person"}},
    ]
    answer = api.post("/v1/feedback:batch", json={"records": records}).json()
    assert answer["counts"] == {"created": 1, "unchanged": 1, "error": 2}
    by_index = {r["index"]: r for r in answer["results"]}
    assert by_index[2]["id"] == by_index[0]["id"]
    assert by_index[1]["errors"][0]["loc"] == "nps"
    assert by_index[3]["errors"][0]["loc"] == "customer"
    assert api.get(f"/v1/feedback/{by_index[0]['id']}").json()["text"] == "Very helpful agent, thank you"


def test_a_complaint_from_a_tier_a_customer_raises_an_alert_at_once(api: httpx.Client, people: dict[str, str]) -> None:
    customer = people["tier_a"]
    written = api.post(
        "/v1/feedback", json={"channel": "survey", "customer_id": customer, "nps": 2, "text": NEGATIVE_EN}
    )
    assert written.status_code == 201
    alerts = [a for a in open_alerts(api, customer_id=customer) if a["feedback_id"] == written.json()["id"]]
    assert len(alerts) == 1, "the alert exists as soon as the write has been answered"
    alert = alerts[0]
    assert alert["rule"] == "valued_customer"
    assert alert["severity"] == "high"
    assert "value tier A" in alert["detail"]["customer_value"]
    assert written.json()["customer_tier"] == "A"


def test_praise_from_a_tier_a_customer_or_a_complaint_from_an_ordinary_one_raises_none(
    api: httpx.Client, people: dict[str, str]
) -> None:
    praise = api.post(
        "/v1/feedback", json={"channel": "survey", "customer_id": people["tier_a"], "nps": 10, "text": POSITIVE_EN}
    )
    complaint = api.post(
        "/v1/feedback", json={"channel": "survey", "customer_id": people["ordinary"], "nps": 2, "text": NEGATIVE_EN}
    )
    raised_for = {a["feedback_id"] for a in open_alerts(api)}
    assert praise.json()["id"] not in raised_for
    assert complaint.json()["id"] not in raised_for


def test_history_older_than_the_alert_window_raises_no_alert(api: httpx.Client, people: dict[str, str]) -> None:
    old = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    written = api.post(
        "/v1/feedback", json={"channel": "survey", "customer_id": people["tier_a"], "nps": 0, "occurred_at": old}
    ).json()
    assert written["id"] not in {a["feedback_id"] for a in open_alerts(api)}


def test_alerts_fire_on_text_and_score_alone_while_segmentation_is_down(
    services: dict[str, ServiceProcess], make_module_database_url: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    lonely = start_service(
        Service.feedback,
        make_module_database_url("feedback_alone"),
        var_dir=tmp_path_factory.mktemp("alone"),
        **feedback_env(services["customers"].url, nowhere),
    )
    try:
        with httpx.Client(base_url=lonely.url, headers=TOKEN_HEADERS, timeout=30) as client:
            written = client.post(
                "/v1/feedback", json={"channel": "chat", "customer_id": "c-1", "csat": 1, "text": NEGATIVE_EN}
            )
            assert written.status_code == 201, written.text
            (alert,) = open_alerts(client)
            assert alert["feedback_id"] == written.json()["id"]
            assert alert["detail"]["value_known"] is False
            assert alert["severity"] == "medium"
    finally:
        lonely.stop()


def test_a_negative_spike_on_one_aspect_raises_one_alert(api: httpx.Client) -> None:
    texts = [
        "The delivery was late again, the courier lost my parcel",
        "Shipping took three weeks, awful delivery",
        "My package never arrived, delivery is a joke",
        "Late delivery and a damaged box",
        "Delivery was delayed for ten days, terrible",
    ]
    api.post("/v1/feedback:batch", json={"records": [{"channel": "social", "text": t} for t in texts]})
    spikes = [a for a in open_alerts(api) if a["rule"] == "negative_spike" and a["aspect"] == "delivery"]
    assert len(spikes) == 1
    assert spikes[0]["detail"]["today"] >= 4
    api.post("/v1/feedback", json={"channel": "social", "text": "Delivery late again, very annoyed"})
    assert len([a for a in open_alerts(api) if a["rule"] == "negative_spike" and a["aspect"] == "delivery"]) == 1


def test_an_alert_is_acknowledged_then_resolved(api: httpx.Client, people: dict[str, str]) -> None:
    written = api.post(
        "/v1/feedback", json={"channel": "chat", "customer_id": people["tier_a"], "csat": 1, "text": NEGATIVE_EN}
    )
    (alert,) = [a for a in open_alerts(api) if a["feedback_id"] == written.json()["id"]]
    acknowledged = api.post(f"/v1/alerts/{alert['id']}:acknowledge", json={"note": "calling them"}).json()
    assert acknowledged["status"] == "acknowledged"
    assert acknowledged["note"] == "calling them"
    assert alert["id"] not in {a["id"] for a in open_alerts(api)}
    resolved = api.post(f"/v1/alerts/{alert['id']}:resolve").json()
    assert resolved["status"] == "resolved"
    assert resolved["resolved_at"] is not None
    assert_problem(api.post(f"/v1/alerts/{alert['id']}:acknowledge"), 409)
    assert_problem(api.post(f"/v1/alerts/{uuid.uuid4()}:resolve"), 404)


def test_nps_and_csat_statistics_on_a_hand_example(api: httpx.Client) -> None:
    day = "2021-03-0{}T10:00:00Z"
    scores = [
        (10, 1, "survey"),
        (10, 1, "survey"),
        (9, 2, "email"),
        (7, 2, "survey"),
        (3, 3, "email"),
        (0, 3, "survey"),
        (8, 3, "survey"),
    ]
    records = [{"channel": channel, "nps": nps, "occurred_at": day.format(d)} for nps, d, channel in scores]
    records += [{"channel": "survey", "csat": c, "occurred_at": day.format(1)} for c in (5, 4, 2)]
    assert api.post("/v1/feedback:batch", json={"records": records}).json()["counts"]["created"] == 10
    stats = api.get("/v1/stats", params={"from": "2021-03-01", "to": "2021-03-07", "interval": "week"}).json()
    totals = stats["totals"]
    # 3 promoters (10, 10, 9) and 2 detractors (3, 0) out of 7 answers.
    assert totals["nps"] == pytest.approx(100 * (3 - 2) / 7, abs=0.01)
    assert totals["nps_responses"] == 7
    assert totals["volume"] == 10
    assert totals["csat"] == pytest.approx(11 / 3, abs=1e-3)
    assert totals["csat_satisfied"] == pytest.approx(2 / 3, abs=1e-3)
    assert [row["period"] for row in stats["series"]] == ["2021-03-01"]  # a Monday: one week
    daily = api.get("/v1/stats", params={"from": "2021-03-01", "to": "2021-03-07", "by": "channel"}).json()
    email_day_3 = next(r for r in daily["series"] if r["period"] == "2021-03-03" and r["group"] == "email")
    assert email_day_3["nps"] == -100.0  # one detractor (3) alone
    assert_problem(api.get("/v1/stats", params={"from": "2021-03-07", "to": "2021-03-01"}), 422)
    assert_problem(api.get("/v1/stats", params={"interval": "year"}), 422)


def test_stats_by_aspect_and_top_complaints(api: httpx.Client) -> None:
    records = [
        {
            "channel": "app_review",
            "text": "The app keeps crashing when I log in",
            "occurred_at": "2021-04-01T09:00:00Z",
        },
        {
            "channel": "app_review",
            "text": "App crashes every time, useless website too",
            "occurred_at": "2021-04-01T10:00:00Z",
        },
        {
            "channel": "survey",
            "text": "Price is fair and the quality is excellent",
            "occurred_at": "2021-04-01T11:00:00Z",
        },
    ]
    api.post("/v1/feedback:batch", json={"records": records})
    stats = api.get("/v1/stats", params={"from": "2021-04-01", "to": "2021-04-01", "by": "aspect"}).json()
    assert stats["top_complaints"][0]["aspect"] == "app"
    assert stats["top_complaints"][0]["negative"] == 2
    groups = {row["group"]: row for row in stats["series"]}
    assert groups["app"]["negative_share"] == 1.0
    assert groups["quality"]["sentiment"] > 0


def test_a_customer_summary(api: httpx.Client, people: dict[str, str]) -> None:
    customer = people["ordinary"]
    summary = api.get(f"/v1/customers/{customer}/feedback/summary").json()
    assert summary["count"] >= 1
    assert summary["latest_nps"] == 2
    assert summary["recent"][0]["customer_id"] == customer
    nobody = api.get("/v1/customers/nobody/feedback/summary").json()
    assert nobody["count"] == 0
    assert nobody["nps"] is None
    assert nobody["recent"] == []
    assert "alerts" not in summary


def test_a_summary_with_open_alerts_answers_them_as_the_inbox_does(api: httpx.Client, people: dict[str, str]) -> None:
    customer = people["tier_a"]
    for text in (NEGATIVE_EN, NEGATIVE_EN + " Again."):
        written = api.post("/v1/feedback", json={"channel": "survey", "customer_id": customer, "nps": 1, "text": text})
        assert written.status_code == 201, written.text
    inbox = open_alerts(api, customer_id=customer)
    assert len(inbox) >= 2
    summary = api.get(f"/v1/customers/{customer}/feedback/summary", params={"alerts": 2}).json()
    assert summary["alerts"] == inbox[:2]
    assert summary["open_alerts"] == len(inbox)
    plain = api.get(f"/v1/customers/{customer}/feedback/summary").json()
    assert {k: v for k, v in summary.items() if k != "alerts"} == plain
    # The counts equal a recount of the customer's feedback as listed.
    listed = api.get("/v1/feedback", params={"customer_id": customer, "limit": 1000}).json()["items"]
    assert summary["count"] == len(listed)
    channels: dict[str, int] = {}
    complaints: dict[str, int] = {}
    for item in listed:
        channels[item["channel"]] = channels.get(item["channel"], 0) + 1
        for mention in item["aspects"]:
            if mention["sentiment"] < 0:
                complaints[mention["aspect"]] = complaints.get(mention["aspect"], 0) + 1
    assert summary["channels"] == channels
    assert summary["complaints"] == complaints
    assert complaints
    scored = [i for i in listed if i["nps"] is not None]
    assert summary["latest_nps"] == max(scored, key=lambda i: i["occurred_at"])["nps"]
    assert api.get("/v1/customers/nobody/feedback/summary", params={"alerts": 5}).json()["alerts"] == []
    for wrong in ("-1", "51", "many"):
        body = assert_problem(api.get(f"/v1/customers/{customer}/feedback/summary", params={"alerts": wrong}), 422)
        assert "alerts" in str(body)


def test_keywords_and_topics_of_recent_feedback(api: httpx.Client) -> None:
    keywords = api.get("/v1/keywords", params={"k": 10}).json()
    assert any(k["term"] in ("delivery", "late", "parcel", "courier") for k in keywords), keywords
    topics = api.get("/v1/topics", params={"n": 3}).json()
    assert topics
    assert all(t["terms"] and t["examples"] for t in topics)


def test_erasing_a_customer_erases_their_feedback_text(api: httpx.Client, services: dict[str, ServiceProcess]) -> None:
    with httpx.Client(headers=TOKEN_HEADERS, timeout=30) as client:
        customer = client.get(f"{services['customers'].url}/v1/customers", params={"limit": 1}).json()["items"][0]["id"]
        written = api.post(
            "/v1/feedback", json={"channel": "email", "customer_id": customer, "text": "Call me on 555-0100", "nps": 8}
        ).json()
        assert client.delete(f"{services['customers'].url}/v1/customers/{customer}").status_code == 204
    deadline = time.monotonic() + 30
    while (stored := api.get(f"/v1/feedback/{written['id']}").json())["customer_id"] is not None:
        assert time.monotonic() < deadline, "the erasure did not reach the feedback service"
        time.sleep(0.2)
    assert stored["text"] == ""
    assert stored["nps"] == 8
