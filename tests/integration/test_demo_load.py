"""The demo data of `rapport up`: each empty service is filled through its own API, in order, once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rapport.config import Service
from rapport.seed import load_demo
from services.feedback import train
from tests.conftest import settings_for
from tests.feedback.support import DATA_DIR, MODEL_DIR
from tests.support import TOKEN_HEADERS, ServiceProcess, start_service

LOADED = (Service.customers, Service.segmentation, Service.recommendation, Service.feedback)


@pytest.fixture
def services(make_database_url: Any, tmp_path: Path) -> Iterator[dict[Service, ServiceProcess]]:
    train.load_or_train(MODEL_DIR, DATA_DIR)
    processes: dict[Service, ServiceProcess] = {}
    try:
        for service in LOADED:
            env = {f"RAPPORT_{s.value.upper()}_URL": p.url for s, p in processes.items()}
            env |= {"RAPPORT_FEEDBACK_MODEL_DIR": str(MODEL_DIR), "RAPPORT_DATA_DIR": str(DATA_DIR)}
            processes[service] = start_service(service, make_database_url(service.value), var_dir=tmp_path, **env)
        yield processes
    finally:
        for process in processes.values():
            process.stop()


def test_demo_fills_empty_services_once(services: dict[Service, ServiceProcess], tmp_path: Path) -> None:
    settings = settings_for(tmp_path, **{f"{s.value}_url": p.url for s, p in services.items()})
    lines: list[str] = []
    load_demo(settings, customers=400, seed=3, echo=lines.append)
    assert any(line.startswith("  customers: 400 customers") for line in lines), lines
    assert any(line.startswith("  segmentation: run ") for line in lines), lines
    assert any(line.startswith("  recommendation: model ") for line in lines), lines
    assert any(line.startswith("  feedback: ") and "(0 rejected)" in line for line in lines), lines
    with httpx.Client(base_url=services[Service.segmentation].url, headers=TOKEN_HEADERS) as client:
        (run,) = client.get("/v1/runs").json()["items"]
        assert run["status"] == "succeeded"
        assert run["as_of"].startswith("2025-12-31")
        assert client.get("/v1/segments").json()
    with httpx.Client(base_url=services[Service.feedback].url, headers=TOKEN_HEADERS) as client:
        linked = client.get("/v1/feedback", params={"limit": 50}).json()["items"]
        assert linked
        assert all(item["customer_id"] for item in linked)  # linked through the customers' source ids
    again: list[str] = []
    load_demo(settings, customers=400, seed=3, echo=again.append)
    assert sum("has data, left as it is" in line for line in again) == len(LOADED), again
