"""Asynchronous runs of an analytics service: one active at a time, progress, cancel, a worker thread.

A service's run table has the columns of `RunColumns` (segmentation's `runs`, recommendation's
`model_runs`). `create` refuses a second active run (409), backed by a unique index on `active` (1 while
queued or running, NULL after) so two racing requests cannot both win. `RunWorker` claims queued runs
oldest first in a thread, calls the service's `execute(run_id, progress)`, and records the outcome;
`progress(phase, fraction)` commits between steps and raises `Cancelled` once a cancel was requested. A
run left running by a process that died is marked failed when the next worker starts.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from rapport.db import transaction
from rapport.errors import Conflict, NotFound

log = logging.getLogger("rapport.jobs")


class RunStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


ACTIVE = (RunStatus.queued.value, RunStatus.running.value)
Progress = Callable[[str, float], None]


class Cancelled(Exception):
    """A cancel was requested while the run was working."""


class RunColumns(Protocol):
    id: Any
    status: Any
    active: Any
    phase: Any
    progress: Any
    cancel_requested: Any
    created_at: Any
    started_at: Any
    finished_at: Any
    error: Any


def now() -> datetime:
    return datetime.now(UTC)


def create(session: Session, model: Any, **fields: Any) -> Any:
    """A queued run of `model`; raises Conflict (409) while another is queued or running."""
    if session.scalar(select(model.id).where(model.active.is_not(None))) is not None:
        raise Conflict("A run is already queued or running; wait for it or cancel it.")
    run = model(id=uuid.uuid4(), status=RunStatus.queued.value, active=1, progress=0.0, created_at=now(), **fields)
    session.add(run)
    session.flush()
    return run


def get_or_raise(session: Session, model: Any, run_id: uuid.UUID) -> Any:
    run = session.get(model, run_id)
    if run is None:
        raise NotFound(f"No run {run_id}.")
    return run


def request_cancel(session: Session, run: Any) -> None:
    if run.status not in ACTIVE:
        raise Conflict(f"Run {run.id} is {run.status}; only a queued or running run can be cancelled.")
    run.cancel_requested = True
    if run.status == RunStatus.queued.value:
        finish(run, RunStatus.cancelled)


def finish(run: Any, status: RunStatus, *, error: str | None = None) -> None:
    run.status, run.active, run.finished_at, run.error = status.value, None, now(), error
    if status == RunStatus.succeeded:
        run.progress, run.phase = 100.0, "done"


def newest_succeeded(model: Any, *columns: Any) -> Any:
    """SELECT of the last run of `model` that succeeded (its `columns`, or the whole row)."""
    chosen = columns or (model,)
    return select(*chosen).where(model.status == RunStatus.succeeded.value).order_by(model.finished_at.desc()).limit(1)


def last_succeeded(session: Session, model: Any) -> Any:
    return session.scalar(newest_succeeded(model))


class RunWorker:
    """Works through queued runs of `model` in a thread, calling `execute(run_id, progress)` for each;
    `execute` stores its results and marks the run succeeded in its own final transaction (`finish`).
    `tick`, when given, is called before each look for queued runs (a schedule that queues runs)."""

    def __init__(
        self,
        name: str,
        model: Any,
        sessions: sessionmaker[Session],
        execute: Callable[[uuid.UUID, Progress], None],
        *,
        expected_errors: tuple[type[Exception], ...] = (ValueError,),
        poll_seconds: float = 1.0,
        tick: Callable[[], None] | None = None,
    ) -> None:
        self.model, self.sessions, self.execute = model, sessions, execute
        self.expected_errors, self.poll_seconds, self.tick = expected_errors, poll_seconds, tick
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        with transaction(self.sessions) as session:
            for run in session.scalars(select(self.model).where(self.model.status == RunStatus.running.value)):
                finish(run, RunStatus.failed, error="interrupted: the service stopped during the run")
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def notify(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if self.tick is not None:
                    self.tick()
                run_id = self._claim()
                if run_id is not None:
                    self._run(run_id)
                    continue
            except Exception:  # the worker must outlive a database hiccup
                log.exception("run worker error")
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def _claim(self) -> uuid.UUID | None:
        with transaction(self.sessions) as session:
            run = session.scalar(
                select(self.model).where(self.model.status == RunStatus.queued.value).order_by(self.model.created_at)
            )
            if run is None:
                return None
            run.status, run.started_at, run.phase = RunStatus.running.value, now(), "loading"
            run_id: uuid.UUID = run.id
            return run_id

    def progress(self, run_id: uuid.UUID, phase: str, fraction: float) -> None:
        with transaction(self.sessions) as session:
            session.execute(
                update(self.model).where(self.model.id == run_id).values(phase=phase, progress=round(100 * fraction, 1))
            )
            if session.scalar(select(self.model.cancel_requested).where(self.model.id == run_id)):
                raise Cancelled

    def _run(self, run_id: uuid.UUID) -> None:
        try:
            self.execute(run_id, lambda phase, fraction: self.progress(run_id, phase, fraction))
        except Cancelled:
            self._end(run_id, RunStatus.cancelled, None)
        except self.expected_errors as error:
            self._end(run_id, RunStatus.failed, str(error))
        except Exception as error:
            log.exception("run failed", extra={"run_id": str(run_id)})
            self._end(run_id, RunStatus.failed, f"internal error: {type(error).__name__}: {error}"[:500])

    def _end(self, run_id: uuid.UUID, status: RunStatus, error: str | None) -> None:
        with transaction(self.sessions) as session:
            finish(get_or_raise(session, self.model, run_id), status, error=error)
        log.info("run ended", extra={"run_id": str(run_id), "status": status.value, "error": error})
