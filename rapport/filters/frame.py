"""`to_pandas`: a Node tree evaluated over a DataFrame, with the same semantics as `to_sql`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.api import types as ptypes

from .fields import ASCII_LOWER, Field, FieldType, json_kind
from .nodes import AllOf, AnyOf, Condition, Node, Not, Op

Mask = npt.NDArray[np.bool_]
_COLLECTIONS = (set, frozenset, list, tuple, np.ndarray)


def to_pandas(node: Node, frame: pd.DataFrame, fields: Mapping[str, Field]) -> pd.Series[bool]:
    """A boolean Series on `frame.index`: which rows match `node` (from `parse_filter` with the same `fields`).

    Column representations: string_set -> one set/frozenset/list/tuple/array of strings per row (None or
    NaN = empty); json -> one dict per row (None or NaN = no attributes); date -> datetime.date objects or
    datetime64 at midnight; datetime -> datetime64 (naive = UTC) or datetime objects; number -> floats or
    Decimal objects. Raises ValueError when a field is missing from `fields` or its column from `frame`.
    """
    return pd.Series(_compile(node, frame, fields), index=frame.index, dtype=bool)


def _compile(node: Node, frame: pd.DataFrame, fields: Mapping[str, Field]) -> Mask:
    match node:
        case AllOf(items):
            result = np.ones(len(frame), dtype=bool)
            for item in items:
                result &= _compile(item, frame, fields)
            return result
        case AnyOf(items):
            result = np.zeros(len(frame), dtype=bool)
            for item in items:
                result |= _compile(item, frame, fields)
            return result
        case Not(item):
            return ~_compile(item, frame, fields)
        case Condition():
            return _condition(node, frame, fields)
    raise TypeError(f"not a filter node: {node!r}")


def _condition(condition: Condition, frame: pd.DataFrame, fields: Mapping[str, Field]) -> Mask:
    field = fields.get(condition.field)
    if field is None:
        raise ValueError(f"field {condition.field!r} is not among the fields given to to_pandas")
    if field.derive is not None:
        base = field.derive.base
        return _compile(field.derive.rewrite(condition), frame, {base.name: base})
    if field.frame_column not in frame.columns:
        raise ValueError(f"field {field.name!r} reads column {field.frame_column!r}, which the frame lacks")
    series = frame[field.frame_column]
    op, value = condition.op, condition.value
    if field.type is FieldType.STRING_SET:
        return _set_condition(series, op, value)
    if field.type is FieldType.JSON:
        assert condition.key is not None
        kind = None if op is Op.EXISTS else json_kind(value[0] if isinstance(value, tuple) else value)
        series = _json_values(series, condition.key, kind)
    present = series.notna().to_numpy(dtype=bool)
    if op is Op.EXISTS:
        return present if value else ~present
    values, value = _comparable(series[present], field.type, value)
    result = np.zeros(len(series), dtype=bool)
    result[present] = _compare(values, op, value)
    return result


def _comparable(values: pd.Series, type_: FieldType, value: Any) -> tuple[pd.Series, Any]:
    """Values and filter value in one domain, so that Python/numpy comparisons mean what SQL's do."""
    if type_ is FieldType.NUMBER:
        if ptypes.is_numeric_dtype(values.dtype):  # float storage compares as float, as SQLite REAL does
            return values, _map(value, float)
        return values.map(_decimal), value  # Decimal storage compares exactly, as PostgreSQL NUMERIC does
    if type_ is FieldType.DATE:
        if ptypes.is_datetime64_dtype(values.dtype):
            return values, _map(value, pd.Timestamp)
        return values.map(_date), value
    if type_ is FieldType.DATETIME:
        if not ptypes.is_datetime64_any_dtype(values.dtype):
            values = pd.to_datetime(values, utc=True)
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            return values, _map(value, pd.Timestamp)
        return values, _map(value, lambda moment: pd.Timestamp(moment.replace(tzinfo=None)))
    return values, value


def _map(value: Any, convert: Callable[[Any], Any]) -> Any:
    return tuple(convert(item) for item in value) if isinstance(value, tuple) else convert(value)


def _decimal(number: Any) -> Decimal:
    if isinstance(number, Decimal):
        return number
    if isinstance(number, float | np.floating):
        return Decimal(repr(float(number)))  # the shortest repr: a stored 0.1 equals the filter value 0.1
    return Decimal(int(number))


def _date(moment: Any) -> date:
    if isinstance(moment, datetime):
        return moment.date()
    return date.fromisoformat(moment) if isinstance(moment, str) else moment


def _compare(values: pd.Series, op: Op, value: Any) -> Mask:
    match op:
        case Op.EQ:
            result = values == value
        case Op.NE:
            result = values != value
        case Op.LT:
            result = values < value
        case Op.LTE:
            result = values <= value
        case Op.GT:
            result = values > value
        case Op.GTE:
            result = values >= value
        case Op.IN | Op.NOT_IN:
            result = values.isin(list(value))
            if op is Op.NOT_IN:
                result = ~result
        case Op.BETWEEN:
            result = (values >= value[0]) & (values <= value[1])
        case Op.CONTAINS:
            needle = value.translate(ASCII_LOWER)
            return np.fromiter((needle in text.translate(ASCII_LOWER) for text in values), bool, len(values))
    return np.asarray(result, dtype=bool)


def _set_condition(series: pd.Series, op: Op, value: Any) -> Mask:
    rows = [row if isinstance(row, _COLLECTIONS) else () for row in series]
    if op is Op.EXISTS:
        present = np.fromiter((len(row) > 0 for row in rows), bool, len(rows))
        return present if value else ~present
    if op is Op.CONTAINS:
        return np.fromiter((value in row for row in rows), bool, len(rows))
    wanted = set(value)  # op is IN: has at least one of the values
    return np.fromiter((not wanted.isdisjoint(row) for row in rows), bool, len(rows))


def _json_values(series: pd.Series, key: str, kind: str | None) -> pd.Series:
    """The attribute `key` of each row's dict, kept only when its JSON kind is `kind` (None: any kind)."""
    typed: list[Any] = []
    for document in series:
        item = document.get(key) if isinstance(document, Mapping) else None
        if item is None or kind is None or (json_kind(item) == kind and not isinstance(item, dict | list)):
            typed.append(float(item) if kind == "number" and item is not None else item)
        else:
            typed.append(None)
    return pd.Series(typed, index=series.index, dtype=float if kind == "number" else object)
