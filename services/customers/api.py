"""Routes of the customers service: parse, call the store or a domain module, respond."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request, Response, status

from rapport.auth import ServiceAuth
from rapport.deps import SessionDep, SettingsDep, in_one_hop
from rapport.errors import Invalid
from rapport.pagination import Limit
from rapport.periods import Interval, day_range
from rapport.routing import KitRoute, model_response

from . import idempotency, order_stats, orders, products, search, store, sync
from .deps import ExistingCustomer, IdempotencyKey, IfMatch, PartnerSource, etag, parse_if_match, profile_customer
from .schemas import (
    BatchIn,
    BatchResult,
    CountIn,
    CountOut,
    CustomerIn,
    CustomerPatch,
    CustomerRead,
    CustomerWithOrdersRead,
    OrderRead,
    OrderStatsRead,
    OrderStatsRow,
    Page,
    ProductIn,
    ProductPatch,
    ProductRead,
    RecordResult,
    RecordStatus,
    SearchIn,
)

MAX_RECENT_ORDERS = 50
router = APIRouter(prefix="/v1", route_class=KitRoute, dependencies=[ServiceAuth], tags=["customers"])


def _profile_or_422(given: dict[str, object], *, default_region: str) -> sync.CleanProfile:
    profile, errors = sync.clean_profile(given, default_region=default_region)
    if errors:
        raise Invalid(
            f"{len(errors)} field(s) could not be cleaned: " + "; ".join(f"{e.loc}: {e.msg}" for e in errors),
            errors=[{"loc": f"body.{e.loc}", "msg": e.msg} for e in errors],
        )
    return profile


def _customer_response(
    session: SessionDep, customer: ExistingCustomer, settings: SettingsDep, response: Response
) -> CustomerRead:
    response.headers["ETag"] = etag(customer.version)
    if customer.merged_into is not None:
        response.headers["Link"] = f'</v1/customers/{customer.merged_into}>; rel="canonical"'
    return store.to_read(session, [customer], currency=settings.base_currency)[0]


@router.post("/customers", status_code=status.HTTP_201_CREATED, response_model=CustomerRead)
def create_customer(body: CustomerIn, session: SessionDep, settings: SettingsDep, response: Response) -> CustomerRead:
    fields, tags, consents = _profile_or_422(
        body.model_dump(exclude_unset=True, exclude={"identities"}), default_region=settings.default_phone_region
    )
    fields |= sync.changed_columns({}, {}, consents, store.now())
    customer = store.create_customer(session, fields=fields, tags=tags, identities=body.identities)
    response.headers["Location"] = f"/v1/customers/{customer.id}"
    return _customer_response(session, customer, settings, response)


@router.get("/customers", response_model=Page[CustomerRead])
def list_customers(
    session: SessionDep, settings: SettingsDep, limit: Limit = 50, cursor: str | None = None, with_total: bool = False
) -> Page[CustomerRead]:
    rows, next_cursor, total = store.list_customers(session, limit=limit, cursor=cursor, with_total=with_total)
    return Page(
        items=store.to_read(session, rows, currency=settings.base_currency), next_cursor=next_cursor, total=total
    )


@router.get("/customers/{customer_id}", response_model=CustomerRead | CustomerWithOrdersRead)
async def get_customer(
    customer_id: Annotated[uuid.UUID, Path()],
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    recent_orders: Annotated[
        int, Query(ge=0, le=MAX_RECENT_ORDERS, description="also answer the N most recent orders (0: none)")
    ] = 0,
) -> Response:
    """The profile; with `recent_orders=N` also the newest N orders, in the same read (the customer 360
    asks for both on every view, so its reads run in one threadpool hop and its answer is serialised once)."""

    def read() -> CustomerRead:
        customer = profile_customer(session, customer_id)
        profile = _customer_response(session, customer, settings, response)
        if recent_orders == 0:
            return profile
        recent = orders.list_customer_orders(session, customer.id, limit=recent_orders)
        return CustomerWithOrdersRead(**dict(profile), recent_orders=recent)

    answer = await in_one_hop(session, read)
    return model_response(answer, headers={k: v for k, v in response.headers.items() if k in ("etag", "link")})


@router.patch("/customers/{customer_id}", response_model=CustomerRead)
def patch_customer(
    body: CustomerPatch,
    customer: ExistingCustomer,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    if_match: IfMatch = None,
) -> CustomerRead:
    parse_if_match(if_match, current_version=customer.version)
    fields, tags, consents = _profile_or_422(
        body.model_dump(exclude_unset=True), default_region=settings.default_phone_region
    )
    current = {
        name: getattr(customer, name) for name in (*store.PROFILE_FIELDS, *(f"consent_{c}" for c in store.CONSENTS))
    }
    changes = sync.changed_columns(current, fields, consents, store.now())
    store.update_customer(session, customer, changes=changes, tags=tags)
    return _customer_response(session, customer, settings, response)


@router.get("/customers/{customer_id}/orders", response_model=list[OrderRead])
def list_customer_orders(customer: ExistingCustomer, session: SessionDep, limit: Limit = 20) -> list[OrderRead]:
    return orders.list_customer_orders(session, customer.id, limit=limit)


def _batch(
    request: Request,
    session: SessionDep,
    key: str | None,
    body: BatchIn,
    write: Callable[[list[Any]], list[RecordResult]],
) -> Response:
    """Run a batch write once per Idempotency-Key: a retry gets the stored answer, not a second write."""
    route = request.scope["route"].path
    body_hash = idempotency.request_hash(orjson.dumps(body.records))
    if key is not None:
        key = idempotency.check_key(key)
        # Answers are kept for RAPPORT_IDEMPOTENCY_TTL_HOURS; expired ones go before the lookup.
        idempotency.purge_expired(session, ttl=timedelta(hours=request.app.state.settings.idempotency_ttl_hours))
        replay = idempotency.find_replay(session, key=key, route=route, body_hash=body_hash)
        if replay is not None:
            return Response(
                replay[1], status_code=replay[0], media_type="application/json", headers={"Idempotent-Replayed": "true"}
            )
    results = write(body.records)
    answer = BatchResult(
        results=results, counts={s: sum(r.status == s for r in results) for s in RecordStatus}
    ).model_dump(mode="json")
    payload = orjson.dumps(answer)
    if key is not None:
        payload = idempotency.save(session, key=key, route=route, body_hash=body_hash, status_code=200, body=answer)
    return Response(payload, media_type="application/json")


def _check_size(body: BatchIn, limit: int) -> None:
    if len(body.records) > limit:
        raise Invalid(
            f"A batch holds at most {limit:,} records; got {len(body.records):,}. Split it, or use POST /v1/imports for files.",
            errors=[{"loc": "body.records", "msg": f"at most {limit} records"}],
        )


@router.post("/customers:batchUpsert", response_model=BatchResult)
def batch_upsert_customers(
    body: BatchIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    partner: PartnerSource,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    _check_size(body, settings.batch_max_records)

    def write(records: list[Any]) -> list[RecordResult]:
        return sync.upsert_customers(
            session, records, default_region=settings.default_phone_region, partner_source=partner
        )

    return _batch(request, session, idempotency_key, body, write)


@router.post("/orders:batchUpsert", response_model=BatchResult)
def batch_upsert_orders(
    body: BatchIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    partner: PartnerSource,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    _check_size(body, settings.batch_max_records)

    def write(records: list[Any]) -> list[RecordResult]:
        return orders.upsert_orders(session, records, fx_rates=settings.fx_rates, partner_source=partner)

    return _batch(request, session, idempotency_key, body, write)


@router.get("/orders:stats", response_model=OrderStatsRead)
def get_order_stats(
    session: SessionDep,
    settings: SettingsDep,
    start: Annotated[
        date | None, Query(alias="from", description="first day (UTC); default a year before `to`")
    ] = None,
    end: Annotated[date | None, Query(alias="to", description="last day (UTC, included); default today")] = None,
    interval: Interval = "month",
) -> OrderStatsRead:
    """Placed and paid orders and revenue (base currency) per day, week or month, every period listed."""
    start, end = day_range(start, end, default_days=365)
    if order_stats.period_count(start, end, interval) > order_stats.MAX_PERIODS:
        raise Invalid(
            f"More than {order_stats.MAX_PERIODS} {interval}s asked for; shorten the range or use a longer interval.",
            errors=[{"loc": "query.interval", "msg": f"more than {order_stats.MAX_PERIODS} periods"}],
        )
    rows = order_stats.orders_per_period(session, start=start, end=end, interval=interval)
    series = [OrderStatsRow(**row) for row in rows]
    totals = OrderStatsRow(
        period=start, orders=sum(r.orders for r in series), revenue=sum((r.revenue for r in series), Decimal(0))
    )
    return OrderStatsRead(
        start=start, end=end, interval=interval, currency=settings.base_currency, totals=totals, series=series
    )


@router.get("/orders/{order_id}", response_model=OrderRead)
def get_order(order_id: int, session: SessionDep) -> OrderRead:
    return orders.to_read(session, [orders.get_order_or_raise(session, order_id)])[0]


@router.post("/products", status_code=status.HTTP_201_CREATED, response_model=ProductRead)
def create_product(body: ProductIn, session: SessionDep, response: Response) -> ProductRead:
    product = products.create(session, body)
    response.headers["Location"] = f"/v1/products/{product.sku}"
    response.headers["ETag"] = etag(product.version)
    return ProductRead.model_validate(product)


@router.post("/products:batchUpsert", response_model=BatchResult)
def batch_upsert_products(
    body: BatchIn, request: Request, session: SessionDep, settings: SettingsDep, idempotency_key: IdempotencyKey = None
) -> Response:
    _check_size(body, settings.batch_max_records)
    return _batch(request, session, idempotency_key, body, lambda records: products.upsert_many(session, records))


@router.get("/products", response_model=Page[ProductRead])
def list_products(
    session: SessionDep,
    limit: Limit = 50,
    cursor: str | None = None,
    category: str | None = None,
    active: bool | None = None,
) -> Page[ProductRead]:
    rows, next_cursor = products.list_page(session, limit=limit, cursor=cursor, category=category, active=active)
    return Page(items=[ProductRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get("/products/{sku}", response_model=ProductRead)
def get_product(sku: str, session: SessionDep, response: Response) -> ProductRead:
    product = products.get_or_raise(session, sku)
    response.headers["ETag"] = etag(product.version)
    return ProductRead.model_validate(product)


@router.patch("/products/{sku}", response_model=ProductRead)
def patch_product(
    sku: str, body: ProductPatch, session: SessionDep, response: Response, if_match: IfMatch = None
) -> ProductRead:
    product = products.get_or_raise(session, sku)
    parse_if_match(if_match, current_version=product.version)
    products.update(session, product, body)
    response.headers["ETag"] = etag(product.version)
    return ProductRead.model_validate(product)


@router.delete("/products/{sku}", status_code=status.HTTP_204_NO_CONTENT)
def delete_product(sku: str, session: SessionDep) -> None:
    products.delete(session, products.get_or_raise(session, sku))


@router.post("/customers:search", response_model=Page[CustomerRead])
def search_customers(body: SearchIn, session: SessionDep, settings: SettingsDep) -> Page[CustomerRead]:
    rows, next_cursor, total = search.search(
        session, body.filter, limit=body.limit, cursor=body.cursor, with_total=body.with_total
    )
    return Page(
        items=store.to_read(session, rows, currency=settings.base_currency), next_cursor=next_cursor, total=total
    )


@router.post("/customers:count", response_model=CountOut)
def count_customers(body: CountIn, session: SessionDep) -> CountOut:
    return CountOut(count=search.count(session, body.filter))
