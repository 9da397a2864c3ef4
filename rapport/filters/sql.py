"""`to_sql`: a Node tree -> one SQLAlchemy boolean expression, portable across SQLite and PostgreSQL."""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from datetime import UTC
from typing import Any, ClassVar

import orjson
from sqlalchemy import BigInteger, Boolean, ColumnElement, Numeric, String, and_, case, false, literal, not_, or_, true
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from .fields import ASCII_LOWER, Field, FieldType, json_kind
from .nodes import AllOf, AnyOf, Condition, Node, Not, Op


def to_sql(node: Node, fields: Mapping[str, Field]) -> ColumnElement[bool]:
    """The WHERE clause for `node` (from `parse_filter` with the same `fields`).

    Raises ValueError when a condition names a field missing from `fields` or one without SQL access.
    """
    return _compile(node, fields, negated=False)


def _compile(node: Node, fields: Mapping[str, Field], *, negated: bool) -> ColumnElement[bool]:
    # Outside any `not`, a NULL comparison already behaves as false in WHERE (and/or are monotone), so
    # conditions stay plain and index-friendly; under a `not` each one is made two-valued first.
    match node:
        case AllOf(items):
            return and_(*(_compile(item, fields, negated=negated) for item in items)) if items else true()
        case AnyOf(items):
            return or_(*(_compile(item, fields, negated=negated) for item in items)) if items else false()
        case Not(item):
            return not_(_compile(item, fields, negated=True))
        case Condition():
            return _condition(node, fields, negated=negated)
    raise TypeError(f"not a filter node: {node!r}")


def _condition(condition: Condition, fields: Mapping[str, Field], *, negated: bool) -> ColumnElement[bool]:
    field = fields.get(condition.field)
    if field is None:
        raise ValueError(f"field {condition.field!r} is not among the fields given to to_sql")
    if field.derive is not None:
        base = field.derive.base
        return _compile(field.derive.rewrite(condition), {base.name: base}, negated=negated)
    if field.compile_sql is not None:
        return field.compile_sql(condition.op, condition.value)
    if field.sql is None or field.type is FieldType.STRING_SET:
        raise ValueError(f"field {field.name!r} ({field.type}) has no SQL access: give it sql or compile_sql")
    column = field.sql()
    if field.type is FieldType.JSON:
        assert condition.key is not None
        return _json_condition(column, condition.key, condition.op, condition.value)
    value = condition.value if condition.op is Op.EXISTS else _bindable(field.type, column, condition.value)
    return _compare(column, condition.op, value, two_valued=negated)


def _bindable(type_: FieldType, column: ColumnElement[Any], value: Any) -> Any:
    if type_ is FieldType.INTEGER:  # BIGINT: a value beyond an INTEGER column's range still compares
        return _each(value, lambda number: literal(number, BigInteger()))
    if type_ is FieldType.NUMBER:  # NUMERIC: exact on PostgreSQL, a float on SQLite
        return _each(value, lambda number: literal(number, Numeric(asdecimal=True)))
    if type_ is FieldType.DATETIME and not getattr(column.type, "timezone", True):  # naive columns hold UTC
        return _each(value, lambda moment: moment.astimezone(UTC).replace(tzinfo=None))
    return value


def _each(value: Any, convert: Callable[[Any], Any]) -> Any:
    return tuple(convert(item) for item in value) if isinstance(value, tuple) else convert(value)


def _compare(expr: ColumnElement[Any], op: Op, value: Any, *, two_valued: bool) -> ColumnElement[bool]:
    if op is Op.EXISTS:
        return expr.is_not(None) if value else expr.is_(None)
    match op:
        case Op.EQ:
            result = expr == value
        case Op.NE:
            result = expr != value
        case Op.LT:
            result = expr < value
        case Op.LTE:
            result = expr <= value
        case Op.GT:
            result = expr > value
        case Op.GTE:
            result = expr >= value
        case Op.IN:
            result = expr.in_(value)
        case Op.NOT_IN:
            result = expr.not_in(value)
        case Op.BETWEEN:
            result = expr.between(*value)
        case Op.CONTAINS:
            result = ascii_lower(expr).contains(value.translate(ASCII_LOWER), autoescape=True)
    if two_valued or op in (Op.NE, Op.NOT_IN):
        return and_(expr.is_not(None), result)
    return result


def _json_condition(document: ColumnElement[Any], key: str, op: Op, value: Any) -> ColumnElement[bool]:
    if op is Op.EXISTS:
        present = _IsJsonPresent(document, literal(key, String()))
        return present if value else not_(present)
    kind = json_kind(value[0] if isinstance(value, tuple) else value)
    matches = _JSON_KINDS[kind](document, literal(key, String()))
    # CASE guards the cast: PostgreSQL may evaluate `a AND b` in any order, and a text cast to float fails.
    item = document[key]
    accessed = item.as_string() if kind == "string" else item.as_float() if kind == "number" else item.as_boolean()
    expr: ColumnElement[Any] = case((matches, accessed), else_=None)
    condition = and_(matches, _compare(expr, op, value, two_valued=False))
    if op is Op.EQ and kind != "number":  # numbers compare as float64, which containment does not
        # Implied by the condition, so never changes a result; lets a GIN index on jsonb find the rows.
        condition = and_(_JsonContains(document, literal(orjson.dumps({key: value}).decode(), String())), condition)
    return condition


