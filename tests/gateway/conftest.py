"""Gateway test fixtures: the real customers, segmentation, recommendation and feedback services over a
small demo data set, one gateway database holding a key per role, and a factory of gateway processes
(each test that needs other settings starts its own)."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from gateway import keys
from gateway.models import Role
from rapport import migrations
from rapport.config import Service
from rapport.db import make_engine, make_sessionmaker
from rapport.demo import generate
from rapport.http import ServiceClient
from services.customers import demo as customers_demo
from services.feedback import train as feedback_train
from services.feedback.client import FeedbackClient
from services.recommendation import demo as recommendation_demo
from services.segmentation import demo as segmentation_demo
from tests.conftest import _database_factory
from tests.feedback.support import DATA_DIR, MODEL_DIR
from tests.support import TOKEN_HEADERS, ServiceProcess, start_service

PARTNER_SOURCE = "acme"
# High enough that no test but the rate-limit ones ever meets a limit.
GENEROUS_LIMITS = '{"frontend": {"per_second": 1000, "burst": 5000}, "partner": {"per_second": 1000, "burst": 5000}, "analyst": {"per_second": 1000, "burst": 5000}, "admin": {"per_second": 1000, "burst": 5000}}'


@dataclass
class Platform:
    urls: dict[Service, str]
    gateway_database: str
    var_dir: Path
    secrets: dict[str, str]  # role (or "revoked") -> secret
    key_ids: dict[str, str]
    demo_customer_ids: list[str] = field(default_factory=list)
    complained: list[str] = field(default_factory=list)  # demo customers whose complaint raised an open alert

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secrets[role]}"}

    def add_key(self, role: Role, *, name: str, source: str | None = None) -> tuple[str, str]:
        engine = make_engine(self.gateway_database)
        try:
            with make_sessionmaker(engine)() as session, session.begin():
                key, secret = keys.create(session, name=name, role=role, source=source)
                return key.id, secret
        finally:
            engine.dispose()


@pytest.fixture(scope="session")
def gateway_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], str]]:
    yield from _database_factory(tmp_path_factory.mktemp("gateway-databases"))


@pytest.fixture(scope="session")
def platform(gateway_databases: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    var_dir = tmp_path_factory.mktemp("gateway-var")
    data = tmp_path_factory.mktemp("gateway-demo")
    generate(data, customers=300, seed=11, fmt="csv")
    started: list[ServiceProcess] = []
    feedback_train.load_or_train(MODEL_DIR, DATA_DIR)
    try:
        customers = start_service(Service.customers, gateway_databases("customers"), var_dir=var_dir)
        started.append(customers)
        for service in (Service.segmentation, Service.recommendation):
            started.append(
                start_service(
                    service, gateway_databases(service.value), var_dir=var_dir, RAPPORT_CUSTOMERS_URL=customers.url
                )
            )
        urls = {process.service: process.url for process in started}
        with ServiceClient(customers.url, token=TOKEN_HEADERS["X-Service-Token"], timeout=120) as client:
            customers_demo.load(client, data)
            ids = [row["id"] for row in client.get("/v1/customers", params={"limit": 20}).json()["items"]]
        _train(urls, data)
        feedback = start_service(
            Service.feedback,
            gateway_databases(Service.feedback.value),
            var_dir=var_dir,
            RAPPORT_FEEDBACK_MODEL_DIR=str(MODEL_DIR),
            **{f"RAPPORT_{service.value.upper()}_URL": url for service, url in urls.items()},
        )
        started.append(feedback)
        urls[Service.feedback] = feedback.url
        complained = _complain(feedback.url, ids[:-2])  # the last two are merged by a 360 test
        gateway_database = gateway_databases("gateway")
        migrations.upgrade(Service.gateway, gateway_database)
        platform = Platform(urls, gateway_database, var_dir, {}, {}, ids, complained)
        for role in Role:
            source = PARTNER_SOURCE if role is Role.partner else None
            platform.key_ids[role.value], platform.secrets[role.value] = platform.add_key(
                role, name=f"test {role.value}", source=source
            )
        platform.key_ids["revoked"], platform.secrets["revoked"] = platform.add_key(Role.admin, name="revoked")
        engine = make_engine(gateway_database)
        with make_sessionmaker(engine)() as session, session.begin():
            keys.revoke(session, key_id=platform.key_ids["revoked"])
        engine.dispose()
        yield platform
    finally:
        for process in started:
            process.stop()
        shutil.rmtree(data, ignore_errors=True)


def _complain(feedback_url: str, customer_ids: list[str]) -> list[str]:
    """A detractor's complaint from each customer; the ones the alert rules find valuable get an open alert
    (asked of the real segmentation run). Returns those customers, in `customer_ids`' order."""
    with ServiceClient(feedback_url, token=TOKEN_HEADERS["X-Service-Token"], timeout=120) as client:
        feedback = FeedbackClient(client)
        feedback.batch(
            [
                {"channel": "survey", "customer_id": customer_id, "nps": 1, "text": "Terrible service, never again."}
                for customer_id in customer_ids
            ]
        )
        alerted = {
            alert["customer_id"] for alert in client.get("/v1/alerts", params={"status": "open"}).json()["items"]
        }
    complained = [customer_id for customer_id in customer_ids if customer_id in alerted]
    assert complained, "no demo customer is valuable enough for an alert: the gateway's 360 tests need one"
    return complained


def _train(urls: dict[Service, str], data: Path) -> None:
    """A segmentation run and a recommendation model over the demo data, side by side."""
    errors: list[BaseException] = []

    def run(service: Service, load: Callable[[ServiceClient, Path], str]) -> None:
        try:
            with ServiceClient(urls[service], token=TOKEN_HEADERS["X-Service-Token"], timeout=120) as client:
                load(client, data)
        except BaseException as error:
            errors.append(error)

    threads = [
        threading.Thread(target=run, args=(Service.segmentation, segmentation_demo.load)),
        threading.Thread(target=run, args=(Service.recommendation, recommendation_demo.load)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


GatewayFactory = Callable[..., ServiceProcess]


@pytest.fixture(scope="session")
def start_gateway(platform: Platform) -> Iterator[GatewayFactory]:
    """Start a gateway process over the platform; keyword arguments are extra environment variables
    (`RAPPORT_SEGMENTATION_URL=...` to point one service elsewhere)."""
    processes: list[ServiceProcess] = []

    def start(**env: str) -> ServiceProcess:
        environment = {f"RAPPORT_{service.value.upper()}_URL": url for service, url in platform.urls.items()}
        environment |= {"RAPPORT_MIGRATE_ON_START": "false", "RAPPORT_GATEWAY_RATE_LIMITS": GENEROUS_LIMITS}
        process = start_service(
            Service.gateway, platform.gateway_database, var_dir=platform.var_dir, **(environment | env)
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        process.stop()


@pytest.fixture(scope="session")
def gateway(start_gateway: GatewayFactory) -> ServiceProcess:
    """The shared gateway over every service, with generous rate limits."""
    return start_gateway()


@pytest.fixture
def client(gateway: ServiceProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.url, timeout=30) as http:
        yield http
