"""Routes of the segmentation service: runs, per-customer scores, segments, clusters and tiers."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import httpx
from fastapi import APIRouter, Request, Response, status
from fastapi.responses import StreamingResponse
from sqlalchemy import true
from sqlalchemy.orm import Session

from rapport import jobs
from rapport.auth import ServiceAuth
from rapport.db import as_utc
from rapport.deps import SessionDep, SettingsDep, in_one_hop
from rapport.errors import Conflict, Invalid, NotFound, ServiceUnavailable
from rapport.http import ServiceClient
from rapport.pagination import Limit, Page
from rapport.routing import KitRoute, model_response

from . import churn, rfm, store
from .models import CustomerScore, Run
from .schemas import (
    CountRead,
    CustomerValueRead,
    MemberRead,
    RuleSegmentCreate,
    RunCreate,
    RunRead,
    ScoresRead,
    SegmentRead,
    TopIn,
    TopMember,
    TopRead,
    ValueLookup,
    ValueLookupRead,
)

router = APIRouter(prefix="/v1", route_class=KitRoute, dependencies=[ServiceAuth], tags=["segmentation"])


def run_read(run: Run) -> RunRead:
    duration = (
        (as_utc(run.finished_at) - as_utc(run.started_at)).total_seconds()
        if run.started_at and run.finished_at
        else None
    )
    times = {
        name: as_utc(value)
        for name in ("as_of", "created_at", "started_at", "finished_at")
        if (value := getattr(run, name))
    }
    return RunRead.model_validate(run, from_attributes=True).model_copy(update={"duration_seconds": duration, **times})


# --- runs ------------------------------------------------------------------------------------------------------


@router.post("/runs", status_code=status.HTTP_202_ACCEPTED, response_model=RunRead)
def create_run(body: RunCreate, request: Request, session: SessionDep, settings: SettingsDep) -> RunRead:
    as_of = as_utc(body.as_of) if body.as_of is not None else store.now()
    if as_of > store.now() + timedelta(minutes=1):
        raise Invalid(
            "as_of is in the future; a run can only look at the past.", errors=[_loc("body.as_of", "in the future")]
        )
    folder = _lake_folder(body.source_folder, settings.lake_dir) if body.source_folder else None
    run = store.create_run(
        session,
        as_of=as_of,
        parts=body.parts,
        params=body.params.model_dump(),
        trigger=request.headers.get("X-Rapport-Trigger", "api")[:16],
        source_folder=folder,
    )
    request.app.state.runs.notify()
    return run_read(run)


@router.get("/runs", response_model=Page[RunRead])
def list_runs(session: SessionDep, limit: Limit = 20, cursor: str | None = None) -> Page[RunRead]:
    runs, next_cursor = store.list_runs(session, limit=limit, cursor=cursor)
    return Page(items=[run_read(run) for run in runs], next_cursor=next_cursor)


@router.get("/runs/{run_id}", response_model=RunRead)
def get_run(run_id: uuid.UUID, session: SessionDep) -> RunRead:
    return run_read(store.get_run_or_raise(session, run_id))


@router.post("/runs/{run_id}:cancel", response_model=RunRead)
def cancel_run(run_id: uuid.UUID, session: SessionDep) -> RunRead:
    run = store.get_run_or_raise(session, run_id)
    jobs.request_cancel(session, run)
    return run_read(run)


# --- per customer ------------------------------------------------------------------------------------------------


@router.post("/scores:lookup", response_model=ValueLookupRead)
def lookup_values(body: ValueLookup, session: SessionDep) -> ValueLookupRead:
    """Segment, tier, churn risk and CLV of many customers at once (other services' write paths use it)."""
    run = store.last_run_or_raise(session)
    rows = store.get_value_scores(session, run.id, body.customer_ids)
    return ValueLookupRead(
        run_id=run.id,
        as_of=as_utc(run.as_of),
        customers=[CustomerValueRead.model_validate(row) for row in rows],
    )


@router.get("/customers/{customer_id}/scores", response_model=ScoresRead)
async def get_scores(customer_id: str, session: SessionDep, request: Request) -> Response:
    """The customer's scores in the last run (the customer 360 asks on every view: one threadpool hop, the
    answer serialised once)."""
    return model_response(await in_one_hop(session, lambda: _scores(session, request.app.state.customers, customer_id)))


def _scores(session: Session, customers: ServiceClient, customer_id: str) -> ScoresRead:
    run_id, as_of = store.last_run_key_or_raise(session)
    row = store.get_scores(session, run_id, customer_id)
    if row is None:
        _require_known_customer(customers, customer_id)
        return ScoresRead(
            customer_id=customer_id,
            run_id=run_id,
            as_of=as_of,
            scored=False,
            segment=rfm.NO_PURCHASES,
            segment_name=rfm.SEGMENT_NAMES[rfm.NO_PURCHASES],
            suggested_action=rfm.SEGMENT_ACTIONS[rfm.NO_PURCHASES],
        )
    reasons = [churn.REASONS[key] for key in (row["churn_reasons"] or "").split(",") if key in churn.REASONS]
    cluster = row["cluster"]
    return ScoresRead(
        **row | {"churn_reasons": reasons},
        as_of=as_of,
        scored=True,
        segment_name=rfm.SEGMENT_NAMES.get(row["segment"] or ""),
        suggested_action=rfm.SEGMENT_ACTIONS.get(row["segment"] or ""),
        cluster_rules=store.cluster_rules(session, run_id).get(cluster, []) if cluster is not None else [],
    )


def _require_known_customer(customers: ServiceClient, customer_id: str) -> None:
    """Raise NotFound unless the customers service knows the customer (created after the last run)."""
    try:
        answer = customers.get(f"/v1/customers/{customer_id}")
    except httpx.HTTPError as error:
        raise ServiceUnavailable(
            f"Customer {customer_id} is not in the last run and the customers service cannot be asked: {error}"
        ) from error
    if answer.status_code != 200:
        raise NotFound(f"No customer {customer_id}.")


# --- segments ------------------------------------------------------------------------------------------------------


@router.get("/segments", response_model=list[SegmentRead])
def list_segments(session: SessionDep) -> list[SegmentRead]:
    """RFM segments of the last run with their stats, then saved rule segments with a live count."""
    run = store.last_successful_run(session)
    segments = [_rfm_segment(stats) for stats in (run.summary.get("segments", []) if run else [])]
    for rule in store.list_rule_segments(session):
        count = store.count_members(session, run.id, store.parse_rule(rule.filter)) if run else 0
        segments.append(SegmentRead(key=rule.key, name=rule.name, kind="rule", count=count, filter=rule.filter))
    return segments


def _rfm_segment(stats: dict[str, Any]) -> SegmentRead:
    return SegmentRead(kind="rfm", **{k: v for k, v in stats.items() if k in SegmentRead.model_fields})


@router.put("/segments/{key}", response_model=SegmentRead)
def save_rule_segment(key: str, body: RuleSegmentCreate, response: Response, session: SessionDep) -> SegmentRead:
    """Create or replace a rule segment; the filter is checked first (422 naming the bad field)."""
    if body.key != key:
        raise Invalid("The key in the path and in the body differ.", errors=[_loc("body.key", "differs from the path")])
    if key in rfm.SEGMENT_NAMES:
        raise Conflict(f"{key!r} is an RFM segment; choose another key.")
    condition = store.parse_rule(body.filter)
    segment, created = store.save_rule_segment(
        session, key=key, name=body.name, description=body.description, filter_=body.filter
    )
    if created:
        response.status_code = status.HTTP_201_CREATED
    run = store.last_successful_run(session)
    count = store.count_members(session, run.id, condition) if run else 0
    return SegmentRead(key=segment.key, name=segment.name, kind="rule", count=count, filter=segment.filter)


@router.delete("/segments/{key}", status_code=status.HTTP_204_NO_CONTENT)
def delete_rule_segment(key: str, session: SessionDep) -> Response:
    if key in rfm.SEGMENT_NAMES:
        raise Conflict(f"{key!r} is an RFM segment of the runs; it cannot be deleted.")
    store.delete_rule_segment(session, key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/segments:count", response_model=CountRead)
def count_filter(body: dict[str, Any], session: SessionDep) -> CountRead:
    """Live count of an unsaved filter (`{"filter": {...}}`) over the last run, for a segment builder."""
    run = store.last_run_or_raise(session)
    return CountRead(count=store.count_members(session, run.id, store.parse_rule(body.get("filter"))), run_id=run.id)


@router.post("/segments:top", response_model=TopRead)
def top_members(body: TopIn, session: SessionDep) -> TopRead:
    """The members of a filter (all customers without one) ranked by a measure, highest first: e.g. the
    valuable customers most likely to churn, by churn risk x spend."""
    run = store.last_run_or_raise(session)
    condition = store.parse_rule(body.filter) if body.filter is not None else true()
    ranked = store.top_members(session, run.id, condition, by=body.by, limit=body.limit)
    items = [
        TopMember.model_validate(MemberRead.model_validate(row, from_attributes=True).model_dump() | {"value": value})
        for row, value in ranked
    ]
    return TopRead(run_id=run.id, by=body.by, items=items)


@router.get("/segments/{key}/members", response_model=Page[MemberRead])
def list_members(
    key: str,
    session: SessionDep,
    limit: Limit = 50,
    cursor: str | None = None,
    format: Literal["json", "csv"] = "json",
) -> Any:
    """Members of an RFM or rule segment in the last run, a page at a time, or all of them as CSV."""
    run = store.last_run_or_raise(session)
    if key in rfm.SEGMENT_NAMES:
        condition = CustomerScore.segment == key
    else:
        rule = store.get_rule_segment(session, key)
        if rule is None:
            raise NotFound(f"No segment {key!r}; GET /v1/segments lists them.")
        condition = store.parse_rule(rule.filter, loc="segment.filter")
    if format == "csv":
        rows, _ = store.list_members(session, run.id, condition, limit=None, cursor=None)
        return StreamingResponse(
            _csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="segment-{key}.csv"'},
        )
    rows, next_cursor = store.list_members(session, run.id, condition, limit=limit, cursor=cursor)
    return Page(items=[MemberRead.model_validate(row, from_attributes=True) for row in rows], next_cursor=next_cursor)


def _csv(rows: list[CustomerScore]) -> Iterator[str]:
    columns = list(MemberRead.model_fields)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for start in range(0, len(rows), 1000):
        writer.writerows([[getattr(row, c) for c in columns] for row in rows[start : start + 1000]])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


# --- clusters and tiers -------------------------------------------------------------------------------------------


@router.get("/clusters")
def list_clusters(session: SessionDep) -> dict[str, Any]:
    """Clusters of the last run: size, centroid in original units, rules, and the model's quality."""
    run = store.last_run_or_raise(session)
    return {
        "run_id": str(run.id),
        "as_of": run.as_of,
        "metrics": run.metrics.get("clusters", {}),
        "clusters": run.summary.get("clusters", []),
    }


@router.get("/tiers")
def list_tiers(session: SessionDep) -> dict[str, Any]:
    """Value tiers of the last run (A = golden customers) and the Pareto curve."""
    run = store.last_run_or_raise(session)
    return {
        "run_id": str(run.id),
        "as_of": run.as_of,
        "tiers": run.summary.get("tiers", []),
        "pareto": run.summary.get("pareto", []),
    }


@router.get("/summary")
def get_summary(session: SessionDep) -> dict[str, Any]:
    """Everything the last run computed for dashboards: segments, R x F grid, tiers, clusters, metrics."""
    run = store.last_run_or_raise(session)
    return {"run": run_read(run).model_dump(mode="json"), **run.summary}


# --- helpers --------------------------------------------------------------------------------------------------------


def _loc(loc: str, msg: str) -> dict[str, str]:
    return {"loc": loc, "msg": msg}


def _lake_folder(raw: str, lake: Path) -> str:
    """The folder as an absolute path inside the data lake directory; 422 otherwise."""
    folder = (lake / raw).resolve()
    if not folder.is_relative_to(lake.resolve()) or not folder.is_dir():
        raise Invalid(
            f"source_folder must name a folder under the data lake directory {lake}.",
            errors=[_loc("body.source_folder", "not a folder in the data lake")],
        )
    return str(folder)
