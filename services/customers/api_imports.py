"""Routes of the customers service: file imports as jobs (see `imports` for the logic), and the
interactions they fill."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel

from rapport.auth import ServiceAuth
from rapport.db import as_utc, transaction
from rapport.deps import SessionDep, SettingsDep
from rapport.pagination import Limit
from rapport.routing import KitRoute

from . import imports, interactions
from .deps import ExistingCustomer, PartnerSource
from .importing import report, upload
from .importing.kinds import KINDS
from .importing.runner import ImportRunner
from .models import ImportJob
from .schemas import Page


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the import worker (resuming jobs a previous process left running); stop it on shutdown."""
    runner = ImportRunner(app.state.settings)
    await run_in_threadpool(runner.start)
    app.state.imports = runner
    try:
        yield
    finally:
        await run_in_threadpool(runner.stop)


router = APIRouter(prefix="/v1", route_class=KitRoute, dependencies=[ServiceAuth], tags=["imports"], lifespan=lifespan)


class ImportJobRead(BaseModel):
    id: uuid.UUID
    kind: str
    format: str
    source: str
    status: imports.Status
    processed: int
    failed: int
    progress: float  # percent of the file's bytes done
    total_bytes: int
    processed_bytes: int
    committed_line: int
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    links: dict[str, str]


class InteractionRead(BaseModel):
    id: int
    customer_id: uuid.UUID
    type: str
    occurred_at: datetime
    properties: dict[str, Any]
    source: str


_UPLOAD_FORM = {
    "type": "object",
    "required": ["file", "kind"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "the CSV or NDJSON file"},
        "kind": {"type": "string", "enum": list(KINDS)},
        "format": {"type": "string", "enum": ["csv", "ndjson"], "description": "default: from the name or type"},
        "source": {"type": "string", "description": "default: the partner's source, else the file's first"},
    },
}


def _read(job: ImportJob) -> ImportJobRead:
    done = job.total_bytes if job.status == imports.Status.succeeded else job.processed_bytes
    return ImportJobRead(
        id=job.id,
        kind=job.kind,
        format=job.format,
        source=job.source,
        status=imports.Status(job.status),
        processed=job.processed,
        failed=job.failed,
        progress=round(100.0 * done / job.total_bytes, 1) if job.total_bytes else 100.0,
        total_bytes=job.total_bytes,
        processed_bytes=done,
        committed_line=job.committed_line,
        error=job.error,
        created_at=as_utc(job.created_at),
        started_at=as_utc(job.started_at),
        finished_at=as_utc(job.finished_at),
        links={"self": f"/v1/imports/{job.id}", "errors": f"/v1/imports/{job.id}/errors"},
    )


@router.post(
    "/imports",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ImportJobRead,
    summary="Upload a CSV or NDJSON file of customers, orders or interactions; it is imported as a job",
    openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": _UPLOAD_FORM}}}},
)
async def create_import(request: Request, settings: SettingsDep, partner: PartnerSource) -> JSONResponse:
    job_id = uuid.uuid4()
    folder = imports.folder(settings, job_id)
    received = await upload.receive(request, folder)

    def queue() -> ImportJobRead:
        try:
            with transaction(request.app.state.sessions) as session:
                return _read(imports.accept_upload(session, job_id=job_id, upload=received, partner_source=partner))
        except BaseException:
            imports.discard(folder)
            raise

    job = await run_in_threadpool(queue)
    request.app.state.imports.notify()
    return JSONResponse(
        job.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED, headers={"Location": job.links["self"]}
    )


@router.get("/imports", response_model=Page[ImportJobRead])
def list_imports(session: SessionDep, limit: Limit = 50, cursor: str | None = None) -> Page[ImportJobRead]:
    rows, next_cursor = imports.list_jobs(session, limit=limit, cursor=cursor)
    return Page(items=[_read(job) for job in rows], next_cursor=next_cursor)


@router.get("/imports/{job_id}", response_model=ImportJobRead)
def get_import(job_id: uuid.UUID, session: SessionDep) -> ImportJobRead:
    return _read(imports.get_job_or_raise(session, job_id))


def _chunks(path: Path, size: int | None) -> Iterator[bytes]:
    if not path.exists():
        yield ",".join(report.HEADER).encode() + b"\n"
        return
    left = path.stat().st_size if size is None else size
    with open(path, "rb") as handle:
        while left > 0:
            data = handle.read(min(left, 1 << 16))
            if not data:
                break
            left -= len(data)
            yield data


@router.get(
    "/imports/{job_id}/errors",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "line, reasons, record of each rejected line"}},
)
def get_import_errors(job_id: uuid.UUID, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    job = imports.get_job_or_raise(session, job_id)
    committed = request.app.state.imports.committed_report_size(job.id)
    return StreamingResponse(
        _chunks(imports.folder(settings, job.id) / imports.ERRORS, committed),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="import-{job.id}-errors.csv"'},
    )


@router.get("/customers/{customer_id}/interactions", response_model=Page[InteractionRead])
def list_customer_interactions(
    customer: ExistingCustomer,
    session: SessionDep,
    limit: Limit = 50,
    cursor: str | None = None,
    type: str | None = None,
) -> Page[InteractionRead]:
    rows, next_cursor = interactions.list_for_customer(session, customer.id, limit=limit, cursor=cursor, kind=type)
    return Page(items=[InteractionRead(**vars(row)) for row in rows], next_cursor=next_cursor)
