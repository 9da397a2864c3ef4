"""SQLAlchemy tables of the segmentation service, on its own metadata.

A run's results are stored under its id: per-customer scores in `customer_scores`, per-run summaries
(segment stats, tiers, Pareto curve, clusters with rules, model metrics) as JSON on the run. Readers
always read the last run that succeeded, so a failed or cancelled run never replaces it.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from rapport.db import new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # queued, running, succeeded, failed, cancelled
    # 1 while queued or running, else NULL: the unique index admits one active run (NULLs never collide).
    active: Mapped[int | None] = mapped_column(Integer, unique=True)
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    parts: Mapped[list[str]] = mapped_column(JSON)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    trigger: Mapped[str] = mapped_column(String(16))  # api, schedule, cli
    source_folder: Mapped[str | None] = mapped_column(Text)  # a Parquet folder instead of the customers export
    phase: Mapped[str | None] = mapped_column(String(64))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    customers: Mapped[int | None] = mapped_column(Integer)
    order_lines: Mapped[int | None] = mapped_column(Integer)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class CustomerScore(Base):
    """One customer's scores in one run, with the profile fields rule segments filter on."""

    __tablename__ = "customer_scores"

    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    recency_days: Mapped[float | None] = mapped_column(Float)
    frequency: Mapped[int] = mapped_column(Integer, default=0)
    monetary: Mapped[float] = mapped_column(Float, default=0.0)
    r: Mapped[int | None] = mapped_column(Integer)
    f: Mapped[int | None] = mapped_column(Integer)
    m: Mapped[int | None] = mapped_column(Integer)
    segment: Mapped[str | None] = mapped_column(String(32))
    tier: Mapped[str | None] = mapped_column(String(1))
    cluster: Mapped[int | None] = mapped_column(Integer)
    churn_risk: Mapped[float | None] = mapped_column(Float)
    churn_reasons: Mapped[str | None] = mapped_column(String(200))
    clv_purchases: Mapped[float | None] = mapped_column(Float)
    clv_value: Mapped[float | None] = mapped_column(Float)
    p_alive: Mapped[float | None] = mapped_column(Float)
    # Profile snapshot from the customers export at as_of, for rule segments.
    city: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(2))
    gender: Mapped[str | None] = mapped_column(String(16))
    birth_date: Mapped[date | None] = mapped_column(Date)
    income_band: Mapped[str | None] = mapped_column(String(16))
    education: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_customer_scores_run_segment", "run_id", "segment", "customer_id"),
        Index("ix_customer_scores_run_tier", "run_id", "tier", "customer_id"),
        Index("ix_customer_scores_run_cluster", "run_id", "cluster", "customer_id"),
    )


class RuleSegment(Base):
    """A saved segment defined in the filter language over profile fields and scores."""

    __tablename__ = "rule_segments"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    filter: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FeedState(Base):
    """How far this service has followed another service's change feed (the last seq acted on)."""

    __tablename__ = "feed_state"

    feed: Mapped[str] = mapped_column(String(32), primary_key=True)
    cursor: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
