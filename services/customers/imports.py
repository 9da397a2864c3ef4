"""Import jobs (`POST /v1/imports`): the job rows, and accepting an upload as a queued job.

A job's files live in `<var_dir>/imports/<job id>/`: the upload (`upload.csv` / `upload.ndjson`, removed
when the job ends) and the error report (`errors.csv`). The worker that imports them, chunk by chunk with
each chunk's rows and the job's progress in one transaction, is `importing.runner.ImportRunner`; see
there how a killed import resumes.

A job's counts are lines: `processed` lines were stored (or were already stored as they are), `failed`
lines were rejected and are in the error report; `committed_line` is the last line of the file whose
chunk is committed, `processed_bytes` the offset after it (progress is processed_bytes / total_bytes).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from rapport.config import Settings
from rapport.db import as_utc
from rapport.errors import Forbidden, Invalid, NotFound, UnsupportedMediaType
from rapport.pagination import decode_cursor, encode_cursor

from . import store
from .importing import chunks, files
from .importing.kinds import KINDS
from .importing.upload import Upload
from .models import ImportJob
from .schemas import SourceName

UPLOAD = "upload"
ERRORS = "errors.csv"


class Status(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


def folder(settings: Settings, job_id: uuid.UUID) -> Path:
    return settings.var_dir / "imports" / str(job_id)


def discard(path: Path) -> None:
    """Remove an upload that did not become a job."""
    shutil.rmtree(path, ignore_errors=True)


# --- job rows -------------------------------------------------------------------------------------


def create_job(
    session: Session, *, job_id: uuid.UUID, kind: str, fmt: str, source: str, path: Path, total_bytes: int
) -> ImportJob:
    """A queued job for the uploaded file at `path`."""
    job = ImportJob(
        id=job_id,
        kind=kind,
        format=fmt,
        source=source,
        status=Status.queued.value,
        file_path=str(path),
        total_bytes=total_bytes,
        processed_bytes=0,
        processed=0,
        failed=0,
        committed_line=0,
        created_at=store.now(),
    )
    session.add(job)
    session.flush()
    return job


def get_job_or_raise(session: Session, job_id: uuid.UUID) -> ImportJob:
    job = session.get(ImportJob, job_id)
    if job is None:
        raise NotFound(f"No import job with id {job_id}.")
    return job


def list_jobs(session: Session, *, limit: int, cursor: str | None) -> tuple[list[ImportJob], str | None]:
    """A page of jobs, newest first, and the cursor of the next page."""
    query = select(ImportJob).order_by(ImportJob.created_at.desc(), ImportJob.id.desc()).limit(limit + 1)
    after = decode_cursor(cursor, arity=2)
    if after is not None:
        stamp, last = datetime.fromisoformat(str(after[0])), uuid.UUID(str(after[1]))
        query = query.where((ImportJob.created_at < stamp) | ((ImportJob.created_at == stamp) & (ImportJob.id < last)))
    rows = list(session.scalars(query))
    next_cursor = None
    if len(rows) > limit:
        last_row = rows[limit - 1]
        created = as_utc(last_row.created_at)
        next_cursor = encode_cursor([created.isoformat(), str(last_row.id)])
    return rows[:limit], next_cursor


def job_ids(session: Session, *, status: Status | None = None) -> list[uuid.UUID]:
    """Ids of the jobs (with this status), oldest first."""
    query = select(ImportJob.id).order_by(ImportJob.created_at, ImportJob.id)
    if status is not None:
        query = query.where(ImportJob.status == status.value)
    return list(session.scalars(query))


def claim(session: Session, job_id: uuid.UUID) -> bool:
    """Move a queued job to running; False when another worker was first."""
    result = session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id, ImportJob.status == Status.queued.value)
        .values(status=Status.running.value, started_at=store.now())
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


def claim_next(session: Session, *, available: Callable[[uuid.UUID], bool]) -> uuid.UUID | None:
    """Claim the oldest queued job that `available` says this worker can run."""
    for job_id in job_ids(session, status=Status.queued):
        if available(job_id) and claim(session, job_id):
            return job_id
    return None


def set_progress(session: Session, job_id: uuid.UUID, *, offset: int, line: int) -> None:
    """Record that the file is done up to `offset` / `line` (in the transaction that stores those lines)."""
    _set(session, job_id, processed_bytes=offset, committed_line=line)


def add_counts(session: Session, job_id: uuid.UUID, *, processed: int, failed: int) -> None:
    _set(session, job_id, processed=ImportJob.processed + processed, failed=ImportJob.failed + failed)


def finish(session: Session, job_id: uuid.UUID, *, status: Status, error: str | None = None) -> None:
    values: dict[str, Any] = {"status": status.value, "finished_at": store.now(), "error": error}
    if status is Status.succeeded:
        values["processed_bytes"] = ImportJob.total_bytes
    _set(session, job_id, **values)


def _set(session: Session, job_id: uuid.UUID, **values: Any) -> None:
    session.execute(update(ImportJob).where(ImportJob.id == job_id).values(**values))


# --- accepting an upload --------------------------------------------------------------------------

_SOURCE: TypeAdapter[str] = TypeAdapter(SourceName)
_GENERIC_MEDIA = {"", "text/plain", "application/octet-stream"}


def _source(value: object, where: str) -> str:
    try:
        return _SOURCE.validate_python(value)
    except ValidationError as error:
        msg = str(error.errors()[0]["msg"])
        raise Invalid(f"{where} is not a valid source name: {msg}.", errors=[{"loc": where, "msg": msg}]) from None


def _format(upload: Upload) -> files.Format:
    declared = upload.fields.get("format")
    media = (upload.content_type or "").split(";", 1)[0].strip().lower()
    suffix = Path(upload.filename or "").suffix.lower()
    if not declared and suffix not in files.EXTENSIONS and media not in {*files.MEDIA_TYPES, *_GENERIC_MEDIA}:
        raise UnsupportedMediaType(
            f"Cannot import a file of type {media}; send CSV or NDJSON (text/csv, application/x-ndjson), "
            "or name the format in the `format` field."
        )
    try:
        return files.detect_format(declared, upload.filename, upload.content_type, upload.head)
    except files.FileProblem as problem:
        raise Invalid(f"{problem}.", errors=[{"loc": "body.format", "msg": str(problem)}]) from None


def accept_upload(session: Session, *, job_id: uuid.UUID, upload: Upload, partner_source: str | None) -> ImportJob:
    """Check the uploaded file (kind, format, header, source) and queue it as a job.

    The source is the `source` field, else the partner's own, else the file's first `source` value; every
    row must belong to it. Raises Invalid (422) naming what to fix, UnsupportedMediaType (415) for a file
    that is neither CSV nor NDJSON, Forbidden (403) for a partner importing another source."""
    if upload.path is None:
        raise Invalid(
            "No file in the upload; send it as the `file` part.", errors=[{"loc": "body.file", "msg": "required"}]
        )
    kind_name = upload.fields.get("kind", "").strip().lower()
    if kind_name not in KINDS:
        msg = f"must be one of {', '.join(KINDS)}"
        raise Invalid(
            f"Form field `kind` {msg}; got {kind_name or 'nothing'}.", errors=[{"loc": "body.kind", "msg": msg}]
        )
    kind = KINDS[kind_name]
    fmt = _format(upload)
    try:
        header = files.inspect(upload.path, fmt)
    except files.FileProblem as problem:
        raise Invalid(
            f"The {fmt} file cannot be imported: {problem}.", errors=[{"loc": "body.file", "msg": str(problem)}]
        ) from None
    given = upload.fields.get("source") or None
    source = _source(given, "body.source") if given else partner_source
    wrong = chunks.column_problems(kind, header.columns, has_source=source is not None)
    if wrong:
        raise Invalid(
            f"The file's columns do not fit a {kind.name} import: {'; '.join(wrong)}.",
            errors=[{"loc": "body.file", "msg": problem} for problem in wrong],
        )
    if source is None:
        source = _source(header.first_row.get("source"), "the file's first source value")
    if partner_source is not None and source != partner_source:
        raise Forbidden(f"This partner may only import source {partner_source!r}, not {source!r}.")
    path = upload.path.with_name(f"{UPLOAD}.{fmt}")
    upload.path.rename(path)
    return create_job(
        session, job_id=job_id, kind=kind.name, fmt=fmt, source=source, path=path, total_bytes=upload.size
    )
