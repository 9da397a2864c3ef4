"""Vectorised column builders: numpy arrays in, pyarrow arrays out.

Strings are built with pyarrow compute kernels (C++), which is what keeps the generator free of
per-row Python: an order id column for a million lines is one `cast` + one `lpad` + one `join`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MONEY = pa.decimal128(12, 2)
TIMESTAMP = pa.timestamp("s", tz="UTC")

Part: TypeAlias = pa.Array | str


def vocab(values: Sequence[str]) -> pa.Array:
    """Return `values` as a pyarrow string array, ready for `take`."""
    return pa.array(list(values), type=pa.string())


def take(values: pa.Array | Sequence[str], idx: np.ndarray) -> pa.Array:
    """Return values[idx] as a string array (idx: any integer numpy array)."""
    source = values if isinstance(values, pa.Array) else vocab(values)
    return source.take(pa.array(np.asarray(idx, dtype=np.int64)))


def digits(numbers: np.ndarray, width: int) -> pa.Array:
    """Return the integers as decimal strings left-padded with zeros to at least `width` characters."""
    text = pa.array(np.asarray(numbers, dtype=np.int64)).cast(pa.string())
    return pc.utf8_lpad(text, width=width, padding="0")


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Return identifiers like "C0000001": `prefix` + zero-padded number (wider numbers are kept whole)."""
    return join(prefix, digits(numbers, width))


def join(*parts: Part, sep: str = "") -> pa.Array:
    """Return the element-wise concatenation of arrays and literal strings; null if any part is null."""
    return pc.binary_join_element_wise(*parts, sep)


def where(mask: np.ndarray, when_true: Part, when_false: Part) -> pa.Array:
    """Return when_true where mask holds, else when_false (arrays or literal strings)."""
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), when_true, when_false)


def nullify(values: pa.Array, mask: np.ndarray) -> pa.Array:
    """Return `values` with nulls where mask holds (missing data)."""
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), pa.scalar(None, values.type), values)


def constant(value: str, n: int) -> pa.Array:
    """Return a string array of n copies of `value`."""
    return pa.repeat(pa.scalar(value, pa.string()), n)


def money(cents: np.ndarray) -> pa.Array:
    """Return exact decimal(12, 2) amounts from integer cents (no float rounding on the way)."""
    low = np.asarray(cents, dtype=np.int64)
    # decimal128 is a little-endian 128-bit integer of the unscaled value: low word + sign word.
    words = np.empty((len(low), 2), dtype=np.int64)
    words[:, 0] = low
    words[:, 1] = np.where(low < 0, -1, 0)
    return pa.Array.from_buffers(MONEY, len(low), [None, pa.py_buffer(words.tobytes())])


def timestamps(epoch_seconds: np.ndarray) -> pa.Array:
    """Return UTC timestamps (second precision) from seconds since 1970-01-01."""
    return pa.array(np.asarray(epoch_seconds, dtype=np.int64)).cast(TIMESTAMP)


def dates(epoch_days: np.ndarray) -> pa.Array:
    """Return date32 values from days since 1970-01-01."""
    return pa.array(np.asarray(epoch_days, dtype=np.int32)).cast(pa.date32())


def small_ints(values: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """Return an int8 array (scores) with nulls where `missing` holds."""
    mask = None if missing is None else np.asarray(missing, dtype=bool)
    return pa.array(np.asarray(values, dtype=np.int8), mask=mask)
