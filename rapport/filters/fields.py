"""Field specs: what a filter may name, its type, its operators, and how each backend reaches it.

`age_field` and `set_table_field` build the two kinds of special field the customers service needs:
an age derived from a birth date, and a set of strings kept as rows of a separate table.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, literal_column, select

from .nodes import AllOf, AnyOf, Condition, Node, Not, Op


class FieldType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"  # Decimal or float
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    STRING_SET = "string_set"  # e.g. tags: a set of strings per row
    JSON = "json"  # a JSON object; filters name `<field>.<key>` with str / number / bool values


_ORDERED = frozenset({Op.EQ, Op.NE, Op.LT, Op.LTE, Op.GT, Op.GTE, Op.IN, Op.NOT_IN, Op.BETWEEN, Op.EXISTS})

#: Every operator a field of each type supports (and the default when a Field names none).
#: Strings have no lt/gt/between: SQLite, PostgreSQL collations and Python order them differently.
OPS_BY_TYPE: dict[FieldType, frozenset[Op]] = {
    FieldType.STRING: frozenset({Op.EQ, Op.NE, Op.IN, Op.NOT_IN, Op.CONTAINS, Op.EXISTS}),
    FieldType.INTEGER: _ORDERED,
    FieldType.NUMBER: _ORDERED,
    FieldType.BOOLEAN: frozenset({Op.EQ, Op.NE, Op.EXISTS}),
    FieldType.DATE: _ORDERED,
    FieldType.DATETIME: _ORDERED,
    FieldType.STRING_SET: frozenset({Op.CONTAINS, Op.IN, Op.EXISTS}),
    FieldType.JSON: frozenset(Op),
}

#: For a json attribute the value's kind picks the operators (exists works on every kind).
JSON_OPS_BY_KIND: dict[str, frozenset[Op]] = {
    "string": frozenset({Op.EQ, Op.NE, Op.IN, Op.NOT_IN, Op.CONTAINS}),
    "number": frozenset({Op.EQ, Op.NE, Op.LT, Op.LTE, Op.GT, Op.GTE, Op.IN, Op.NOT_IN, Op.BETWEEN}),
    "boolean": frozenset({Op.EQ, Op.NE}),
}


#: `contains` folds A-Z only, so SQLite, PostgreSQL (whatever its locale) and Python agree.
ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def json_kind(value: Any) -> str:
    """The kind ("string", "number", "boolean") of a parsed json attribute value."""
    return "boolean" if isinstance(value, bool) else "string" if isinstance(value, str) else "number"


SqlColumn = Callable[[], ColumnElement[Any]]
SqlHook = Callable[[Op, Any], ColumnElement[bool]]


@dataclass(frozen=True)
class Derivation:
    """A derived field: each condition on it is rewritten into conditions over `base` before compiling,
    so SQL and pandas share one definition (and SQL filters the base column, using its index)."""

    base: Field
    rewrite: Callable[[Condition], Node]


@dataclass(frozen=True)
class Field:
    """One filterable field.

    - `sql`: returns the column expression (called at compile time, so tables may be aliased later).
    - `compile_sql`: for special fields, `(op, value) -> boolean expression` replacing `sql`; it must
      never evaluate to NULL (EXISTS, IS NULL, ... are fine).
    - `column`: the pandas column (default: `name`).
    - `derive`: a Derivation (see `age_field`); such a field needs neither `sql` nor `column`.
    - `ops`: the operators allowed (default: all those of `OPS_BY_TYPE[type]`).
    """

    name: str
    type: FieldType
    ops: Collection[Op] | None = None
    sql: SqlColumn | None = None
    compile_sql: SqlHook | None = None
    column: str | None = None
    derive: Derivation | None = None

    def __post_init__(self) -> None:
        if not self.name or "." in self.name:
            raise ValueError(f"field name {self.name!r} must be non-empty and contain no '.'")
        extra = set(self.ops or ()) - OPS_BY_TYPE[self.type]
        if extra:
            raise ValueError(f"field {self.name!r} ({self.type}) cannot support {sorted(extra)}")
        if self.derive is not None and self.type is FieldType.JSON:
            raise ValueError(f"field {self.name!r}: a json field cannot be derived")

    @property
    def allowed_ops(self) -> frozenset[Op]:
        return frozenset(self.ops) if self.ops is not None else OPS_BY_TYPE[self.type]

    @property
    def frame_column(self) -> str:
        return self.column or self.name


def utc_today() -> date:
    return datetime.now(UTC).date()


def age_field(
    birth_date: SqlColumn | None,
    *,
    name: str = "age",
    column: str = "birth_date",
    today: Callable[[], date] = utc_today,
    ops: Collection[Op] | None = None,
) -> Field:
    """An integer field `name`: whole years between the birth date and `today()` (read at compile time).

    `birth_date` returns the SQL date column, `column` names the pandas column (dates or datetime64).
    Conditions become birth-date ranges (`age between 25 and 40` -> `birth_date > :a AND birth_date <= :b`),
    so SQL uses an index on the birth date. Someone born on 29 February turns a year older on 1 March in
    common years. Returns the Field.
    """
    base = Field(column, FieldType.DATE, sql=birth_date, column=column)

    def rewrite(condition: Condition) -> Node:
        return _age_condition(base.name, condition.op, condition.value, today())

    return Field(name, FieldType.INTEGER, ops=ops, derive=Derivation(base, rewrite))


def _born_by(today: date, years: int) -> date | None:
    """The latest birth date of someone at least `years` old on `today`; None when no date qualifies."""
    year = today.year - years
    if year < MINYEAR:
        return None
    if year > MAXYEAR:
        return date.max
    try:
        return today.replace(year=year)
    except ValueError:  # today is 29 February and `year` is a common year
        return date(year, 2, 28)


def _age_condition(base: str, op: Op, value: Any, today: date) -> Node:
    def at_least(years: int) -> Node:
        limit = _born_by(today, years)
        return Condition(base, Op.LT, date.min) if limit is None else Condition(base, Op.LTE, limit)

    def below(years: int) -> Node:
        limit = _born_by(today, years)
        return Condition(base, Op.EXISTS, True) if limit is None else Condition(base, Op.GT, limit)

    def within(low: int, high: int) -> Node:
        return AllOf((at_least(low), below(high + 1)))

    def any_of(ages: Collection[int]) -> Node:
        # Runs of consecutive ages become one range: `age in [30, 31, 32]` is one birth-date range.
        runs: list[list[int]] = []
        for age in sorted(set(ages)):
            if runs and age == runs[-1][1] + 1:
                runs[-1][1] = age
            else:
                runs.append([age, age])
        return AnyOf(tuple(within(low, high) for low, high in runs))

    exists = Condition(base, Op.EXISTS, True)
    match op:
        case Op.EXISTS:
            return Condition(base, Op.EXISTS, value)
        case Op.GTE | Op.GT:
            return at_least(value if op is Op.GTE else value + 1)
        case Op.LTE | Op.LT:
            return below(value + 1 if op is Op.LTE else value)
        case Op.EQ:
            return within(value, value)
        case Op.BETWEEN:
            return within(*value)
        case Op.IN:
            return any_of(value)
        case Op.NE:
            return AllOf((exists, Not(within(value, value))))
        case Op.NOT_IN:
            return AllOf((exists, Not(any_of(value))))
    raise ValueError(f"age cannot be filtered with {op}")


def set_table_field(
    name: str,
    *,
    owner_key: SqlColumn,
    member_key: SqlColumn,
    member_value: SqlColumn,
    column: str | None = None,
    ops: Collection[Op] | None = None,
) -> Field:
    """A string_set field kept as rows `(member_key, member_value)` of a separate table.

    `tags contains "vip"` -> `EXISTS (SELECT 1 FROM customer_tags WHERE customer_tags.customer_id =
    customers.id AND customer_tags.tag = :v)`; `in` -> `... AND tag IN (...)`; `exists` -> has a row.
    In pandas the field reads `column` (default `name`): one collection of strings per row.
    Returns the Field.
    """

    def compile_sql(op: Op, value: Any) -> ColumnElement[bool]:
        members: Select[Any] = select(literal_column("1")).where(member_key() == owner_key())
        if op is Op.CONTAINS:
            members = members.where(member_value() == value)
        elif op is Op.IN:
            members = members.where(member_value().in_(value))
        elif op is Op.EXISTS and not value:
            return ~members.exists()
        return members.exists()

    return Field(name, FieldType.STRING_SET, ops=ops, compile_sql=compile_sql, column=column)
