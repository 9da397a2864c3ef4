"""Order lines of an import file (one row per item, as `rapport.demo` writes them) grouped into orders,
validated and totalled with the rules of `POST /v1/orders:batchUpsert`, column by column.

Columns: source, order_external_id, customer_external_id, placed_at, channel, currency, status, sku,
quantity, unit_price (source, channel and status optional). The lines of one order must be contiguous
in the file: an order is a run of lines with the same order_external_id, so a block never needs the rest
of the file to close an order. The order fields (customer, placed_at, channel, currency, status) are
taken from its first line and every other line must repeat them. An order is stored whole or not at
all: one bad line rejects its whole order, and each of its lines is reported. When an order id appears
again later in the file, the later lines replace the order (as a second upsert would).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import TypeAdapter

from .. import cleaning
from ..schemas import ExternalId, OrderBatchRecord, OrderItemIn, OrderStatus
from . import chunks
from . import columns as col
from .files import Block

REQUIRED = ("order_external_id", "customer_external_id", "placed_at", "currency", "sku", "quantity", "unit_price")
OPTIONAL = ("channel", "status")
MAX_LINES = 1000  # items per order, as in the batch API
MAX_TOTAL_CENTS = 10**16  # NUMERIC(16, 2)

_EXTERNAL_ID: TypeAdapter[str] = TypeAdapter(ExternalId)
_CHANNEL: TypeAdapter[Any] = TypeAdapter(cast(Any, OrderBatchRecord.model_fields["channel"].annotation))
_CURRENCY: TypeAdapter[str] = TypeAdapter(Annotated[str, OrderBatchRecord.model_fields["currency"]])
_STATUS: TypeAdapter[OrderStatus] = TypeAdapter(OrderStatus)
_SKU: TypeAdapter[str] = TypeAdapter(Annotated[str, OrderItemIn.model_fields["sku"]])
_QUANTITY: TypeAdapter[int] = TypeAdapter(Annotated[int, OrderItemIn.model_fields["quantity"]])
_PRICE: TypeAdapter[Decimal] = TypeAdapter(Annotated[Decimal, OrderItemIn.model_fields["unit_price"]])
_HEADER = ("customer_external_id", "placed_at", "channel", "currency", "status")


@dataclass
class Orders:
    """Valid orders of a block (one entry per order) and their lines (one entry per line, order by order)."""

    external_id: pa.Array
    customer_external_id: pa.Array
    placed_at: np.ndarray  # epoch microseconds, UTC
    channel: pa.Array
    currency: pa.Array
    status: pa.Array
    total: np.ndarray  # cents
    total_base: np.ndarray  # cents in the base currency
    item_count: np.ndarray
    line_count: np.ndarray
    first_row: np.ndarray  # block row of each order's first line
    # lines
    order_of_line: np.ndarray  # index into the orders above
    line: np.ndarray  # 1-based position within its order
    sku: pa.Array
    quantity: np.ndarray
    unit_price: np.ndarray  # cents

    @property
    def size(self) -> int:
        return len(self.placed_at)

    def take(self, orders: np.ndarray) -> Orders:
        """The orders at these positions (a boolean mask), with their lines."""
        keep_lines = orders[self.order_of_line]
        renumber = np.cumsum(orders) - 1
        index = pa.array(np.flatnonzero(orders))
        line_index = pa.array(np.flatnonzero(keep_lines))
        return Orders(
            external_id=self.external_id.take(index),
            customer_external_id=self.customer_external_id.take(index),
            placed_at=self.placed_at[orders],
            channel=self.channel.take(index),
            currency=self.currency.take(index),
            status=self.status.take(index),
            total=self.total[orders],
            total_base=self.total_base[orders],
            item_count=self.item_count[orders],
            line_count=self.line_count[orders],
            first_row=self.first_row[orders],
            order_of_line=renumber[self.order_of_line[keep_lines]],
            line=self.line[keep_lines],
            sku=self.sku.take(line_index),
            quantity=self.quantity[keep_lines],
            unit_price=self.unit_price[keep_lines],
        )


@dataclass
class Parsed:
    orders: Orders
    problems: col.Problems
    row_of_order_line: np.ndarray  # block row of each line of `orders`


def sources(block: Block, default: str) -> pa.Array:
    values = block.columns.get("source")
    return pa.array([default] * block.size, pa.string()) if values is None else pc.fill_null(values, default)


def complete_rows(block: Block, *, source: str) -> int:
    """How many first rows of `block` hold whole orders: all of them at the end of the file, otherwise all
    but the lines of the last order, which may go on in the next block."""
    if block.eof or block.size == 0:
        return block.size
    ids = block.columns.get("order_external_id")
    if ids is None:
        return block.size
    same = col.mask(pc.equal(ids, ids[block.size - 1])) & col.mask(pc.equal(sources(block, source), source))
    different = np.flatnonzero(~same)
    return int(different[-1]) + 1 if len(different) else 0


def _runs(ids: pa.Array) -> np.ndarray:
    """Start row of each run of equal order ids (a null id is a run of its own)."""
    size = len(ids)
    if size == 0:
        return np.zeros(0, dtype=np.int64)
    changed = ~col.mask(pc.equal(ids.slice(1), ids.slice(0, size - 1)))
    return np.concatenate(([0], np.flatnonzero(changed) + 1)).astype(np.int64)


def _cleaned_channels(values: pa.Array) -> pa.Array:
    encoded = values.dictionary_encode()
    cleaned = [cleaning.clean_text(value) for value in encoded.dictionary.to_pylist()]
    return pa.array(cleaned, pa.string()).take(encoded.indices)


def _stripped(values: pa.Array) -> pa.Array:
    encoded = values.dictionary_encode()
    names = encoded.dictionary.to_pylist()
    return pa.array([name.strip() for name in names], pa.string()).take(encoded.indices)


def _base_cents(total: np.ndarray, currency: pa.Array, fx_rates: Mapping[str, Decimal]) -> np.ndarray:
    """total x rate rounded half-up to the cent, exactly (integer arithmetic on the rate's fraction)."""
    base = np.zeros(len(total), dtype=np.int64)
    codes = np.asarray(currency.to_numpy(zero_copy_only=False), dtype=object)
    for code in {c for c in codes if c is not None}:
        rows = codes == code
        numerator, denominator = fx_rates[code].as_integer_ratio()
        if int(total[rows].max(initial=0)) * numerator < 2**62:
            base[rows] = (2 * total[rows] * numerator + denominator) // (2 * denominator)
        else:  # beyond int64: Python integers for this currency
            base[rows] = [(2 * int(t) * numerator + denominator) // (2 * denominator) for t in total[rows]]
    return base


def parse(block: Block, *, source: str, fx_rates: Mapping[str, Decimal]) -> Parsed:
    """Validate every line, group lines into orders and total them; rejected lines are in `problems`."""
    size = block.size
    data = block.columns
    problems = col.Problems(size)
    chunks.reject_unknown_fields((*REQUIRED, *OPTIONAL), block, problems)
    missing = pa.nulls(size, pa.string())
    row_source = sources(block, source)
    problems.add(~col.mask(pc.equal(row_source, source)), f"source: differs from this import's source {source!r}")
    for name in REQUIRED:
        problems.require(data[name], name)
    for name in ("order_external_id", "customer_external_id"):
        length = pc.utf8_length(data[name])
        fast = col.mask(pc.and_(pc.greater_equal(length, 1), pc.less_equal(length, 128)))
        col.check(data[name], name, _EXTERNAL_ID, problems, fast=fast)
    placed_text = data["placed_at"]
    problems.add(
        col.mask(pc.greater(pc.utf8_length(placed_text), 40)), "placed_at: String should have at most 40 characters"
    )
    placed_at = col.timestamps(placed_text, "placed_at", problems)
    channel = data.get("channel", missing)
    col.check(channel, "channel", _CHANNEL, problems, fast=col.mask(pc.less_equal(pc.utf8_length(channel), 32)))
    channel = _cleaned_channels(channel)
    currency = data["currency"]
    col.check(
        currency, "currency", _CURRENCY, problems, fast=col.mask(pc.match_substring_regex(currency, "^[A-Z]{3}$"))
    )
    currency = pc.utf8_upper(currency)
    known = col.mask(pc.is_in(currency, value_set=pa.array(sorted(fx_rates), pa.string())))
    unknown = ~known & ~col.null_mask(currency) & ~problems.rejected
    known_names = ", ".join(sorted(fx_rates))
    problems.add(unknown, lambda row: f"currency: no exchange rate for {currency[row].as_py()}; known: {known_names}")
    status = pc.fill_null(data.get("status", missing), OrderStatus.paid.value)
    valid_status = col.mask(pc.is_in(status, value_set=pa.array([s.value for s in OrderStatus])))
    col.check(status, "status", _STATUS, problems, fast=valid_status)
    sku = data["sku"]
    col.check(sku, "sku", _SKU, problems, fast=col.mask(pc.less_equal(pc.utf8_length(sku), 64)))
    sku = _stripped(sku)
    quantity = col.integers(data["quantity"], "quantity", _QUANTITY, problems)
    price = col.cents(data["unit_price"], "unit_price", _PRICE, problems)
    ids = data["order_external_id"]
    starts = _runs(ids)
    run_of_row = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, size)))
    first = starts[run_of_row]
    header = {
        "customer_external_id": data["customer_external_id"],
        "placed_at": pa.array(placed_at),
        "channel": channel,
        "currency": currency,
        "status": status,
    }
    lines = np.asarray(block.lines)
    for name in _HEADER:
        values = header[name]
        differs = ~col.mask(pc.equal(values, values.take(pa.array(first)))) & ~(
            col.null_mask(values) & col.null_mask(values.take(pa.array(first)))
        )
        problems.add(differs, _differs_from_first(name, lines, first))
    line_total = quantity * price
    totals = np.add.reduceat(line_total, starts) if size else np.zeros(0, dtype=np.int64)
    counts = np.diff(np.append(starts, size))
    too_long = (counts > MAX_LINES)[run_of_row]
    problems.add(too_long, f"order has more than {MAX_LINES} lines")
    too_big = (
        (np.add.reduceat(line_total.astype(np.float64), starts) >= MAX_TOTAL_CENTS)[run_of_row] if size else too_long
    )
    problems.add(too_big & ~too_long, "order total exceeds 99,999,999,999,999.99")
    _reject_whole_orders(problems, starts, run_of_row, lines)
    good_run = ~np.logical_or.reduceat(problems.rejected, starts) if size else np.zeros(0, dtype=bool)
    good_run &= _last_of_each_id(ids, starts, good_run)
    run_index = pa.array(starts)
    orders = Orders(
        external_id=ids.take(run_index),
        customer_external_id=data["customer_external_id"].take(run_index),
        placed_at=placed_at[starts],
        channel=channel.take(run_index),
        currency=currency.take(run_index),
        status=status.take(run_index),
        total=totals,
        total_base=np.zeros(len(starts), dtype=np.int64),
        item_count=np.add.reduceat(quantity, starts) if size else np.zeros(0, dtype=np.int64),
        line_count=counts,
        first_row=starts,
        order_of_line=run_of_row,
        line=np.arange(size) - first + 1,
        sku=sku,
        quantity=quantity,
        unit_price=price,
    ).take(good_run)
    orders.total_base = _base_cents(orders.total, orders.currency, fx_rates)
    return Parsed(orders, problems, np.flatnonzero(good_run[run_of_row]))


