"""The run worker: one thread per process that works through queued runs and starts scheduled ones.

A run reads its inputs (the customers export as of its cut-off, or a Parquet folder), computes its parts
off the event loop, and stores the scores, summaries and metrics in ONE transaction that also marks it
succeeded; so readers switch from the previous run to this one atomically, and a run that fails or is
cancelled leaves the last good results in place. Progress is committed between steps; a cancel request
is honoured at the next step. A run left `running` by a process that died is marked failed on start.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from rapport.config import Service, Settings
from rapport.db import transaction

from . import pipeline, schedule, sources, store
from .schemas import RunStatus

log = logging.getLogger("rapport.segmentation.runs")
POLL_SECONDS = 1.0


class Cancelled(Exception):
    """A cancel was requested while the run was working."""


class RunWorker:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sessions
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="segmentation-runs", daemon=True)
        self._next_scheduled: datetime | None = None

    def start(self) -> None:
        with transaction(self.sessions) as session:
            for run in store.running_runs(session):
                store.finish_run(
                    session, run, RunStatus.failed, error="interrupted: the service stopped during the run"
                )
        if self.settings.segmentation_schedule:
            self._next_scheduled = schedule.next_due(self.settings.segmentation_schedule, store.now())
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
                self._maybe_schedule()
                run_id = self._claim()
                if run_id is not None:
                    self._execute(run_id)
                    continue
            except Exception:  # the worker must outlive a database hiccup
                log.exception("segmentation worker error")
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()

    def _maybe_schedule(self) -> None:
        if self._next_scheduled is None or store.now() < self._next_scheduled:
            return
        assert self.settings.segmentation_schedule is not None
        self._next_scheduled = schedule.next_due(self.settings.segmentation_schedule, store.now())
        try:
            with transaction(self.sessions) as session:
                run = store.create_run(
                    session,
                    as_of=store.now(),
                    parts=list(pipeline.PARTS),
                    params=pipeline.RunParams().model_dump(),
                    trigger="schedule",
                )
                log.info("scheduled run queued", extra={"run_id": str(run.id)})
        except Exception as error:  # a run already active: skip this slot
            log.warning("scheduled run skipped", extra={"error": str(error)[:200]})

    def _claim(self) -> uuid.UUID | None:
        with transaction(self.sessions) as session:
            run = store.next_queued_run(session)
            if run is None:
                return None
            store.start_run(session, run)
            return run.id

    def _progress(self, run_id: uuid.UUID, phase: str, fraction: float) -> None:
        with transaction(self.sessions) as session:
            if store.set_progress(session, run_id, phase=phase, percent=100 * fraction):
                raise Cancelled

    def _execute(self, run_id: uuid.UUID) -> None:
        started = time.perf_counter()
        with self.sessions() as session:
            run = store.get_run_or_raise(session, run_id)
            as_of = pd.Timestamp(store.as_utc(run.as_of))
            parts, params = list(run.parts), pipeline.RunParams.model_validate(run.params)
            folder = run.source_folder
            previous = store.last_successful_run(session)
            previous_clusters = previous.summary.get("clusters") if previous is not None else None
        try:
            self._progress(run_id, "loading", 0.02)
            inputs = self._load(folder, as_of, interactions="churn" in parts)
            results = pipeline.run(
                inputs,
                as_of=as_of,
                parts=parts,
                params=params,
                progress=lambda phase, fraction: self._progress(run_id, phase, fraction),
                previous_clusters=previous_clusters,
            )
            self._progress(run_id, "storing", 0.92)
            with transaction(self.sessions) as session:
                run = store.get_run_or_raise(session, run_id)
                if run.cancel_requested:
                    raise Cancelled
                store.save_scores(session, run_id, results.scores)
                run.summary = results.summary
                run.metrics = results.metrics | {"duration_seconds": round(time.perf_counter() - started, 2)}
                run.customers, run.order_lines = len(results.scores), inputs.order_lines
                store.finish_run(session, run, RunStatus.succeeded)
            with transaction(self.sessions) as session:
                store.prune_old_scores(session)
            log.info("run succeeded", extra={"run_id": str(run_id), "seconds": round(time.perf_counter() - started, 2)})
        except Cancelled:
            self._finish(run_id, RunStatus.cancelled, None)
        except (sources.SourceError, ValueError) as error:
            self._finish(run_id, RunStatus.failed, str(error))
        except Exception as error:
            log.exception("run failed", extra={"run_id": str(run_id)})
            self._finish(run_id, RunStatus.failed, f"internal error: {type(error).__name__}: {error}"[:500])

    def _load(self, folder: str | None, as_of: pd.Timestamp, *, interactions: bool) -> sources.Inputs:
        if folder is not None:
            return sources.read_folder(Path(folder), as_of=as_of, interactions=interactions)
        return sources.read_exports(
            self.settings.url_for(Service.customers),
            self.settings.service_token.get_secret_value(),
            as_of=as_of,
            interactions=interactions,
        )

    def _finish(self, run_id: uuid.UUID, status: RunStatus, error: str | None) -> None:
        with transaction(self.sessions) as session:
            store.finish_run(session, store.get_run_or_raise(session, run_id), status, error=error)
        log.info("run ended", extra={"run_id": str(run_id), "status": status.value, "error": error})
