"""The run worker: one thread per process that works through queued runs and starts scheduled ones.

A run reads its inputs (the customers export as of its cut-off, or a Parquet folder), computes its parts
off the event loop, and stores the scores, summaries and metrics in ONE transaction that also marks it
succeeded; so readers switch from the previous run to this one atomically, and a run that fails or is
cancelled leaves the last good results in place. Progress is committed between steps; a cancel request
is honoured at the next step. A run left `running` by a process that died is marked failed on start.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from rapport import jobs
from rapport.config import Service, Settings
from rapport.db import as_utc, transaction

from . import pipeline, schedule, sources, store
from .models import Run

log = logging.getLogger("rapport.segmentation.runs")


class Segmenter:
    """What a segmentation run does (`execute`) and when the schedule queues one (`tick`); the claiming,
    progress, cancel and outcome bookkeeping is `rapport.jobs.RunWorker`'s (`self.worker`)."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sessions
        self._next_scheduled: datetime | None = (
            schedule.next_due(settings.segmentation_schedule, store.now()) if settings.segmentation_schedule else None
        )
        self.worker = jobs.RunWorker(
            "segmentation-runs",
            Run,
            sessions,
            self.execute,
            expected_errors=(sources.SourceError, ValueError),
            tick=self.tick,
        )

    def tick(self) -> None:
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

    def execute(self, run_id: uuid.UUID, progress: jobs.Progress) -> None:
        started = time.perf_counter()
        with self.sessions() as session:
            run = store.get_run_or_raise(session, run_id)
            as_of = pd.Timestamp(as_utc(run.as_of))
            parts, params = list(run.parts), pipeline.RunParams.model_validate(run.params)
            folder = run.source_folder
            previous = store.last_successful_run(session)
            previous_clusters = previous.summary.get("clusters") if previous is not None else None
        progress("loading", 0.02)
        inputs = self._load(folder, as_of, interactions="churn" in parts)
        results = pipeline.run(
            inputs, as_of=as_of, parts=parts, params=params, progress=progress, previous_clusters=previous_clusters
        )
        progress("storing", 0.92)
        with transaction(self.sessions) as session:
            run = store.get_run_or_raise(session, run_id)
            if run.cancel_requested:
                raise jobs.Cancelled
            store.save_scores(session, run_id, results.scores)
            run.summary = results.summary
            run.metrics = results.metrics | {"duration_seconds": round(time.perf_counter() - started, 2)}
            run.customers, run.order_lines = len(results.scores), inputs.order_lines
            jobs.finish(run, jobs.RunStatus.succeeded)
        with transaction(self.sessions) as session:
            store.prune_old_scores(session)
        log.info("run succeeded", extra={"run_id": str(run_id), "seconds": round(time.perf_counter() - started, 2)})

    def _load(self, folder: str | None, as_of: pd.Timestamp, *, interactions: bool) -> sources.Inputs:
        if folder is not None:
            return sources.read_folder(Path(folder), as_of=as_of, interactions=interactions)
        return sources.read_exports(
            self.settings.url_for(Service.customers),
            self.settings.service_token.get_secret_value(),
            as_of=as_of,
            interactions=interactions,
        )
