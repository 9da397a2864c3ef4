"""Every query of the segmentation service. Functions take the session and never commit."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, bindparam, delete, func, select
from sqlalchemy.orm import Session

from rapport import filters, jobs
from rapport.db import bulk_insert_frame, read_rows
from rapport.errors import NotFound
from rapport.jobs import RunStatus
from rapport.pagination import decode_cursor, encode_cursor, newest_first

from .models import CustomerScore, RuleSegment, Run

KEEP_SUCCESSFUL_RUNS = 3  # older successful runs keep their summary; their per-customer scores are dropped
SCORE_COLUMNS = [c.name for c in CustomerScore.__table__.columns if c.name != "run_id"]


def now() -> datetime:
    return datetime.now(UTC)


# --- runs -------------------------------------------------------------------------------------------------


def create_run(session: Session, **fields: Any) -> Run:
    """A queued run; raises Conflict (409) while another run is queued or running (`rapport.jobs`)."""
    run: Run = jobs.create(session, Run, metrics={}, summary={}, **fields)
    return run


def get_run_or_raise(session: Session, run_id: uuid.UUID) -> Run:
    run: Run = jobs.get_or_raise(session, Run, run_id)
    return run


def list_runs(session: Session, *, limit: int, cursor: str | None) -> tuple[list[Run], str | None]:
    """Runs newest first."""
    return newest_first(session, select(Run), moment=Run.created_at, row_id=Run.id, limit=limit, cursor=cursor)


NO_RUN_YET = "No segmentation run has succeeded yet; start one with POST /v1/runs."


def last_successful_run(session: Session) -> Run | None:
    run: Run | None = jobs.last_succeeded(session, Run)
    return run


# Built once: the customer 360 reads a customer's scores on every view (see `read_rows`).
_LAST_RUN_KEY = jobs.newest_succeeded(Run, Run.id, Run.as_of)
_SCORES = select(CustomerScore.__table__).where(
    CustomerScore.run_id == bindparam("run_id"), CustomerScore.customer_id == bindparam("customer_id")
)


def last_run_key_or_raise(session: Session) -> tuple[uuid.UUID, datetime]:
    """Id and as-of time of the last successful run, without loading its summary."""
    rows = read_rows(session, _LAST_RUN_KEY)
    if not rows:
        raise NotFound(NO_RUN_YET)
    return rows[0][0], rows[0][1]


# A succeeded run's summary is written once, with its status: its cluster rules can be kept per run id.
_CLUSTER_RULES: dict[uuid.UUID, dict[int, list[str]]] = {}
_RULES_KEPT = 8


def cluster_rules(session: Session, run_id: uuid.UUID) -> dict[int, list[str]]:
    """The decision-tree rules of each cluster of a succeeded run, by cluster label."""
    rules = _CLUSTER_RULES.get(run_id)
    if rules is None:
        summary = session.scalar(select(Run.summary).where(Run.id == run_id)) or {}
        rules = {int(c["label"]): list(c["rules"]) for c in summary.get("clusters", [])}
        if len(_CLUSTER_RULES) >= _RULES_KEPT:
            _CLUSTER_RULES.clear()
        _CLUSTER_RULES[run_id] = rules
    return rules


def last_run_or_raise(session: Session) -> Run:
    run = last_successful_run(session)
    if run is None:
        raise NotFound(NO_RUN_YET)
    return run


def save_scores(session: Session, run_id: uuid.UUID, scores: pd.DataFrame) -> None:
    frame = scores.reset_index().reindex(columns=SCORE_COLUMNS)
    frame.insert(0, "run_id", [run_id] * len(frame))
    bulk_insert_frame(session, CustomerScore, frame)


def prune_old_scores(session: Session) -> None:
    """Drop per-customer scores of successful runs older than the last KEEP_SUCCESSFUL_RUNS, and of every
    failed or cancelled run."""
    keep = (
        select(Run.id)
        .where(Run.status == RunStatus.succeeded.value)
        .order_by(Run.finished_at.desc())
        .limit(KEEP_SUCCESSFUL_RUNS)
    )
    kept = [row for row in session.scalars(keep)]
    running = list(session.scalars(select(Run.id).where(Run.status == RunStatus.running.value)))
    session.execute(delete(CustomerScore).where(CustomerScore.run_id.not_in([*kept, *running])))


# --- scores and members ------------------------------------------------------------------------------------


def get_scores(session: Session, run_id: uuid.UUID, customer_id: str) -> dict[str, Any] | None:
    """The customer's row of scores in the run, by column name; None if the run did not see them."""
    rows = read_rows(session, _SCORES, run_id=run_id, customer_id=customer_id)
    return rows[0]._asdict() if rows else None


