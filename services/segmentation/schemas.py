"""Request and response bodies of the segmentation API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rapport.jobs import RunStatus

from .pipeline import PARTS, RunParams


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunCreate(Strict):
    as_of: datetime | None = Field(None, description="cut-off time (UTC when no offset); default: now")
    parts: list[str] = Field(default_factory=lambda: list(PARTS), min_length=1)
    params: RunParams = Field(default_factory=RunParams)
    source_folder: str | None = Field(
        None, description="read Parquet files from this folder of the server instead of the customers export"
    )

    @field_validator("parts")
    @classmethod
    def _known_parts(cls, parts: list[str]) -> list[str]:
        unknown = sorted(set(parts) - set(PARTS))
        if unknown:
            raise ValueError(f"unknown parts {unknown}; choose from {list(PARTS)}")
        return [part for part in PARTS if part in parts]


class RunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    status: RunStatus
    as_of: datetime
    parts: list[str]
    params: dict[str, Any]
    trigger: str
    phase: str | None
    progress: float = Field(description="percent done, 0-100")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None = None
    customers: int | None
    order_lines: int | None
    metrics: dict[str, Any]
    error: str | None


class ScoresRead(BaseModel):
    customer_id: str
    run_id: uuid.UUID
    as_of: datetime
    scored: bool = Field(description="false for a customer the last run did not see (created after it)")
    recency_days: float | None = None
    frequency: int = 0
    monetary: float = 0.0
    r: int | None = None
    f: int | None = None
    m: int | None = None
    segment: str | None = None
    segment_name: str | None = None
    suggested_action: str | None = None
    tier: str | None = None
    cluster: int | None = None
    cluster_rules: list[str] = Field(default_factory=list)
    churn_risk: float | None = None
    churn_reasons: list[str] = Field(default_factory=list)
    clv_purchases: float | None = None
    clv_value: float | None = None
    p_alive: float | None = None


class ValueLookup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_ids: list[str] = Field(min_length=1, max_length=10_000)


class CustomerValueRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    customer_id: str
    segment: str | None
    tier: str | None
    churn_risk: float | None
    clv_value: float | None


class ValueLookupRead(BaseModel):
    run_id: uuid.UUID
    as_of: datetime
    customers: list[CustomerValueRead] = Field(description="the customers the last run scored; others are left out")


class SegmentRead(BaseModel):
    key: str
    name: str
    kind: str = Field(description="rfm (from the last run) or rule (a saved filter)")
    count: int
    share_customers: float | None = None
    share_revenue: float | None = None
    mean_r: float | None = None
    mean_f: float | None = None
    mean_m: float | None = None
    action: str | None = None
    filter: dict[str, Any] | None = None


class RuleSegmentCreate(Strict):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    name: str = Field(min_length=1, max_length=200)
    description: str | None = None
    filter: dict[str, Any]


class MemberRead(BaseModel):
    customer_id: str
    segment: str | None
    tier: str | None
    cluster: int | None
    recency_days: float | None
    frequency: int
    monetary: float
    churn_risk: float | None
    clv_value: float | None
    city: str | None


TopMeasure = Literal["at_risk_value", "churn_risk", "clv_value", "monetary"]


class TopIn(Strict):
    filter: dict[str, Any] | None = Field(None, description="the filter of POST /v1/segments:count; none: everyone")
    by: TopMeasure = Field(
        "at_risk_value", description="at_risk_value is churn_risk x monetary: the spend most likely to be lost"
    )
    limit: int = Field(20, ge=1, le=1000)


class TopMember(MemberRead):
    value: float = Field(description="the measure ranked by")


class TopRead(BaseModel):
    run_id: uuid.UUID
    by: TopMeasure
    items: list[TopMember]


class CountRead(BaseModel):
    count: int
    run_id: uuid.UUID
