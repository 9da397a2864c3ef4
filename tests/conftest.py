"""Shared fixtures: a real database per test (SQLite file or PostgreSQL, chosen by
RAPPORT_TEST_DATABASE), free ports, and real uvicorn processes."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rapport.config import Service, Settings
from rapport.db import drop_database, ensure_database
from tests.support import ServiceProcess, start_service

BACKEND = os.environ.get("RAPPORT_TEST_DATABASE", "sqlite")
POSTGRES_SERVER = os.environ.get("RAPPORT_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")
REPO = Path(__file__).resolve().parents[1]


def pytest_report_header() -> str:
    return f"rapport test database backend: {BACKEND}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Models and pure functions give the same answer whatever the database: test them once, on SQLite."""
    if BACKEND != "postgresql":
        return
    skip = pytest.mark.skip(reason="database independent: runs in the SQLite pass")
    for item in items:
        if item.get_closest_marker("database_independent") is not None:
            item.add_marker(skip)


def _database_factory(folder: Path) -> Iterator[Callable[[str], str]]:
    created: list[str] = []

    def make(name: str = "db") -> str:
        if BACKEND == "postgresql":
            url = f"{POSTGRES_SERVER}/rapport_test_{name}_{uuid.uuid4().hex[:10]}"
            ensure_database(url)
        else:
            url = f"sqlite:///{folder / f'{name}-{uuid.uuid4().hex[:6]}.db'}"
        created.append(url)
        return url

    yield make
    for url in created:
        drop_database(url)


@pytest.fixture
def make_database_url(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Factory of empty databases on the backend under test; all are dropped at teardown."""
    yield from _database_factory(tmp_path)


@pytest.fixture(scope="module")
def make_module_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], str]]:
    """The same, for databases shared by a test module (dropped after its last test)."""
    yield from _database_factory(tmp_path_factory.mktemp("databases"))


@pytest.fixture
def database_url(make_database_url: Callable[[str], str]) -> str:
    return make_database_url("db")


def settings_for(tmp_path: Path, urls: dict[Service, str] | None = None, **overrides: object) -> Settings:
    """Settings for tests: var under tmp_path, databases as given, test env."""
    fields: dict[str, object] = {"env": "test", "var_dir": tmp_path / "var", "log_level": "WARNING"}
    for service, url in (urls or {}).items():
        fields[f"{service.value}_database_url"] = url
    fields.update(overrides)
    return Settings(**fields)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def session_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[Service, str]]:
    """One database per service for the whole session (for the long-lived service processes)."""
    folder = tmp_path_factory.mktemp("services")
    urls: dict[Service, str] = {}
    for service in Service:
        if BACKEND == "postgresql":
            urls[service] = f"{POSTGRES_SERVER}/rapport_test_{service.value}_{uuid.uuid4().hex[:10]}"
            ensure_database(urls[service])
        else:
            urls[service] = f"sqlite:///{folder / service.value}.db"
    yield urls
    for url in urls.values():
        drop_database(url)


@pytest.fixture(scope="session")
def running_services(
    session_databases: dict[Service, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[Service, ServiceProcess]]:
    """All five services as real uvicorn processes on free ports, shared by the session."""
    from services.feedback import train
    from tests.feedback.support import DATA_DIR, MODEL_DIR

    train.load_or_train(MODEL_DIR, DATA_DIR)  # once, shared: the feedback service would train it on start
    models = {"RAPPORT_FEEDBACK_MODEL_DIR": str(MODEL_DIR), "RAPPORT_DATA_DIR": str(DATA_DIR)}
    var_dir = tmp_path_factory.mktemp("var")
    processes: dict[Service, ServiceProcess] = {}
    try:
        for service in Service:
            processes[service] = start_service(service, session_databases[service], var_dir=var_dir, **models)
        yield processes
    finally:
        for process in processes.values():
            process.stop()
