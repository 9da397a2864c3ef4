"""Pydantic models of the gateway's own routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .models import Role


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128, description="who or what uses the key")
    role: Role
    source: str | None = Field(default=None, max_length=64, description="partner keys: the one source they sync")


class KeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    role: Role
    source: str | None
    prefix: str = Field(description="the key's first characters, to recognise it")
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class KeyCreated(KeyRead):
    key: str = Field(description="the secret; shown once, store it now")


class KeyList(BaseModel):
    items: list[KeyRead]


class RouteRead(BaseModel):
    method: str
    path: str


class SessionRead(BaseModel):
    """What the caller's key may do: the dashboard shows the pages its routes allow."""

    key_id: str
    name: str
    role: Role
    source: str | None
    rate_limit: dict[str, float]
    routes: list[RouteRead]


class Degraded(BaseModel):
    part: str
    service: str
    reason: str


class Customer360(BaseModel):
    customer_id: str
    merged_from: str | None = Field(description="the id asked for, when it was merged into customer_id")
    profile: dict[str, Any] | None
    orders: list[dict[str, Any]] | None
    scores: dict[str, Any] | None
    recommendations: dict[str, Any] | None
    feedback: dict[str, Any] | None
    open_alerts: list[dict[str, Any]] | None
    degraded: list[Degraded]
    generated_at: datetime
