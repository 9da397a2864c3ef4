"""SQLAlchemy tables of the recommendation service, on its own metadata.

A training run produces a model version: its metrics and the trained state (an `.npz` artifact: item
index, item similarity or factors, customer affinities, popularity) are stored on the run; its rules in
`association_rules`. Serving loads the newest succeeded model into memory and swaps it atomically.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, deferred, mapped_column

from rapport.db import new_metadata

BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = new_metadata()


class ModelRun(Base):
    """A training run and, once it succeeded, the model version it produced."""

    __tablename__ = "model_runs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # queued, running, succeeded, failed, cancelled
    active: Mapped[int | None] = mapped_column(Integer, unique=True)  # 1 while queued or running: one at a time
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    trigger: Mapped[str] = mapped_column(String(16))
    source_folder: Mapped[str | None] = mapped_column(Text)
    phase: Mapped[str | None] = mapped_column(String(64))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    customers: Mapped[int | None] = mapped_column(Integer)
    items: Mapped[int | None] = mapped_column(Integer)
    order_lines: Mapped[int | None] = mapped_column(Integer)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    artifact_bytes: Mapped[int | None] = mapped_column(BIG_ID)
    artifact: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))  # loaded only when serving


class AssociationRule(Base):
    __tablename__ = "association_rules"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    model_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("model_runs.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(16))  # product or category
    antecedent: Mapped[list[str]] = mapped_column(JSON)
    consequent: Mapped[list[str]] = mapped_column(JSON)
    antecedent_key: Mapped[str] = mapped_column(String(400))  # sorted items joined by "|", for lookups
    support: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)
    lift: Mapped[float] = mapped_column(Float)
    leverage: Mapped[float] = mapped_column(Float)
    conviction: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (
        Index("ix_association_rules_model_lift", "model_id", "level", "lift"),
        Index("ix_association_rules_model_antecedent", "model_id", "antecedent_key"),
    )


class Event(Base):
    """A real-time signal (a purchase or a view) that updates a customer's recommendations at once."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    weight: Mapped[float] = mapped_column(Float)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class FeedState(Base):
    """How far this service has followed the customers change feed (the last seq acted on)."""

    __tablename__ = "feed_state"

    feed: Mapped[str] = mapped_column(String(32), primary_key=True)
    cursor: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
