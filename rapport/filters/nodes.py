"""The parsed filter tree: conditions combined by all / any / not. Plain, immutable data."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeAlias


class Op(StrEnum):
    EQ = "eq"
    NE = "ne"
    LT = "lt"
    LTE = "lte"
    GT = "gt"
    GTE = "gte"
    IN = "in"
    NOT_IN = "not_in"
    CONTAINS = "contains"
    BETWEEN = "between"
    EXISTS = "exists"


@dataclass(frozen=True, slots=True)
class Condition:
    """`field op value`, with `value` already converted to the field's Python type.

    Values by op: a scalar for eq/ne/lt/lte/gt/gte/contains, a tuple for in/not_in, a (low, high)
    tuple for between, a bool for exists. `key` is the attribute key of a json field
    (`attributes.tier` -> field "attributes", key "tier"), else None.
    """

    field: str
    op: Op
    value: Any
    key: str | None = None


@dataclass(frozen=True, slots=True)
class AllOf:
    """True when every item is true (true when empty)."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """True when at least one item is true (false when empty)."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The negation of the full two-valued result of `item` (rows with missing values included)."""

    item: Node


Node: TypeAlias = Condition | AllOf | AnyOf | Not
