"""`parse_filter`: raw JSON -> a validated Node tree, or `Invalid` listing every problem with its location."""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from rapport.errors import Invalid

from .fields import JSON_OPS_BY_KIND, Field, FieldType, json_kind
from .nodes import AllOf, AnyOf, Condition, Node, Not, Op

MAX_DEPTH = 8  # levels of all / any / not
MAX_CONDITIONS = 100
MAX_VALUES = 1000  # per in / not_in list
INT64 = (-(2**63), 2**63 - 1)
_MAX_ERRORS = 50

_GROUPS = ("all", "any", "not")
_OPS = frozenset(op.value for op in Op)
_CONDITION_KEYS = ("field", "op", "value")
_SHAPE = "a condition {field, op, value} or one of {all: [...]}, {any: [...]}, {not: {...}}"
# ASCII only: SQLite (3.40) matches JSON path keys against the stored, \u-escaped text.
_JSON_KEY = re.compile(r"[A-Za-z0-9_\-]{1,64}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DECIMAL = re.compile(r"-?\d{1,30}(\.\d{1,30})?")

_NEEDS = {
    FieldType.STRING: "a string",
    FieldType.STRING_SET: "a string",
    FieldType.INTEGER: "an integer",
    FieldType.NUMBER: "a number (or a decimal string such as '12.50')",
    FieldType.BOOLEAN: "true or false",
    FieldType.DATE: "an ISO date string such as '2024-05-31'",
    FieldType.DATETIME: "an ISO 8601 string such as '2024-05-31T12:00:00Z'",
    FieldType.JSON: "a string, a number or true/false",
}


class _Problem(Exception):
    """A value problem; the parser adds the location."""


def parse_filter(raw: Any, fields: Mapping[str, Field], *, loc: str = "filter") -> Node:
    """Validate a filter (decoded JSON) against the whitelisted `fields`.

    Returns the Node tree, values converted (dates, aware UTC datetimes, Decimals, tuples).
    Raises `Invalid` (422) with `errors=[{"loc": "filter.all.1.field", "msg": ...}]`, one per problem.
    """
    parser = _Parser(fields)
    node = parser.node(raw, [loc], depth=0)
    if parser.conditions > MAX_CONDITIONS:
        parser.fail([loc], f"the filter has more than {MAX_CONDITIONS} conditions; combine values with in/not_in")
    if parser.errors:
        first, more = parser.errors[0], len(parser.errors) - 1
        extra = f" (and {more} more)" if more else ""
        raise Invalid(f"Invalid filter: {first['loc']}: {first['msg']}{extra}. See errors[].", errors=parser.errors)
    return node


class _Parser:
    def __init__(self, fields: Mapping[str, Field]) -> None:
        self.fields = fields
        self.errors: list[dict[str, str]] = []
        self.conditions = 0

    def fail(self, loc: list[str], msg: str) -> None:
        self.errors.append({"loc": ".".join(loc), "msg": msg})

    def node(self, raw: Any, loc: list[str], *, depth: int) -> Node:
        if not isinstance(raw, dict):
            self.fail(loc, f"expected {_SHAPE}; got {_describe(raw)}")
            return AllOf(())
        groups = [key for key in _GROUPS if key in raw]
        if not groups:
            return self.condition(raw, loc)
        if len(raw) != 1:
            self.fail(loc, f"an all/any/not object has exactly one key; got {_keys(raw)}")
            return AllOf(())
        key = groups[0]
        if depth >= MAX_DEPTH:
            self.fail([*loc, key], f"the filter is nested too deeply: at most {MAX_DEPTH} levels of all/any/not")
            return AllOf(())
        if key == "not":
            return Not(self.node(raw[key], [*loc, key], depth=depth + 1))
        items = raw[key]
        if not isinstance(items, list):
            self.fail([*loc, key], f"'{key}' takes a list of filters; got {_describe(items)}")
            return AllOf(())
        nodes = []
        for index, item in enumerate(items):
            if self.conditions > MAX_CONDITIONS or len(self.errors) >= _MAX_ERRORS:
                break  # stop reading a huge input; the conditions limit is reported by parse_filter
            nodes.append(self.node(item, [*loc, key, str(index)], depth=depth + 1))
        return AllOf(tuple(nodes)) if key == "all" else AnyOf(tuple(nodes))

    def condition(self, raw: dict[str, Any], loc: list[str]) -> Node:
        self.conditions += 1
        unknown = [key for key in raw if key not in _CONDITION_KEYS]
        missing = [key for key in _CONDITION_KEYS if key not in raw]
        if unknown or missing:
            named = f" for field {raw['field']!r}" if isinstance(raw.get("field"), str) else ""
            what = f"unknown keys {unknown}" if unknown else f"missing {', '.join(missing)}"
            self.fail(loc, f"a condition{named} has exactly the keys field, op, value; {what}")
            return AllOf(())
        resolved = self.resolve(raw["field"], [*loc, "field"])
        if resolved is None:
            return AllOf(())
        field, key, label = resolved
        op = raw["op"]
        allowed = ", ".join(sorted(field.allowed_ops))
        if not isinstance(op, str) or op not in _OPS:
            what = f"unknown operator {op!r}" if isinstance(op, str) else f"the operator is {_describe(op)}"
            self.fail([*loc, "op"], f"{what} for field '{label}'; use one of: {allowed}")
            return AllOf(())
        if Op(op) not in field.allowed_ops:
            self.fail(
                [*loc, "op"],
                f"operator '{op}' is not allowed for field '{label}' ({field.type}); use one of: {allowed}",
            )
            return AllOf(())
        try:
            value = _value(field.type, Op(op), raw["value"])
        except _Problem as problem:
            self.fail([*loc, "value"], f"field '{label}' ({field.type}): {problem}")
            return AllOf(())
        return Condition(field.name, Op(op), value, key)

    def resolve(self, name: Any, loc: list[str]) -> tuple[Field, str | None, str] | None:
        if not isinstance(name, str):
            self.fail(loc, f"the field must be a string naming one of: {self.allowed()}; got {_describe(name)}")
            return None
        base, dot, key = name.partition(".")
        field = self.fields.get(base)
        if field is not None and field.type is FieldType.JSON:
            if not dot:
                self.fail(loc, f"field '{name}' holds attributes: name one as '{name}.<key>'")
                return None
            if not _JSON_KEY.fullmatch(key):
                self.fail(loc, f"field '{name}': an attribute key is 1-64 ASCII letters, digits, '_' or '-'")
                return None
            return field, key, name
        if field is None or dot:
            close = difflib.get_close_matches(name, list(self.fields), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            self.fail(loc, f"unknown field {name!r}{hint}; allowed: {self.allowed()}")
            return None
        return field, None, name

    def allowed(self) -> str:
        names = (f"{n}.<key>" if f.type is FieldType.JSON else n for n, f in self.fields.items())
        return ", ".join(sorted(names))


def _value(type_: FieldType, op: Op, raw: Any) -> Any:
    """The condition's value converted for `type_`; raises _Problem saying what to send instead."""
    needs = _NEEDS[type_]
    if op is Op.EXISTS:
        if not isinstance(raw, bool):
            raise _Problem(f"exists takes true or false; got {_describe(raw)}")
        return raw
    if op in (Op.IN, Op.NOT_IN):
        if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_VALUES:
            raise _Problem(f"{op} takes a list of 1 to {MAX_VALUES} values, each {needs}; got {_describe(raw)}")
        values = tuple(_item(type_, op, item, index) for index, item in enumerate(raw))
        _samejson_kind(type_, op, values)
        return values
    if op is Op.BETWEEN:
        if not isinstance(raw, list) or len(raw) != 2:
            raise _Problem(f"between takes a list of two values [low, high], each {needs}; got {_describe(raw)}")
        low, high = (_item(type_, op, item, index) for index, item in enumerate(raw))
        _samejson_kind(type_, op, (low, high))
        if low > high:
            raise _Problem(f"between takes [low, high] with low <= high; got {_describe(raw)}")
        return (low, high)
    return _scalar(type_, op, raw)


def _item(type_: FieldType, op: Op, raw: Any, index: int) -> Any:
    try:
        return _scalar(type_, op, raw)
    except _Problem as problem:
        raise _Problem(f"item {index}: {problem}") from None


def _scalar(type_: FieldType, op: Op, raw: Any) -> Any:
    value = _convert(type_, raw)
    if value is None:
        raise _Problem(f"{op} takes {_NEEDS[type_]}; got {_describe(raw)}")
    if type_ is FieldType.JSON and op not in JSON_OPS_BY_KIND[json_kind(value)]:
        kinds = [kind for kind, ops in JSON_OPS_BY_KIND.items() if op in ops]
        raise _Problem(f"{op} compares {' or '.join(kinds)} values; got {_describe(raw)}")
    return value


def _convert(type_: FieldType, raw: Any) -> Any:
    """`raw` as the Python value of `type_`, or None when it is not one."""
    number = isinstance(raw, int | float) and not isinstance(raw, bool)
    if isinstance(raw, str) and "\x00" in raw:
        return None  # PostgreSQL text cannot hold NUL
    match type_:
        case FieldType.STRING | FieldType.STRING_SET:
            return raw if isinstance(raw, str) else None
        case FieldType.INTEGER:
            return raw if type(raw) is int and INT64[0] <= raw <= INT64[1] else None
        case FieldType.NUMBER:
            if number and math.isfinite(raw):
                return Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)
            return Decimal(raw) if isinstance(raw, str) and _DECIMAL.fullmatch(raw) else None
        case FieldType.BOOLEAN:
            return raw if isinstance(raw, bool) else None
        case FieldType.DATE:
            return _iso(date.fromisoformat, raw) if isinstance(raw, str) and _DATE.fullmatch(raw) else None
        case FieldType.DATETIME:
            return _iso(_utc_datetime, raw) if isinstance(raw, str) else None
        case FieldType.JSON:
            if number:
                return float(raw) if math.isfinite(raw) else None
            return raw if isinstance(raw, str | bool) else None
    return None


def _utc_datetime(raw: str) -> datetime:
    moment = datetime.fromisoformat(raw)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(parse: Any, raw: str) -> Any:
    try:
        return parse(raw)
    except (ValueError, OverflowError):
        return None


def _samejson_kind(type_: FieldType, op: Op, values: tuple[Any, ...]) -> None:
    if type_ is FieldType.JSON and len({json_kind(value) for value in values}) > 1:
        raise _Problem(f"{op} takes values of one kind: all strings, all numbers or all booleans")


def _describe(raw: Any) -> str:
    if raw is None:
        return "null"
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, str):
        text = raw if len(raw) <= 40 else raw[:37] + "..."
        return f"the string {text!r}"
    if isinstance(raw, int | float):
        return f"the number {raw!r}"
    if isinstance(raw, list):
        shown = json.dumps(raw, default=str, ensure_ascii=False)
        return shown if len(shown) <= 40 else f"a list of {len(raw)} values"
    if isinstance(raw, dict):
        return f"an object with keys {_keys(raw)}"
    return f"a {type(raw).__name__}"


def _keys(raw: dict[Any, Any]) -> str:
    return ", ".join(repr(key) for key in list(raw)[:10]) or "none"
