from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from rapport.config import DEFAULT_PORTS, Service, Settings


def test_each_service_gets_its_own_sqlite_file_under_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAPPORT_DATABASE_URL", raising=False)
    settings = Settings(var_dir=Path("/srv/rapport"))
    urls = {settings.database_url_for(service) for service in Service}
    assert len(urls) == len(Service)
    assert settings.database_url_for("customers") == "sqlite:////srv/rapport/customers.db"


def test_per_service_url_wins_over_template(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAPPORT_DATABASE_URL", "postgresql+psycopg://db/rapport_{service}")
    monkeypatch.setenv("RAPPORT_FEEDBACK_DATABASE_URL", "postgresql+psycopg://other/fb")
    settings = Settings()
    assert settings.database_url_for(Service.segmentation) == "postgresql+psycopg://db/rapport_segmentation"
    assert settings.database_url_for(Service.feedback) == "postgresql+psycopg://other/fb"


def test_ports_and_urls_default_and_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAPPORT_CUSTOMERS_PORT", "9101")
    monkeypatch.setenv("RAPPORT_SEGMENTATION_URL", "http://segmentation.internal:80/")
    settings = Settings()
    assert settings.port_for(Service.gateway) == DEFAULT_PORTS[Service.gateway] == 8000
    assert settings.url_for(Service.customers) == "http://127.0.0.1:9101"
    assert settings.url_for(Service.segmentation) == "http://segmentation.internal:80"


def test_production_refuses_the_development_service_token() -> None:
    with pytest.raises(ValidationError, match="RAPPORT_SERVICE_TOKEN"):
        Settings(env="production")
    assert Settings(env="production", service_token="s3cret-value").env == "production"  # type: ignore[arg-type]


def test_datasets_dir_follows_var_dir_unless_set() -> None:
    assert Settings(var_dir=Path("/v")).datasets_dir == Path("/v/datasets")
    assert Settings(var_dir=Path("/v"), data_dir=Path("/cache")).datasets_dir == Path("/cache")
