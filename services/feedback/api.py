"""Routes of the feedback service: ingest, feedback lists, statistics, keywords and topics, per-customer summary."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response, status
from sqlalchemy.orm import Session

from rapport.auth import ServiceAuth
from rapport.db import as_utc
from rapport.deps import SessionDep, SettingsDep, in_one_hop
from rapport.errors import Invalid
from rapport.pagination import Limit, Page
from rapport.periods import Interval, day_range
from rapport.routing import KitRoute, model_response

from . import ingest, stats, store, summary, textmining
from .api_alerts import alert_read
from .deps import Analysis, Resolver, Values
from .models import Feedback
from .schemas import (
    AspectCount,
    AspectRead,
    BatchIn,
    BatchResult,
    Channel,
    CustomerSummary,
    CustomerSummaryWithAlerts,
    FeedbackCreate,
    FeedbackRead,
    KeywordRead,
    Label,
    StatsRead,
    StatsRow,
    TopicRead,
)

router = APIRouter(prefix="/v1", route_class=KitRoute, dependencies=[ServiceAuth], tags=["feedback"])
GroupBy = Literal["channel", "aspect", "tier", "segment"]
From = Annotated[date | None, Query(alias="from", description="first day (UTC), default 30 days before `to`")]
To = Annotated[date | None, Query(alias="to", description="last day (UTC, included), default today")]


def feedback_reads(session: SessionDep, rows: list[Feedback]) -> list[FeedbackRead]:
    mentions = store.aspects_of(session, [row.id for row in rows])
    return [
        FeedbackRead(
            **{
                name: getattr(row, name)
                for name in FeedbackRead.model_fields
                if name not in ("aspects", "occurred_at", "received_at")
            },
            occurred_at=as_utc(row.occurred_at),
            received_at=as_utc(row.received_at),
            aspects=[AspectRead(aspect=m.aspect, sentiment=m.sentiment, terms=m.terms) for m in mentions[row.id]],
        )
        for row in rows
    ]


def _notify_deliverer(request: Request, background: BackgroundTasks, alerts: int) -> None:
    if alerts:
        background.add_task(request.app.state.deliverer.notify)  # after the commit: the deliverer sees the rows


@router.post("/feedback", status_code=status.HTTP_201_CREATED, response_model=FeedbackRead)
def create_feedback(
    body: FeedbackCreate,
    request: Request,
    response: Response,
    background: BackgroundTasks,
    session: SessionDep,
    settings: SettingsDep,
    analyzer: Analysis,
    values: Values,
    resolver: Resolver,
) -> FeedbackRead:
    """Store one piece of feedback, analysed; a repeat of (source, external_id) answers 200 with the stored one."""
    errors = ingest.record_errors(body, max_text_chars=settings.feedback_max_text_chars, now=store.now())
    if errors:
        raise Invalid(
            "; ".join(f"{e['loc']}: {e['msg']}" for e in errors),
            errors=[{"loc": f"body.{e['loc']}", "msg": e["msg"]} for e in errors],
        )
    outcome = ingest.write(session, {0: body}, analyzer=analyzer, values=values, resolver=resolver, settings=settings)
    result = outcome.results[0]
    if result.status == "error":
        raise Invalid(
            "; ".join(f"{e['loc']}: {e['msg']}" for e in result.errors),
            errors=[{"loc": f"body.{e['loc']}", "msg": e["msg"]} for e in result.errors],
        )
    if result.status == "unchanged":
        response.status_code = status.HTTP_200_OK
    _notify_deliverer(request, background, outcome.alerts)
    session.flush()
    assert result.id is not None
    return feedback_reads(session, [store.get_feedback_or_raise(session, result.id)])[0]


@router.post("/feedback:batch", response_model=BatchResult)
def create_feedback_batch(
    body: BatchIn,
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    settings: SettingsDep,
    analyzer: Analysis,
    values: Values,
    resolver: Resolver,
) -> BatchResult:
    """Up to `RAPPORT_BATCH_MAX_RECORDS` records: one result per record; valid ones are written even when others fail."""
    if len(body.records) > settings.batch_max_records:
        raise Invalid(
            f"A batch holds at most {settings.batch_max_records} records; this one has {len(body.records)}.",
            errors=[{"loc": "body.records", "msg": f"more than {settings.batch_max_records} records"}],
        )
    valid, failed = ingest.parse_records(body.records, settings)
    outcome = ingest.write(session, valid, analyzer=analyzer, values=values, resolver=resolver, settings=settings)
    results = sorted([*outcome.results, *failed], key=lambda r: r.index)
    counts = {name: sum(r.status == name for r in results) for name in ("created", "unchanged", "error")}
    _notify_deliverer(request, background, outcome.alerts)
    return BatchResult(counts=counts, results=results, alerts=outcome.alerts)


@router.get("/feedback", response_model=Page[FeedbackRead])
def list_feedback(
    session: SessionDep,
    limit: Limit = 50,
    cursor: str | None = None,
    customer_id: str | None = None,
    channel: Channel | None = None,
    label: Label | None = None,
    aspect: str | None = None,
    since: Annotated[datetime | None, Query(alias="from")] = None,
    until: Annotated[datetime | None, Query(alias="to")] = None,
) -> Page[FeedbackRead]:
    rows, next_cursor = store.list_feedback(
        session,
        limit=limit,
        cursor=cursor,
        customer_id=customer_id,
        channel=channel.value if channel else None,
        label=label.value if label else None,
        aspect=aspect,
        start=since,
        end=until,
    )
    return Page(items=feedback_reads(session, rows), next_cursor=next_cursor)


@router.get("/feedback/{feedback_id}", response_model=FeedbackRead)
def get_feedback(feedback_id: uuid.UUID, session: SessionDep) -> FeedbackRead:
    return feedback_reads(session, [store.get_feedback_or_raise(session, feedback_id)])[0]


@router.get("/stats", response_model=StatsRead)
def get_stats(
    session: SessionDep, start: From = None, end: To = None, interval: Interval = "day", by: GroupBy | None = None
) -> StatsRead:
    """NPS, CSAT, volume, mean sentiment and share negative per period (and group), with the top complaints."""
    first, last = day_range(start, end, default_days=30)
    daily = stats.daily_sums(session, start=first, end=last, by=by)
    overall = stats.daily_sums(session, start=first, end=last, by=None) if by == "aspect" else daily
    return StatsRead(
        start=first,
        end=last,
        interval=interval,
        by=by,
        totals=StatsRow(period=first, **stats.totals(overall)),
        series=[StatsRow(**row) for row in stats.series(daily, interval=interval)],
        top_complaints=[AspectCount(**row) for row in stats.top_complaints(session, start=first, end=last)],
    )


@router.get("/keywords", response_model=list[KeywordRead])
def list_keywords(
    session: SessionDep,
    start: From = None,
    end: To = None,
    k: Annotated[int, Query(ge=1, le=200)] = 20,
    sample: Annotated[int, Query(ge=10, le=50_000, description="newest texts read")] = 5000,
) -> list[KeywordRead]:
    """Top keywords of the period's texts (jieba for Chinese, TF-IDF for English)."""
    texts = _period_texts(session, start, end, default_days=7, sample=sample)
    return [KeywordRead(**row) for row in textmining.keywords(texts, k=k)]