class ascii_lower(FunctionElement[str]):  # noqa: N801 - SQL function names are lower case
    """lower() for A-Z only, identically on every backend (PostgreSQL's lower() follows the locale)."""

    type = String()
    name = "ascii_lower"
    inherit_cache = True


@compiles(ascii_lower)
def _ascii_lower_default(element: ascii_lower, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"  # SQLite's lower() is ASCII-only


@compiles(ascii_lower, "postgresql")
def _ascii_lower_postgresql(element: ascii_lower, compiler: SQLCompiler, **kw: Any) -> str:
    upper, lower = string.ascii_uppercase, string.ascii_lowercase
    return f"translate({compiler.process(element.clauses, **kw)}, '{upper}', '{lower}')"


class _JsonKindIs(FunctionElement[bool]):
    """`(document, key)`: true when the document's key holds a JSON value of one kind; never NULL."""

    type = Boolean()
    inherit_cache = True
    sqlite: ClassVar[tuple[str, ...]]  # json_type() names
    postgresql: ClassVar[tuple[str, ...]]  # json_typeof() names


class _IsJsonString(_JsonKindIs):
    name, sqlite, postgresql = "is_json_string", ("text",), ("string",)
    inherit_cache = True


class _IsJsonNumber(_JsonKindIs):
    name, sqlite, postgresql = "is_json_number", ("integer", "real"), ("number",)
    inherit_cache = True


class _IsJsonBoolean(_JsonKindIs):
    name, sqlite, postgresql = "is_json_boolean", ("true", "false"), ("boolean",)
    inherit_cache = True


class _IsJsonPresent(_JsonKindIs):
    """Present and not JSON null."""

    name = "is_json_present"
    sqlite = ("text", "integer", "real", "true", "false", "array", "object")
    postgresql = ("string", "number", "boolean", "array", "object")
    inherit_cache = True


_JSON_KINDS: dict[str, type[_JsonKindIs]] = {
    "string": _IsJsonString,
    "number": _IsJsonNumber,
    "boolean": _IsJsonBoolean,
}


class _JsonContains(FunctionElement[bool]):
    """`(document, json text)`: PostgreSQL jsonb `document @> value`, which a GIN index serves; true
    elsewhere. Only ever added next to a condition that implies it."""

    type = Boolean()
    name = "json_contains"
    inherit_cache = True


@compiles(_JsonContains)
def _json_contains_default(element: _JsonContains, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(true(), **kw)


@compiles(_JsonContains, "postgresql")
def _json_contains_postgresql(element: _JsonContains, compiler: SQLCompiler, **kw: Any) -> str:
    document_clause, value_clause = element.clauses
    if not _is_jsonb(document_clause, compiler):
        return compiler.process(true(), **kw)
    document, value = compiler.process(document_clause, **kw), compiler.process(value_clause, **kw)
    return f"(({document}) @> CAST({value} AS JSONB))"


def _is_jsonb(clause: Any, compiler: SQLCompiler) -> bool:
    # dialect_impl resolves a with_variant() type (JSON elsewhere, JSONB on PostgreSQL).
    return isinstance(clause.type.dialect_impl(compiler.dialect), postgresql.JSONB)


def _kind_in(kind: str, names: tuple[str, ...]) -> str:
    return f"coalesce({kind}, 'null') IN ({', '.join(repr(name) for name in names)})"


def _json_kind_sqlite(element: _JsonKindIs, compiler: SQLCompiler, **kw: Any) -> str:
    document, key = (compiler.process(clause, **kw) for clause in element.clauses)
    # The key is checked by parse_filter (no quotes), so it can sit inside the JSON path.
    return _kind_in(f"json_type({document}, '$.\"' || {key} || '\"')", element.sqlite)


def _json_kind_postgresql(element: _JsonKindIs, compiler: SQLCompiler, **kw: Any) -> str:
    document_clause, key_clause = element.clauses
    typeof = "jsonb_typeof" if _is_jsonb(document_clause, compiler) else "json_typeof"
    document, key = compiler.process(document_clause, **kw), compiler.process(key_clause, **kw)
    return _kind_in(f"{typeof}(({document}) -> {key})", element.postgresql)


def _json_kind_other(element: _JsonKindIs, compiler: SQLCompiler, **kw: Any) -> str:
    raise NotImplementedError(f"json attribute filters support SQLite and PostgreSQL, not {compiler.dialect.name}")


for _kind in (_IsJsonString, _IsJsonNumber, _IsJsonBoolean, _IsJsonPresent):
    compiles(_kind)(_json_kind_other)
    compiles(_kind, "sqlite")(_json_kind_sqlite)
    compiles(_kind, "postgresql")(_json_kind_postgresql)