def _differs_from_first(name: str, lines: np.ndarray, first: np.ndarray) -> Callable[[int], str]:
    return lambda row: f"{name}: differs from line {lines[first[row]]}, the order's first line"


def _reject_whole_orders(problems: col.Problems, starts: np.ndarray, run_of_row: np.ndarray, lines: np.ndarray) -> None:
    """A line of an order with a rejected line is rejected too, naming the first bad line."""
    rejected = problems.rejected
    if not rejected.any():
        return
    first_bad = np.full(len(starts), -1, dtype=np.int64)
    bad_rows = np.flatnonzero(rejected)
    runs = run_of_row[bad_rows]
    keep = np.concatenate(([True], runs[1:] != runs[:-1]))
    first_bad[runs[keep]] = bad_rows[keep]
    innocent = ~rejected & (first_bad[run_of_row] >= 0)
    problems.add(innocent, lambda row: f"the order's line {lines[first_bad[run_of_row[row]]]} is rejected")


def _last_of_each_id(ids: pa.Array, starts: np.ndarray, good: np.ndarray) -> np.ndarray:
    """False for a valid run whose order id comes again in a later valid run of the block (it is replaced)."""
    if len(starts) < 2:
        return np.ones(len(starts), dtype=bool)
    encoded = ids.take(pa.array(starts)).dictionary_encode().indices
    codes = pc.fill_null(encoded, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    codes = np.where(good, codes, -1 - np.arange(len(starts)))  # invalid runs never replace anything
    reversed_codes = codes[::-1]
    _, last_from_end = np.unique(reversed_codes, return_index=True)
    keep = np.zeros(len(starts), dtype=bool)
    keep[len(starts) - 1 - last_from_end] = True
    return keep
