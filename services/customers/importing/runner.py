"""The import worker: one thread per process, started and stopped by the app's lifespan, that works
through queued jobs oldest first, one chunk at a time, off the event loop.

A chunk is about `settings.import_chunk_bytes` of the file, cut at a record boundary (and, for orders,
before the lines of an order that may go on in the next chunk). Its rows, the job's progress
(`processed_bytes`, `committed_line`) and its counts commit in ONE transaction; its report entries are
written just before. So a killed process loses at most the chunk in flight, and never counts a line it
did not store. While one chunk is written, the next is read and parsed in a second thread (parsing is
pure; the database is the bottleneck).

Resuming: on start, the worker resumes every job left `running` whose folder is in its var dir, from
`processed_bytes` / `committed_line`, after cutting the report back to `committed_line`. Re-running a
file as a new job is safe as well: customers and orders are upserted by (source, external_id),
interactions inserted once by content. A job is worked by the process whose var dir holds its upload:
replicas must each have their own var dir.
"""

from __future__ import annotations

import functools
import logging
import shutil
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from sqlalchemy import event
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from rapport.config import Service, Settings
from rapport.db import make_engine, make_sessionmaker, plan_for_current_sizes, transaction

from .. import imports
from . import chunks, files
from .kinds import KINDS
from .report import Report

log = logging.getLogger("rapport.customers.imports")

ATTEMPTS = 3  # a chunk whose transaction fails (a concurrent writer won a race, a lock timed out) is redone


@dataclass
class _Chunk:
    block: files.Block
    prepared: Any


@dataclass(frozen=True)
class _Job:
    id: uuid.UUID
    kind: chunks.Kind
    format: files.Format
    path: Path
    context: chunks.Context


