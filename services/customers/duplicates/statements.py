"""The SQL of duplicate candidates: every pair of live customers sharing a bounded key group, scored.

`scored` is the whole statement; with a scope (the DuplicateScope rows of a refresh) it yields only the
pairs whose two customers are both in scope, while still sizing every group over all live customers
(a group is junk by its full size, not by the part of it in scope).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, case, func, literal, select, tuple_, union_all
from sqlalchemy.orm import aliased

from ..models import Customer, DuplicateScope
from . import rules
from .rules import BINARY_GENDERS, BIRTH_DATE_CONFLICT, CONFLICT_COLUMNS, GENDER_CONFLICT, BlockingKey


def _in_scope(column: Any) -> Any:
    return column.in_(select(DuplicateScope.customer_id))


def scope_values(key: BlockingKey) -> Select[Any]:
    """The key's values held by live customers in scope."""
    c = aliased(Customer, name=f"scoped_{key.name}")
    return (
        select(*key.parts(c))
        .join(DuplicateScope, DuplicateScope.customer_id == c.id)
        .where(rules.live(c), *key.present(c))
    )


Values = dict[str, list[tuple[Any, ...]]]  # key name -> the key's values held in scope


def in_scope_groups(key: BlockingKey, values: Values) -> Any:
    """Customers in a group of a value held by a customer in scope. The values come as a list, not a
    subquery: PostgreSQL then looks each one up on the key's index instead of scanning every customer."""
    return tuple_(*key.parts(Customer)).in_(values[key.name])


def key_pairs(key: BlockingKey, *, dialect: str, scoped: Values | None = None) -> Select[Any]:
    """(a, b, bit, points, a_birth_date, b_birth_date, a_gender, b_gender) for every pair of live
    customers sharing `key`, a < b, in groups of 2..max_group (both in scope when `scoped` gives the
    scope's key values).

    The members of bounded groups come from a window count (each row gets its group's size). The planner
    cannot estimate that filter; it over-estimates, so PostgreSQL hash- or merge-joins the members with
    themselves, never a nested loop. SQLite would nested-loop over the materialized members, so there
    each member's partners are looked up in customers on the key's index instead (same pairs).
    """
    parts = key.parts(Customer)
    labels = [f"k{i}" for i in range(len(parts))]
    where = [rules.live(), *key.present(Customer)]
    if scoped is not None:  # whole groups of the values in scope, so each is sized over all its live members
        where.append(in_scope_groups(key, scoped))
    keyed = (
        select(
            Customer.id.label("id"),
            *[getattr(Customer, name) for name in CONFLICT_COLUMNS],
            *[part.label(label) for part, label in zip(parts, labels, strict=True)],
            func.count().over(partition_by=parts).label("n"),
        )
        .where(*where)
        .subquery(f"keyed_{key.name}")
    )
    a = (
        select(keyed.c.id, *[keyed.c[name] for name in (*CONFLICT_COLUMNS, *labels)])
        .where(keyed.c.n.between(2, key.max_group))
        .cte(f"members_{key.name}")
    )
    b: Any
    if dialect == "sqlite":
        b = aliased(Customer, name=f"b_{key.name}")
        same = and_(
            *[part == a.c[label] for part, label in zip(key.parts(b), labels, strict=True)],
            rules.live(b),
        )
        b_columns = {name: getattr(b, name) for name in ("id", *CONFLICT_COLUMNS)}
    else:
        b = a.alias(f"b_{key.name}")
        same = and_(*[a.c[label] == b.c[label] for label in labels])
        b_columns = {name: b.c[name] for name in ("id", *CONFLICT_COLUMNS)}
    pair: Select[Any] = select(
        a.c.id.label("a"),
        b_columns["id"].label("b"),
        literal(key.bit).label("bit"),
        literal(key.points).label("points"),
        *[a.c[name].label(f"a_{name}") for name in CONFLICT_COLUMNS],
        *[b_columns[name].label(f"b_{name}") for name in CONFLICT_COLUMNS],
    ).join_from(a, b, and_(same, a.c.id < b_columns["id"]))
    if scoped is not None:
        pair = pair.where(_in_scope(a.c.id), _in_scope(b_columns["id"]))
    return pair


def scored(dialect: str, *, scoped: Values | None = None) -> Select[Any]:
    """(a, b, mask, points) of every candidate pair: the evidence mask and the uncapped points."""
    pairs = union_all(*[key_pairs(key, dialect=dialect, scoped=scoped) for key in rules.KEYS]).subquery("pairs")
    carried = [f"{side}_{name}" for side in ("a", "b") for name in CONFLICT_COLUMNS]
    summed = (
        select(
            pairs.c.a,
            pairs.c.b,
            func.sum(pairs.c.bit).label("agreed"),
            func.sum(pairs.c.points).label("agreement_points"),
            *[func.min(pairs.c[name]).label(name) for name in carried],  # the same on every row of a pair
        )
        .group_by(pairs.c.a, pairs.c.b)
        .subquery("summed")
    )
    c = summed.c
    birth_conflict = and_(c.a_birth_date.is_not(None), c.b_birth_date.is_not(None), c.a_birth_date != c.b_birth_date)
    gender_conflict = and_(c.a_gender.in_(BINARY_GENDERS), c.b_gender.in_(BINARY_GENDERS), c.a_gender != c.b_gender)
    conflict_bits = case((birth_conflict, BIRTH_DATE_CONFLICT[2]), else_=0) + case(
        (gender_conflict, GENDER_CONFLICT[2]), else_=0
    )
    conflict_points = case((birth_conflict, BIRTH_DATE_CONFLICT[1]), else_=0) + case(
        (gender_conflict, GENDER_CONFLICT[1]), else_=0
    )
    return select(
        c.a, c.b, (c.agreed + conflict_bits).label("mask"), (c.agreement_points - conflict_points).label("points")
    )


def junk_groups(key: BlockingKey, *, scoped: Values | None = None) -> Select[Any]:
    """(parts..., n) of the key's values shared by more live customers than the key allows (only the
    values held by customers in scope when `scoped`)."""
    parts = key.parts(Customer)
    where = [rules.live(), *key.present(Customer)]
    if scoped is not None:
        where.append(in_scope_groups(key, scoped))
    count = func.count().label("n")
    return select(*parts, count).where(*where).group_by(*parts).having(func.count() > key.max_group)
