"""Routes of the recommendation service: training runs and models, recommendations, similar items, basket
completion, association rules and real-time events."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

import httpx
import orjson
from fastapi import APIRouter, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from rapport import jobs
from rapport.auth import ServiceAuth
from rapport.deps import SessionDep, SettingsDep
from rapport.errors import Invalid, NotFound, ServiceUnavailable
from rapport.routing import KitRoute

from . import serving, store, train
from .models import ModelRun
from .schemas import (
    BasketIn,
    BasketOut,
    EventIn,
    Item,
    ModelRead,
    Recommendations,
    RuleRead,
    RunCreate,
    SimilarItems,
    Trending,
    TrendingItem,
)

SEGMENT_TIMEOUT_SECONDS = 0.3
router = APIRouter(prefix="/v1", route_class=KitRoute, dependencies=[ServiceAuth], tags=["recommendation"])
K = Annotated[int, Query(ge=1, le=1000, description="how many items")]


def _read(run: ModelRun, holder: serving.ModelHolder) -> ModelRead:
    current = holder.current
    return ModelRead.model_validate(run, from_attributes=True).model_copy(
        update={"serving": current is not None and current.model_id == run.id}
    )


def _loaded(request: Request) -> serving.Loaded:
    loaded: serving.Loaded | None = request.app.state.models.current
    if loaded is None:
        raise ServiceUnavailable("No model has been trained yet; start one with POST /v1/runs.")
    return loaded


# --- runs and models --------------------------------------------------------------------------------------------


@router.post("/runs", status_code=status.HTTP_202_ACCEPTED, response_model=ModelRead)
def create_run(body: RunCreate, request: Request, session: SessionDep, settings: SettingsDep) -> ModelRead:
    as_of = jobs.now() if body.as_of is None else body.as_of
    if as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=jobs.now().tzinfo)
    if as_of > jobs.now() + timedelta(minutes=1):
        raise Invalid("as_of is in the future.", errors=[{"loc": "body.as_of", "msg": "in the future"}])
    folder = None
    if body.source_folder is not None:
        lake = settings.lake_dir.resolve()
        candidate = (lake / body.source_folder).resolve()
        if not candidate.is_relative_to(lake) or not candidate.is_dir():
            raise Invalid(
                f"source_folder must name a folder under the data lake directory {settings.lake_dir}.",
                errors=[{"loc": "body.source_folder", "msg": "not a folder in the data lake"}],
            )
        folder = str(candidate)
    run = jobs.create(
        session,
        ModelRun,
        as_of=as_of,
        params=body.params.model_dump(),
        trigger="api",
        source_folder=folder,
        metrics={},
    )
    request.app.state.trainer.worker.notify()
    return _read(run, request.app.state.models)


@router.get("/models", response_model=list[ModelRead])
def list_models(request: Request, session: SessionDep, limit: K = 20) -> list[ModelRead]:
    return [_read(run, request.app.state.models) for run in store.list_models(session, limit=limit)]


@router.get("/models/{model_id}", response_model=ModelRead)
def get_model(model_id: uuid.UUID, request: Request, session: SessionDep) -> ModelRead:
    return _read(jobs.get_or_raise(session, ModelRun, model_id), request.app.state.models)


@router.post("/runs/{model_id}:cancel", response_model=ModelRead)
def cancel_run(model_id: uuid.UUID, request: Request, session: SessionDep) -> ModelRead:
    run = jobs.get_or_raise(session, ModelRun, model_id)
    jobs.request_cancel(session, run)
    return _read(run, request.app.state.models)


# --- serving ---------------------------------------------------------------------------------------------------


@router.get("/customers/{customer_id}/recommendations", response_model=Recommendations)
async def recommendations(
    customer_id: str,
    request: Request,
    k: K = 10,
    category: str | None = None,
    exclude_purchased: bool = True,
    exclude: Annotated[str | None, Query(description="skus to leave out, comma-separated")] = None,
) -> Response:
    """Personalised items with a reason; a customer without history gets the cold-start answer."""
    loaded = _loaded(request)
    holder: serving.ModelHolder = request.app.state.models
    events = (
        await run_in_threadpool(_events, request, customer_id, loaded)
        if customer_id in holder.customers_with_events
        else []
    )
    segment = None
    if customer_id not in loaded.model.customers and not events and loaded.model.segment_popularity is not None:
        segment = await _segment_of(request, customer_id)
    items, strategy = serving.recommend(
        loaded.model,
        customer_id,
        k=k,
        events=events,
        category=category,
        exclude_purchased=exclude_purchased,
        exclude=[s for s in (exclude or "").split(",") if s],
        segment=segment,
    )
    # The hot route: its body is built here rather than validated again against `Recommendations` (the same
    # shape, documented by response_model), which cost more than the scoring at k=10.
    body = {
        "customer_id": customer_id,
        "model_id": str(loaded.model_id),
        "strategy": strategy,
        "items": [vars(item) for item in items],
    }
    return Response(orjson.dumps(body), media_type="application/json")


def _events(request: Request, customer_id: str, loaded: serving.Loaded) -> list[tuple[str, str]]:
    with request.app.state.sessions() as session:
        return store.events_since(session, customer_id, loaded.model.as_of)


async def _segment_of(request: Request, customer_id: str) -> str | None:
    """The customer's RFM segment from the segmentation service, or None when it is down or slow (then the
    cold start is global popularity). One pooled client for the app: a client per request paid its setup
    (several ms) on every cold-start answer."""
    client: httpx.AsyncClient = request.app.state.segmentation_http
    try:
        answer = await client.get(f"/v1/customers/{customer_id}/scores")
    except httpx.HTTPError:
        return None
    segment = answer.json().get("segment") if answer.status_code == 200 else None
    return str(segment) if segment else None


@router.get("/items/{sku}/similar", response_model=SimilarItems)
def similar_items(sku: str, request: Request, k: K = 10) -> SimilarItems:
    loaded = _loaded(request)
    if sku not in loaded.model.item_index:
        raise NotFound(f"No item {sku!r} in the current model.")
    items = serving.similar(loaded.model, sku, k)
    return SimilarItems(sku=sku, model_id=loaded.model_id, items=[Item(**vars(i)) for i in items])


@router.get("/items:trending", response_model=Trending)
def trending_items(request: Request, k: K = 10, category: str | None = None) -> Trending:
    """Items selling faster in the week before the model's cut-off than in the eight weeks before; an unknown
    category, or nothing rising, gives an empty list with a reason."""
    loaded = _loaded(request)
    items, reason = serving.trending(loaded.model, k=k, category=category)
    return Trending(
        model_id=loaded.model_id,
        as_of=loaded.model.as_of,
        recent_days=train.TRENDING_DAYS,
        category=category,
        items=[TrendingItem(**vars(item)) for item in items],
        reason=reason,
    )


@router.post("/baskets:complete", response_model=BasketOut)
def complete_basket(body: BasketIn, request: Request) -> BasketOut:
    """Frequently bought together: rules first, then the item model."""
    loaded = _loaded(request)
    items, reason = serving.complete(loaded.model, body.items, body.k)
    return BasketOut(model_id=loaded.model_id, items=[Item(**vars(i)) for i in items], reason=reason)


@router.get("/rules", response_model=list[RuleRead])
def list_rules(
    request: Request,
    session: SessionDep,
    level: Annotated[str, Query(pattern="^(product|category)$")] = "product",
    min_lift: Annotated[float, Query(ge=0)] = 1.0,
    antecedent: Annotated[str | None, Query(description="skus of the antecedent, sorted, joined by |")] = None,
    limit: K = 50,
) -> list[RuleRead]:
    """Association rules of the serving model, highest lift first."""
    loaded = _loaded(request)
    rows = store.list_rules(
        session, loaded.model_id, level=level, min_lift=min_lift, antecedent=antecedent, limit=limit
    )
    return [RuleRead.model_validate(row, from_attributes=True) for row in rows]


@router.post("/events", status_code=status.HTTP_202_ACCEPTED)
def add_event(body: EventIn, request: Request, session: SessionDep) -> dict[str, str]:
    """A purchase or view; the customer's next recommendations include it, no retraining needed."""
    occurred = body.occurred_at or jobs.now()
    store.add_event(
        session,
        customer_id=body.customer_id,
        sku=body.sku,
        kind=body.kind,
        weight=serving.EVENT_WEIGHTS[body.kind],
        occurred_at=occurred if occurred.tzinfo else occurred.replace(tzinfo=jobs.now().tzinfo),
    )
    session.flush()  # committed before the answer: the next request may read it
    request.app.state.models.customers_with_events.add(body.customer_id)
    return {"status": "accepted"}