def get_value_scores(session: Session, run_id: uuid.UUID, customer_ids: Sequence[str]) -> list[CustomerScore]:
    """The scores of those of `customer_ids` the run saw (in chunks, under every bound-parameter limit)."""
    found: list[CustomerScore] = []
    unique = list(dict.fromkeys(customer_ids))
    for start in range(0, len(unique), 5000):
        chunk = unique[start : start + 5000]
        found.extend(
            session.scalars(
                select(CustomerScore).where(CustomerScore.run_id == run_id, CustomerScore.customer_id.in_(chunk))
            )
        )
    return found


def _score_column(name: str) -> Callable[[], ColumnElement[Any]]:
    return lambda: CustomerScore.__table__.c[name]


FieldType = filters.FieldType
_TYPED = {
    FieldType.STRING: ("city", "country", "gender", "income_band", "education", "segment", "tier", "churn_reasons"),
    FieldType.INTEGER: ("frequency", "r", "f", "m", "cluster"),
    FieldType.NUMBER: ("recency_days", "monetary", "churn_risk", "clv_purchases", "clv_value", "p_alive"),
    FieldType.DATE: ("birth_date",),
}
# The rule-segment language: the profile snapshot and every score of the run.
FIELDS: dict[str, filters.Field] = {
    name: filters.Field(name, kind, sql=_score_column(name)) for kind, names in _TYPED.items() for name in names
} | {"age": filters.age_field(_score_column("birth_date"))}


def parse_rule(raw: Any, *, loc: str = "body.filter") -> ColumnElement[bool]:
    """The SQL condition of a rule-segment filter; raises Invalid (422) naming the bad field."""
    return filters.to_sql(filters.parse_filter(raw, FIELDS, loc=loc), FIELDS)


def count_members(session: Session, run_id: uuid.UUID, condition: ColumnElement[bool]) -> int:
    query = select(func.count()).select_from(CustomerScore).where(CustomerScore.run_id == run_id, condition)
    return int(session.scalar(query) or 0)


TOP_MEASURES: dict[str, Any] = {
    "at_risk_value": CustomerScore.churn_risk * CustomerScore.monetary,
    "churn_risk": CustomerScore.churn_risk,
    "clv_value": CustomerScore.clv_value,
    "monetary": CustomerScore.monetary,
}


def top_members(
    session: Session, run_id: uuid.UUID, condition: ColumnElement[bool], *, by: str, limit: int
) -> list[tuple[CustomerScore, float]]:
    """The `limit` members matching `condition` with the highest `by` (members without it are left out),
    ties in customer id order."""
    measure = TOP_MEASURES[by]
    query = (
        select(CustomerScore, measure)
        .where(CustomerScore.run_id == run_id, condition, measure.is_not(None))
        .order_by(measure.desc(), CustomerScore.customer_id)
        .limit(limit)
    )
    return [(score, float(value)) for score, value in session.execute(query)]


def list_members(
    session: Session, run_id: uuid.UUID, condition: ColumnElement[bool], *, limit: int | None, cursor: str | None
) -> tuple[list[CustomerScore], str | None]:
    """Members in customer id order, a page at a time (all of them when `limit` is None)."""
    query = select(CustomerScore).where(CustomerScore.run_id == run_id, condition).order_by(CustomerScore.customer_id)
    key = decode_cursor(cursor, arity=1)
    if key is not None:
        query = query.where(CustomerScore.customer_id > str(key[0]))
    if limit is None:
        return list(session.scalars(query)), None
    rows = list(session.scalars(query.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor([rows[-1].customer_id]) if more else None


# --- rule segments -----------------------------------------------------------------------------------------


def list_rule_segments(session: Session) -> Sequence[RuleSegment]:
    return session.scalars(select(RuleSegment).order_by(RuleSegment.key)).all()


def get_rule_segment(session: Session, key: str) -> RuleSegment | None:
    return session.get(RuleSegment, key)


def save_rule_segment(
    session: Session, *, key: str, name: str, description: str | None, filter_: dict[str, Any]
) -> tuple[RuleSegment, bool]:
    """Create or replace; returns the segment and whether it was created."""
    segment = session.get(RuleSegment, key)
    stamp = now()
    if segment is None:
        segment = RuleSegment(
            key=key, name=name, description=description, filter=filter_, created_at=stamp, updated_at=stamp
        )
        session.add(segment)
        return segment, True
    segment.name, segment.description, segment.filter, segment.updated_at = name, description, filter_, stamp
    return segment, False


def delete_rule_segment(session: Session, key: str) -> None:
    segment = session.get(RuleSegment, key)
    if segment is None:
        raise NotFound(f"No rule segment {key!r}.")
    session.delete(segment)
