"""Routes of the customers service: streaming exports and the change feed (see exports.py, store.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from rapport.auth import ServiceAuth
from rapport.db import as_utc
from rapport.deps import SessionDep, SettingsDep
from rapport.errors import Invalid
from rapport.routing import KitRoute

from . import exports, feed

router = APIRouter(prefix="/v1", route_class=KitRoute, dependencies=[ServiceAuth], tags=["exports"])

Moment = Annotated[datetime | None, Query(description="ISO-8601; without an offset it is UTC")]


class ChangeRead(BaseModel):
    seq: int
    occurred_at: datetime
    entity: str
    entity_id: str
    kind: str  # created, updated, merged, erased
    data: dict[str, Any]


class ChangePage(BaseModel):
    items: list[ChangeRead]
    next_cursor: str  # the last seq returned, or `after` when nothing is new: poll again with it


def _upper_bound(until: datetime | None, as_of: datetime | None) -> datetime | None:
    if until is not None and as_of is not None and as_utc(until) != as_utc(as_of):
        raise Invalid(
            "`as_of` is another name for `until`; send one of them.",
            errors=[{"loc": "query.as_of", "msg": "conflicts with until"}],
        )
    return as_utc(until or as_of)


_EXPORT_CONTENT: dict[str, Any] = {media: {} for media in exports.MEDIA_TYPES.values()}


@router.get(
    "/exports/{entity}",
    response_class=StreamingResponse,
    responses={200: {"content": _EXPORT_CONTENT, "description": "The rows, streamed; see docs/api.md#exports"}},
)
def export(
    entity: Annotated[exports.ExportEntity, Path()],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    fmt: Annotated[exports.ExportFormat, Query(alias="format")] = exports.ExportFormat.ndjson,
    since: Moment = None,
    until: Moment = None,
    as_of: Moment = None,
) -> StreamingResponse:
    """Stream customers, order lines or interactions with since <= time < until; the time is when the
    customer became one, the order's placed_at, the interaction's occurred_at (docs/api.md, "Exports")."""
    start, end = as_utc(since), _upper_bound(until, as_of)
    if start is not None and end is not None and start >= end:
        raise Invalid("`since` must be before `until`.", errors=[{"loc": "query.until", "msg": "not after since"}])
    plan = exports.plan(
        session, entity, since=start, until=end, base_currency=settings.base_currency, fx_rates=settings.fx_rates
    )
    headers = {
        "Content-Disposition": f'attachment; filename="{exports.filename(plan, fmt)}"',
        "Cache-Control": "no-store",
        "X-Base-Currency": settings.base_currency,
    }
    body = exports.stream(request.app.state.sessions, plan, fmt)
    return StreamingResponse(body, media_type=fmt.media_type, headers=headers)


@router.get("/changes", response_model=ChangePage)
def list_changes(
    session: SessionDep,
    after: Annotated[int, Query(ge=0, description="the next_cursor of the previous page; 0 from the start")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ChangePage:
    rows = feed.list_changes(session, after=after, limit=limit)
    items = [
        ChangeRead(
            seq=row.seq,
            occurred_at=as_utc(row.occurred_at),
            entity=row.entity,
            entity_id=row.entity_id,
            kind=row.kind,
            data=row.data or {},
        )
        for row in rows
    ]
    return ChangePage(items=items, next_cursor=str(rows[-1].seq if rows else after))