@router.get("/topics", response_model=list[TopicRead])
def list_topics(
    session: SessionDep,
    start: From = None,
    end: To = None,
    n: Annotated[int, Query(ge=1, le=30)] = 6,
    sample: Annotated[int, Query(ge=10, le=50_000, description="newest texts read")] = 5000,
) -> list[TopicRead]:
    """Topic groups over the period's texts (NMF), each with its top terms and example texts."""
    texts = _period_texts(session, start, end, default_days=30, sample=sample)
    return [TopicRead(**row) for row in textmining.topics(texts, n=n)]


def _period_texts(
    session: SessionDep, start: date | None, end: date | None, *, default_days: int, sample: int
) -> list[tuple[str, str]]:
    """The newest `sample` (text, language) pairs of the days asked for."""
    first, last = day_range(start, end, default_days=default_days)
    after = last + timedelta(days=1)
    return store.texts_between(
        session,
        start=datetime(first.year, first.month, first.day, tzinfo=UTC),
        end=datetime(after.year, after.month, after.day, tzinfo=UTC),
        limit=sample,
    )


@router.get("/customers/{customer_id}/feedback/summary", response_model=CustomerSummary | CustomerSummaryWithAlerts)
async def get_customer_summary(
    customer_id: str,
    session: SessionDep,
    alerts: Annotated[int, Query(ge=0, le=50, description="also answer the N newest open alerts (0: none)")] = 0,
) -> Response:
    """The customer's feedback at a glance; with `alerts=N` also their newest open alerts, in the same read
    (the customer 360 asks for both on every view: one threadpool hop, the answer serialised once)."""
    return model_response(await in_one_hop(session, lambda: _summary(session, customer_id, alerts)))


def _summary(session: Session, customer_id: str, alerts: int) -> CustomerSummary:
    recent = store.newest_feedback_of(session, customer_id, limit=5)
    fields = summary.customer_summary(session, customer_id) | {"recent": feedback_reads(session, recent)}
    if alerts == 0:
        return CustomerSummary(**fields)
    open_alerts = store.open_alerts_of(session, customer_id, limit=alerts)
    return CustomerSummaryWithAlerts(**fields, alerts=[alert_read(alert) for alert in open_alerts])
