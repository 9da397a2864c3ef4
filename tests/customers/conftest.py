"""The customers app on a real database (SQLite file or PostgreSQL), served by real uvicorn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rapport.config import Service
from services.customers.app import create_app
from tests.conftest import settings_for
from tests.support import TOKEN_HEADERS, ThreadedServer


@pytest.fixture
def customers_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    settings = settings_for(tmp_path, {Service.customers: database_url})
    with ThreadedServer(create_app(settings)) as server:
        yield server.url


@pytest.fixture
def api(customers_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=customers_url, headers=TOKEN_HEADERS, timeout=30) as client:
        yield client
