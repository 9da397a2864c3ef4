"""Request and response bodies of the recommendation API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .train import TrainParams


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: datetime | None = Field(None, description="train on orders before this time (default: now)")
    params: TrainParams = Field(default_factory=TrainParams)
    source_folder: str | None = Field(None, description="a Parquet folder under RAPPORT_DATA_LAKE_DIR")


class ModelRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    status: str
    as_of: datetime
    params: dict[str, Any]
    trigger: str
    phase: str | None
    progress: float
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    customers: int | None
    items: int | None
    order_lines: int | None
    artifact_bytes: int | None
    metrics: dict[str, Any]
    error: str | None
    serving: bool = False


class Item(BaseModel):
    sku: str
    name: str
    category: str
    score: float
    reason: str


class Recommendations(BaseModel):
    customer_id: str
    model_id: uuid.UUID
    strategy: Literal["personalised", "cold_start"]
    items: list[Item]


class SimilarItems(BaseModel):
    sku: str
    model_id: uuid.UUID
    items: list[Item]


class TrendingItem(BaseModel):
    sku: str
    name: str
    category: str
    recent_buyers: int = Field(description="distinct buyers in the recent window")
    baseline_buyers: int = Field(description="distinct buyers in the weeks before it")
    ratio: float = Field(description="recent buyers over the baseline's rate for a window of the same length")


class Trending(BaseModel):
    model_id: uuid.UUID
    as_of: datetime = Field(description="end of the recent window: the model's cut-off")
    recent_days: int
    category: str | None
    items: list[TrendingItem]
    reason: str | None = Field(None, description="why the list is empty")


class BasketIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[str] = Field(min_length=1, max_length=200)
    k: int = Field(10, ge=1, le=1000)


class BasketOut(BaseModel):
    model_id: uuid.UUID
    items: list[Item]
    reason: str | None = Field(None, description="why nothing could be suggested")


class RuleRead(BaseModel):
    level: str
    antecedent: list[str]
    consequent: list[str]
    support: float
    confidence: float
    lift: float
    leverage: float
    conviction: float | None


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: str = Field(min_length=1, max_length=64)
    sku: str = Field(min_length=1, max_length=64)
    kind: Literal["purchase", "view"] = "purchase"
    occurred_at: datetime | None = None