class ImportRunner:
    """Works through import jobs in a worker thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # Its own engine, so the import connection can get SQLite settings of its own (_sqlite_pragmas).
        self.engine = make_engine(settings.database_url_for(Service.customers), pool_size=1, max_overflow=1)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", functools.partial(_sqlite_pragmas, settings.import_sqlite_cache_mib))
        self.sessions: sessionmaker[Session] = make_sessionmaker(self.engine)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="customers-imports", daemon=True)
        self._report_sizes: dict[uuid.UUID, int] = {}
        self._resume: list[uuid.UUID] = []

    def start(self) -> None:
        """Resume the jobs a previous process left running, then take queued jobs as they come."""
        with self.sessions() as session:
            known = imports.job_ids(session)
            running = imports.job_ids(session, status=imports.Status.running)
        self._sweep_abandoned_uploads({str(job_id) for job_id in known})
        self._resume = [job_id for job_id in running if self._holds(job_id)]
        if self._resume:
            log.info("resuming import jobs", extra={"jobs": [str(job_id) for job_id in self._resume]})
        self._thread.start()

    def stop(self, timeout: float = 60.0) -> None:
        """Stop after the chunk in flight; a job cut short stays running and resumes on the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self.engine.dispose()

    def notify(self) -> None:
        """Wake the worker: a job was queued."""
        self._wake.set()

    def committed_report_size(self, job_id: uuid.UUID) -> int | None:
        """How much of a running job's report is committed; None when this process is not running it."""
        return self._report_sizes.get(job_id)

    def _holds(self, job_id: uuid.UUID) -> bool:
        return imports.folder(self.settings, job_id).exists()

    def _loop(self) -> None:
        while not self._stop.is_set():
            job_id = self._resume.pop(0) if self._resume else self._claim()
            if job_id is None:
                self._wake.wait(timeout=5.0)
                self._wake.clear()
                continue
            try:
                self._run(job_id)
            except Exception as error:  # a bug or a lost database: the job fails, the worker goes on
                log.exception("import job failed", extra={"job_id": str(job_id)})
                self._finish(job_id, imports.Status.failed, f"internal error: {type(error).__name__}: {error}")
            finally:
                self._report_sizes.pop(job_id, None)

    def _claim(self) -> uuid.UUID | None:
        with transaction(self.sessions) as session:
            return imports.claim_next(session, available=self._holds)

    def _finish(self, job_id: uuid.UUID, status: imports.Status, error: str | None = None) -> None:
        with transaction(self.sessions) as session:
            imports.finish(session, job_id, status=status, error=error)
        for upload in imports.folder(self.settings, job_id).glob(f"{imports.UPLOAD}*"):
            upload.unlink(missing_ok=True)  # the report stays; the upload is not needed any more
        log.info("import job finished", extra={"job_id": str(job_id), "status": status.value, "error": error})

    def _run(self, job_id: uuid.UUID) -> None:
        with self.sessions() as session:
            row = imports.get_job_or_raise(session, job_id)
            context = chunks.Context(row.source, self.settings.fx_rates, self.settings.default_phone_region)
            job = _Job(row.id, KINDS[row.kind], cast(files.Format, row.format), Path(row.file_path), context)
            offset, line = row.processed_bytes, row.committed_line
        if not job.path.exists():
            self._finish(job.id, imports.Status.failed, "the uploaded file is gone from the var dir; upload it again")
            return
        try:
            header = files.inspect(job.path, job.format)
        except files.FileProblem as problem:
            self._finish(job.id, imports.Status.failed, str(problem))
            return
        report = Report(job.path.parent / imports.ERRORS)
        if line == 0:
            offset, line = header.data_offset, header.data_line
        else:
            report.cut_after(line)
        self._report_sizes[job.id] = report.size()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="customers-imports-read") as reader:
            pending = reader.submit(self._read, job, header.columns, offset, line)
            while not self._stop.is_set():
                chunk = pending.result()
                if not chunk.block.eof:  # read and parse the next chunk while this one is written
                    pending = reader.submit(
                        self._read, job, header.columns, chunk.block.end_offset, chunk.block.end_line
                    )
                self._commit(job, chunk, report)
                if chunk.block.eof:
                    self._finish(job.id, imports.Status.succeeded)
                    return

    def _read(self, job: _Job, columns: tuple[str, ...], offset: int, line: int) -> _Chunk:
        size = self.settings.import_chunk_bytes
        while True:
            block = files.read_block(job.path, job.format, columns, offset=offset, line=line, max_bytes=size)
            block = chunks.with_columns(block, job.kind.required)
            complete = job.kind.complete_rows(block, job.context)
            if complete or block.eof or not block.size:
                block = block.head(complete)
                return _Chunk(block, job.kind.prepare(block, job.context))
            size *= 2  # one order longer than a chunk: read a bigger one

    def _commit(self, job: _Job, chunk: _Chunk, report: Report) -> None:
        """Store the chunk and the job's progress in one transaction (the report entries just before)."""
        block = chunk.block
        for attempt in range(1, ATTEMPTS + 1):
            committed = report.size()
            prepared = chunk.prepared if attempt == 1 else job.kind.prepare(block, job.context)
            try:
                with transaction(self.sessions) as session:
                    # Progress first: on SQLite this takes the write lock before the chunk reads anything.
                    imports.set_progress(session, job.id, offset=block.end_offset, line=block.end_line)
                    plan_for_current_sizes(session)
                    outcome = job.kind.write(session, prepared, job.context)
                    imports.add_counts(session, job.id, processed=outcome.processed, failed=len(outcome.failures))
                    report.append(outcome.failures)
            except (IntegrityError, OperationalError) as error:
                report.truncate(committed)
                if attempt == ATTEMPTS:
                    raise
                log.warning("import chunk retried", extra={"job_id": str(job.id), "error": str(error)[:300]})
                time.sleep(0.2 * attempt)
                continue
            except BaseException:
                report.truncate(committed)
                raise
            self._report_sizes[job.id] = report.size()
            return

    def _sweep_abandoned_uploads(self, known: set[str]) -> None:
        """Remove folders of uploads that never became a job (the process died mid-upload)."""
        root = self.settings.var_dir / "imports"
        if not root.exists():
            return
        for entry in root.iterdir():
            if entry.is_dir() and entry.name not in known and time.time() - entry.stat().st_mtime > 3600:
                shutil.rmtree(entry, ignore_errors=True)


def _sqlite_pragmas(cache_mib: int, dbapi_connection: Any, _record: Any) -> None:
    # A page cache of `cache_mib` (settings.import_sqlite_cache_mib), as imports update index pages all
    # over the tables, and a memory map as large, so pages the cache dropped are read back without a copy
    # through the file system; a WAL checkpoint every 64 MiB instead of 4 MiB, so an index page changed by
    # several chunks is copied back once.
    dbapi_connection.execute(f"PRAGMA cache_size=-{cache_mib * 1024}")
    dbapi_connection.execute(f"PRAGMA mmap_size={cache_mib * 1024 * 1024}")
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=16384")
