"""Queries of the product catalogue."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from rapport.errors import Conflict, NotFound
from rapport.pagination import decode_cursor, encode_cursor

from . import store
from .models import Product
from .schemas import FieldError, ProductIn, ProductPatch, RecordResult, RecordStatus
from .sync import Batch, pydantic_errors


def get_or_raise(session: Session, sku: str) -> Product:
    product = session.get(Product, sku)
    if product is None:
        raise NotFound(f"No product with sku {sku!r}.")
    return product


def create(session: Session, body: ProductIn) -> Product:
    """Insert a product; Conflict if the sku exists."""
    if session.get(Product, body.sku) is not None:
        raise Conflict(f"A product with sku {body.sku!r} exists; PATCH it instead.")
    stamp = store.now()
    product = Product(**body.model_dump(), created_at=stamp, updated_at=stamp, version=1)
    session.add(product)
    session.flush()
    return product


def update(session: Session, product: Product, patch: ProductPatch) -> bool:
    """Apply the patch; bumps the version when something changed. Returns whether it did."""
    changes = {
        name: value for name, value in patch.model_dump(exclude_unset=True).items() if getattr(product, name) != value
    }
    if changes:
        for name, value in changes.items():
            setattr(product, name, value)
        product.version += 1
        product.updated_at = store.now()
    return bool(changes)


def delete(session: Session, product: Product) -> None:
    session.delete(product)


def list_page(
    session: Session, *, limit: int, cursor: str | None, category: str | None = None, active: bool | None = None
) -> tuple[list[Product], str | None]:
    after = decode_cursor(cursor, arity=1)
    query = select(Product).order_by(Product.sku).limit(limit + 1)
    if after is not None:
        query = query.where(Product.sku > str(after[0]))
    if category is not None:
        query = query.where(Product.category == category)
    if active is not None:
        query = query.where(Product.active.is_(active))
    rows = list(session.scalars(query))
    next_cursor = encode_cursor([rows[limit - 1].sku]) if len(rows) > limit else None
    return rows[:limit], next_cursor


def upsert_many(session: Session, records: Sequence[Any]) -> list[RecordResult]:
    """Create or update one product per record by sku (a catalogue sync)."""
    batch = Batch(len(records))
    valid: dict[str, tuple[int, ProductIn]] = {}
    for index, raw in enumerate(records):
        sku = raw.get("sku") if isinstance(raw, Mapping) else None
        try:
            product = ProductIn.model_validate(raw)
        except ValidationError as error:
            batch.fail(index, sku, pydantic_errors(error))
            continue
        if product.sku in valid:
            batch.fail(
                index,
                product.sku,
                [FieldError(loc="sku", msg=f"duplicate of record {valid[product.sku][0]} in this batch")],
            )
            continue
        valid[product.sku] = (index, product)
    existing = {p.sku: p for p in session.scalars(select(Product).where(Product.sku.in_(list(valid))))} if valid else {}
    stamp = store.now()
    new_rows = []
    for sku, (index, product) in valid.items():
        stored = existing.get(sku)
        if stored is None:
            new_rows.append({**product.model_dump(), "created_at": stamp, "updated_at": stamp, "version": 1})
            batch.done(index, sku, RecordStatus.created, sku)
        else:
            changed = update(session, stored, ProductPatch.model_validate(product.model_dump(exclude={"sku"})))
            batch.done(index, sku, RecordStatus.updated if changed else RecordStatus.unchanged, sku)
    if new_rows:
        session.execute(insert(Product), new_rows)
    return batch.ordered()
