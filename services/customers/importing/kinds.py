"""The three kinds of import files, as the job runner sees them (`chunks.Kind`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from .. import interactions, store
from . import chunks, customer_rows, order_lines, order_writes
from .files import Block


class Customers:
    name = "customers"
    required: tuple[str, ...] = customer_rows.REQUIRED
    optional: tuple[str, ...] = customer_rows.OPTIONAL

    def complete_rows(self, block: Block, context: chunks.Context) -> int:
        return block.size

    def prepare(self, block: Block, context: chunks.Context) -> customer_rows.Prepared:
        return customer_rows.prepare(block, context)

    def write(self, session: Session, prepared: Any, context: chunks.Context) -> chunks.Outcome:
        return customer_rows.write(session, prepared)


class Orders:
    name = "orders"
    required: tuple[str, ...] = order_lines.REQUIRED
    optional: tuple[str, ...] = order_lines.OPTIONAL

    def complete_rows(self, block: Block, context: chunks.Context) -> int:
        return order_lines.complete_rows(block, source=context.source)

    def prepare(self, block: Block, context: chunks.Context) -> tuple[Block, order_lines.Parsed]:
        return block, order_lines.parse(block, source=context.source, fx_rates=context.fx_rates)

    def write(self, session: Session, prepared: Any, context: chunks.Context) -> chunks.Outcome:
        block, parsed = prepared
        counts = order_writes.write(session, parsed, source=context.source, stamp=store.now())
        processed = int((~parsed.problems.rejected).sum())
        return chunks.Outcome(processed, chunks.failures(block, parsed.problems), vars(counts))


class Interactions:
    name = "interactions"
    required: tuple[str, ...] = interactions.REQUIRED
    optional: tuple[str, ...] = interactions.OPTIONAL

    def complete_rows(self, block: Block, context: chunks.Context) -> int:
        return block.size

    def prepare(self, block: Block, context: chunks.Context) -> interactions.Prepared:
        return interactions.prepare(block, context)

    def write(self, session: Session, prepared: Any, context: chunks.Context) -> chunks.Outcome:
        return interactions.write(session, prepared, context)


KINDS: dict[str, chunks.Kind] = {kind.name: kind for kind in (Customers(), Orders(), Interactions())}
