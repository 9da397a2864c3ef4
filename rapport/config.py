"""One Settings class for every Rapport process, read from `RAPPORT_*` environment variables.

Settings are built once (by the CLI or an app factory) and passed down; nothing reads the
environment at import time.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SERVICE_TOKEN = "rapport-dev-internal-token"


class Service(StrEnum):
    """The five runnable apps; the value is also the module path segment and database name."""

    customers = "customers"
    segmentation = "segmentation"
    recommendation = "recommendation"
    feedback = "feedback"
    gateway = "gateway"

    @property
    def app_factory(self) -> str:
        """The uvicorn `--factory` target of this service."""
        package = "gateway" if self is Service.gateway else f"services.{self.value}"
        return f"{package}.app:create_app"


DEFAULT_PORTS: dict[Service, int] = {
    Service.gateway: 8000,
    Service.customers: 8001,
    Service.segmentation: 8002,
    Service.recommendation: 8003,
    Service.feedback: 8004,
}


class RateLimit(BaseModel):
    """A token bucket: `burst` requests at once, refilled at `per_second`."""

    per_second: float = Field(gt=0)
    burst: int = Field(ge=1)


class Settings(BaseSettings):
    """Configuration of a Rapport process. Every field is `RAPPORT_<FIELD>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="RAPPORT_", env_file=None, extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    var_dir: Path = Path("var")
    data_dir: Path | None = Field(default=None, description="data set cache; default <var_dir>/datasets")

    # `{service}` is replaced by the service name, so one template serves every service; a
    # per-service URL (RAPPORT_CUSTOMERS_DATABASE_URL, ...) wins over the template.
    database_url: str = "sqlite:///{var_dir}/{service}.db"
    customers_database_url: str | None = None
    segmentation_database_url: str | None = None
    recommendation_database_url: str | None = None
    feedback_database_url: str | None = None
    gateway_database_url: str | None = None

    host: str = "127.0.0.1"
    gateway_port: int = DEFAULT_PORTS[Service.gateway]
    customers_port: int = DEFAULT_PORTS[Service.customers]
    segmentation_port: int = DEFAULT_PORTS[Service.segmentation]
    recommendation_port: int = DEFAULT_PORTS[Service.recommendation]
    feedback_port: int = DEFAULT_PORTS[Service.feedback]
    # Base URLs other services use to reach a service; default: host and port above.
    customers_url: str | None = None
    segmentation_url: str | None = None
    recommendation_url: str | None = None
    feedback_url: str | None = None
    gateway_url: str | None = None

    service_token: SecretStr = SecretStr(DEV_SERVICE_TOKEN)
    max_body_bytes: int = 10 * 1024 * 1024
    upload_max_bytes: int = 2 * 1024 * 1024 * 1024
    http_timeout_seconds: float = 5.0
    http_retries: int = 2
    log_level: str = "INFO"
    migrate_on_start: bool = True
    redis_url: str | None = None

    # customers service
    default_phone_region: str = Field(default="CN", description="region of phone numbers without +country code")
    base_currency: str = "USD"
    # Conversion into the base currency for purchase facts (total_spent); orders keep their own currency.
    fx_rates: dict[str, Decimal] = Field(
        default_factory=lambda: {
            "USD": Decimal("1"),
            "CNY": Decimal("0.14"),
            "GBP": Decimal("1.27"),
            "EUR": Decimal("1.08"),
            "JPY": Decimal("0.0067"),
            "HKD": Decimal("0.128"),
        }
    )
    batch_max_records: int = 10_000
    # File imports commit this much of the file per transaction (a crash loses at most one such chunk).
    # 16 MiB (~170k order lines): against 4 MiB, 10% less CPU per line on both backends (fewer commits,
    # an index page changed by several orders is written once), for ~200 MiB more memory while importing.
    import_chunk_bytes: int = Field(default=16 * 1024 * 1024, ge=4096)
    # SQLite only: page cache and memory map of the import connection. Imports update index pages all over
    # the orders and customers tables; once those indexes outgrow the cache, every chunk rereads them.
    # Memory is taken as pages are used, up to this bound (about the size of the orders' indexes at 10M lines).
    import_sqlite_cache_mib: int = Field(default=1024, ge=2)
    idempotency_ttl_hours: int = 24
    # The change feed keeps events this long; a follower further behind gets 410 and resyncs from exports.
    changes_retention_days: int = Field(default=30, ge=0, description="0 keeps every event")

    # segmentation service
    segmentation_schedule: str | None = Field(
        default=None, description='start runs on a schedule: "@daily", "@hourly", "02:30" (daily, UTC), "every 6h"'
    )
    # Runs may read Parquet files (a data lake) from folders under this one instead of the customers export.
    data_lake_dir: Path | None = Field(default=None, description="default <var_dir>/lake")

    # feedback service
    feedback_model_dir: Path | None = Field(
        default=None, description="sentiment models; default <var_dir>/models/feedback"
    )
    feedback_max_text_chars: int = Field(default=5000, ge=1)
    # Feedback older than this is history being loaded, not news: it is analysed but raises no alert.
    feedback_alert_window_hours: float = Field(default=48.0, gt=0)
    # A negative spike on one aspect: today's negative mentions >= max(spike_min, factor x trailing daily mean).
    feedback_spike_min: int = Field(default=5, ge=1)
    feedback_spike_factor: float = Field(default=3.0, gt=0)
    feedback_spike_days: int = Field(default=7, ge=1, description="trailing days the spike rule compares with")
    webhook_max_attempts: int = Field(default=8, ge=1)
    webhook_backoff_seconds: float = Field(default=1.0, gt=0, description="first retry delay; doubles each time")

    # gateway: upstream timeouts per service name (default http_timeout_seconds), the customer 360's
    # per-part timeout, token buckets per role ({"frontend": {"per_second": 50, "burst": 100}}), and the
    # circuit breaker: open after this many consecutive connection failures, probe again after reset seconds.
    gateway_upstream_timeouts: dict[str, float] = Field(default_factory=lambda: {"customers": 10.0})
    gateway_part_timeout_seconds: float = Field(default=0.8, gt=0)
    gateway_rate_limits: dict[str, RateLimit] = Field(
        default_factory=lambda: {
            "frontend": RateLimit(per_second=100, burst=200),
            "partner": RateLimit(per_second=20, burst=40),
            "analyst": RateLimit(per_second=50, burst=100),
            "admin": RateLimit(per_second=100, burst=200),
        }
    )
    gateway_breaker_failures: int = Field(default=5, ge=1)
    gateway_breaker_reset_seconds: float = Field(default=10.0, gt=0)
    # API keys are looked up at most this often per key and replica: a revocation elsewhere takes this long.
    gateway_key_cache_seconds: float = Field(default=5.0, ge=0)

    @model_validator(mode="after")
    def _refuse_dev_secrets_in_production(self) -> Settings:
        if self.env == "production" and self.service_token.get_secret_value() == DEV_SERVICE_TOKEN:
            raise ValueError("RAPPORT_SERVICE_TOKEN must be set to a secret value in production")
        return self

    @property
    def datasets_dir(self) -> Path:
        return self.data_dir if self.data_dir is not None else self.var_dir / "datasets"

    @property
    def feedback_models_dir(self) -> Path:
        return self.feedback_model_dir if self.feedback_model_dir is not None else self.var_dir / "models" / "feedback"

    @property
    def lake_dir(self) -> Path:
        return self.data_lake_dir if self.data_lake_dir is not None else self.var_dir / "lake"

    def database_url_for(self, service: Service | str) -> str:
        """The SQLAlchemy URL of `service`'s own database."""
        name = Service(service).value
        own: str | None = getattr(self, f"{name}_database_url")
        template = own or self.database_url
        return template.format(service=name, var_dir=self.var_dir.as_posix())

    def port_for(self, service: Service | str) -> int:
        return int(getattr(self, f"{Service(service).value}_port"))

    def url_for(self, service: Service | str) -> str:
        """Base URL (no trailing slash) at which `service` is reached."""
        name = Service(service).value
        own: str | None = getattr(self, f"{name}_url")
        return (own or f"http://{self.host}:{self.port_for(service)}").rstrip("/")
