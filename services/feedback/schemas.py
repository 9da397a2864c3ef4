"""Request and response bodies of the feedback API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints, model_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Channel(StrEnum):
    survey = "survey"
    service_ticket = "service_ticket"
    app_review = "app_review"
    social = "social"
    email = "email"
    chat = "chat"


class Language(StrEnum):
    zh = "zh"
    en = "en"
    mixed = "mixed"


class Label(StrEnum):
    negative = "negative"
    neutral = "neutral"
    positive = "positive"


class AlertStatus(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    resolved = "resolved"


SourceName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
CustomerId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class CustomerRef(Strict):
    """The customer as a source system knows them; resolved through the customers service."""

    source: SourceName
    external_id: ExternalId


class FeedbackCreate(Strict):
    channel: Channel
    customer_id: CustomerId | None = None
    customer: CustomerRef | None = Field(None, description="instead of customer_id: the source system's identity")
    nps: int | None = Field(None, ge=0, le=10, description="Net Promoter Score answer, 0-10")
    csat: int | None = Field(None, ge=1, le=5, description="customer satisfaction, 1-5")
    text: str = Field("", description="free text; may be empty when a score is given")
    language: Language | None = Field(None, description="zh, en or mixed; detected when absent")
    occurred_at: datetime | None = Field(None, description="when the customer said it (default: now)")
    source: SourceName = "api"
    external_id: ExternalId | None = Field(None, description="with source, makes the write idempotent")

    @model_validator(mode="after")
    def _one_customer_reference(self) -> FeedbackCreate:
        if self.customer_id is not None and self.customer is not None:
            raise ValueError("give customer_id or customer, not both")
        if not self.text.strip() and self.nps is None and self.csat is None:
            raise ValueError("feedback needs a text, an NPS or a CSAT score")
        return self


class AspectRead(BaseModel):
    aspect: str
    sentiment: float
    terms: list[str]


class FeedbackRead(BaseModel):
    id: uuid.UUID
    source: str
    external_id: str | None
    channel: str
    customer_id: str | None
    nps: int | None
    csat: int | None
    text: str
    language: str | None
    language_detected: bool
    sentiment: float | None = Field(description="of the text, in [-1, 1]; null without text")
    label: str | None = Field(description="from the text, or from the score when there is no text")
    aspects: list[AspectRead]
    occurred_at: datetime
    received_at: datetime
    customer_tier: str | None
    customer_segment: str | None
    churn_risk: float | None


class BatchIn(Strict):
    # Records are validated one by one, so one bad record does not reject the batch.
    records: list[dict[str, Any]] = Field(min_length=1)


class RecordResult(BaseModel):
    index: int
    status: str = Field(description="created, unchanged (same source and external id seen before) or error")
    id: uuid.UUID | None = None
    errors: list[dict[str, str]] = Field(default_factory=list)


class BatchResult(BaseModel):
    counts: dict[str, int]
    results: list[RecordResult]
    alerts: int = Field(description="alerts raised by this batch")


class AlertRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    rule: str
    status: AlertStatus
    severity: str
    title: str
    detail: dict[str, Any]
    customer_id: str | None
    feedback_id: uuid.UUID | None
    aspect: str | None
    created_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    note: str | None


class AlertUpdate(Strict):
    note: str | None = Field(None, max_length=2000)


class WebhookCreate(Strict):
    url: AnyHttpUrl
    secret: str | None = Field(None, min_length=16, max_length=128, description="generated when absent")
    description: str | None = Field(None, max_length=500)


class WebhookRead(BaseModel):
    id: uuid.UUID
    url: str
    description: str | None
    active: bool
    created_at: datetime
    secret: str | None = Field(None, description="only in the answer to the creation")


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    alert_id: uuid.UUID
    webhook_id: uuid.UUID
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None


class StatsRow(BaseModel):
    period: date = Field(description="first day of the day, week (Monday) or month")
    group: str | None = Field(None, description="the value of `by`, when given")
    volume: int
    nps: float | None = Field(description="% promoters - % detractors, over the answers with an NPS")
    nps_responses: int
    csat: float | None = Field(description="mean CSAT (1-5)")
    csat_satisfied: float | None = Field(description="share of CSAT answers of 4 or 5")
    csat_responses: int
    sentiment: float | None = Field(description="mean text sentiment")
    negative_share: float | None = Field(description="share of labelled feedback that is negative")


class AspectCount(BaseModel):
    aspect: str
    negative: int
    mentions: int


class StatsRead(BaseModel):
    start: date
    end: date
    interval: str
    by: str | None
    totals: StatsRow
    series: list[StatsRow]
    top_complaints: list[AspectCount]


class KeywordRead(BaseModel):
    term: str
    weight: float
    count: int
    language: str


class TopicRead(BaseModel):
    terms: list[str]
    size: int
    examples: list[str]


class CustomerSummary(BaseModel):
    customer_id: str
    count: int
    first_at: datetime | None
    last_at: datetime | None
    latest_nps: int | None
    nps: float | None
    csat: float | None
    sentiment: float | None
    negative_share: float | None
    channels: dict[str, int]
    complaints: dict[str, int] = Field(description="negative mentions per aspect")
    open_alerts: int
    recent: list[FeedbackRead]


class CustomerSummaryWithAlerts(CustomerSummary):
    """A summary with the customer's newest open alerts (`?alerts=N`)."""

    alerts: list[AlertRead]
