"""SQLAlchemy tables of the feedback service, on its own metadata.

A `Feedback` row is stored already analysed (language, sentiment, label), with one `AspectMention` per
aspect its text talks about, so statistics are GROUP BYs over stored columns. The customer's tier,
segment and churn risk are a snapshot taken from segmentation at write time (null when it was down).
`Alert`s are raised in the same transaction as the write that caused them; one `Delivery` per alert
and webhook carries the at-least-once delivery state.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from rapport.db import new_metadata

BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = new_metadata()


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(128))  # null: not idempotent
    channel: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    nps: Mapped[int | None] = mapped_column(SmallInteger)
    csat: Mapped[int | None] = mapped_column(SmallInteger)
    text: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str | None] = mapped_column(String(8))  # zh, en, mixed; null without text
    language_detected: Mapped[bool] = mapped_column(Boolean, default=False)
    sentiment: Mapped[float | None] = mapped_column(Float)  # of the text, in [-1, 1]; null without text
    label: Mapped[str | None] = mapped_column(String(8))  # from the text, else from the score
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    day: Mapped[date] = mapped_column(Date)  # UTC day of occurred_at, what statistics group by
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    customer_tier: Mapped[str | None] = mapped_column(String(1))
    customer_segment: Mapped[str | None] = mapped_column(String(32))
    churn_risk: Mapped[float | None] = mapped_column(Float)
    erased: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_feedback_day_channel", "day", "channel"),
        Index("ix_feedback_occurred_at_id", "occurred_at", "id"),
    )


class AspectMention(Base):
    """An aspect a feedback text talks about, with the sentiment of the sentences naming it."""

    __tablename__ = "aspect_mentions"

    feedback_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("feedback.id", ondelete="CASCADE"), primary_key=True)
    aspect: Mapped[str] = mapped_column(String(16), primary_key=True)
    sentiment: Mapped[float] = mapped_column(Float)
    terms: Mapped[list[str]] = mapped_column(JSON, default=list)
    day: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(16))

    __table_args__ = (Index("ix_aspect_mentions_aspect_day", "aspect", "day"),)


class Alert(Base):
    __tablename__ = "alerts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    rule: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # open, acknowledged, resolved
    severity: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    feedback_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("feedback.id", ondelete="SET NULL"))
    aspect: Mapped[str | None] = mapped_column(String(16))
    # One alert per cause: "feedback:<id>" or "spike:<aspect>:<day>"; a unique index makes it so under races.
    dedup_key: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_alerts_status_created", "status", "created_at", "id"),)


class Webhook(Base):
    __tablename__ = "webhooks"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(128))  # kept to sign deliveries; shown once, at creation
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Delivery(Base):
    """One alert to one webhook: pending until a 2xx answer, retried with exponential backoff."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    webhook_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When the next attempt is due; while an attempt is in flight, the end of its lease.
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("alert_id", "webhook_id"),
        Index("ix_deliveries_status_due", "status", "next_attempt_at"),
    )


class FeedState(Base):
    """How far this service has followed the customers change feed (the last seq acted on)."""

    __tablename__ = "feed_state"

    feed: Mapped[str] = mapped_column(String(32), primary_key=True)
    cursor: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
