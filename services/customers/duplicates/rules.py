"""Duplicate candidates: pairs of live customers that share a blocking key, scored and ranked.

Blocking keys (a pair is a candidate only if it shares at least one):
  email              the stored, normalised address (lower-cased, validated on write)
  phone              the stored E.164 number, so "138 1234 5678" and "+86 138-1234-5678" are one key
  name + birth date  lower(family name), lower(given name), birth date
  name + city        lower(family name), lower(given name), normalised city

Score, in points (100 = 1.0), a weighted evidence sum in the spirit of Fellegi-Sunter: every shared key
adds its weight (email 60, phone 50, name + birth date 50, name + city 30); a disagreement on a stable
attribute that both records know subtracts (birth date -40, gender female/male -30), because a family
sharing one phone or mailbox, or two namesakes in one city, are different people. The displayed score
is min(points, 100) / 100; pairs at 0 points or less are never proposed. The ranking uses the uncapped
points, so among pairs scored 1.0 the one with more evidence comes first. By default candidates under
0.3 are not listed: they have less evidence than a bare name + city match (a family's shared phone
outweighed by different birth dates scores 0.1).

A key value shared by more live customers than the key's `max_group` is junk, not evidence: it yields
no pairs and is reported instead. The bound follows the key's strength: an email shared by more than 50
customers is "test@test.com", a phone shared by more than 20 a shop's own number, a name and birth date
shared by more than 10 a data-entry default, a name shared by more than 5 customers in one city a common
name. Bounded groups also bound the work: a group of n yields n(n-1)/2 pairs.

The whole-base listing is one SQL statement: per key, the live customers with their group's size (a
window count over the key), those in groups of 2..max_group self-joined within their group, the pairs of
all keys summed per pair and scored. No Python loop over customers; the per-customer lookup is an
indexed equality per key.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, and_, case, func, literal, or_, select, text, union_all
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from rapport.pagination import decode_cursor, encode_cursor

from . import schemas, store
from .models import Customer, name_key

Part = ColumnElement[Any] | InstrumentedAttribute[Any]

DEFAULT_MIN_SCORE = 0.3
JUNK_REPORTED = 20  # junk values reported per key on the first page


@dataclass(frozen=True)
class BlockingKey:
    name: str
    reason: str
    points: int
    bit: int
    max_group: int
    parts: Callable[[Any], list[Part]]  # the key's expressions over Customer or an alias of it
    present: Callable[[Any], list[ColumnElement[bool]]]  # the rows that have the key


def _names(c: Any) -> list[Part]:
    return [name_key(c.family_name), name_key(c.given_name)]


def _named(c: Any) -> ColumnElement[bool]:
    return or_(c.family_name.is_not(None), c.given_name.is_not(None))


KEYS = (
    BlockingKey(
        name="email",
        reason="same email",
        points=60,
        bit=1,
        max_group=50,
        parts=lambda c: [c.email],
        present=lambda c: [c.email.is_not(None)],
    ),
    BlockingKey(
        name="phone",
        reason="same phone",
        points=50,
        bit=2,
        max_group=20,
        parts=lambda c: [c.phone],
        present=lambda c: [c.phone.is_not(None)],
    ),
    BlockingKey(
        name="name_birth_date",
        reason="same name and birth date",
        points=50,
        bit=4,
        max_group=10,
        parts=lambda c: [*_names(c), c.birth_date],
        present=lambda c: [_named(c), c.birth_date.is_not(None)],
    ),
    BlockingKey(
        name="name_city",
        reason="same name and city",
        points=30,
        bit=8,
        max_group=5,
        parts=lambda c: [*_names(c), c.city],
        present=lambda c: [_named(c), c.city.is_not(None)],
    ),
)
# Disagreements on attributes a person does not change; each subtracts its points.
BIRTH_DATE_CONFLICT = ("different birth date", 40, 16)
GENDER_CONFLICT = ("different gender", 30, 32)
BINARY_GENDERS = ("female", "male")


class SkippedKey(BaseModel):
    key: str
    value: list[str | None]
    customers: int


class DuplicatePair(BaseModel):
    customer_ids: tuple[uuid.UUID, uuid.UUID]
    score: float
    reasons: list[str]


class DuplicatePage(BaseModel):
    items: list[DuplicatePair]
    next_cursor: str | None
    # Key values shared by more customers than the key allows, ignored as junk (first page only).
    skipped_keys: list[SkippedKey] | None = None


class DuplicateCandidate(BaseModel):
    customer_id: uuid.UUID
    score: float
    reasons: list[str]
    customer: schemas.CustomerRead


class CustomerDuplicates(BaseModel):
    customer_id: uuid.UUID
    items: list[DuplicateCandidate]
    skipped_keys: list[SkippedKey]


def score_of(points: int) -> float:
    return max(0, min(points, 100)) / 100


def reasons_of(mask: int) -> list[str]:
    """The reasons behind a pair's evidence mask, agreements first, in key order."""
    found = [key.reason for key in KEYS if mask & key.bit]
    return found + [reason for reason, _, bit in (BIRTH_DATE_CONFLICT, GENDER_CONFLICT) if mask & bit]


def points_of(mask: int) -> int:
    agreements = sum(key.points for key in KEYS if mask & key.bit)
    conflicts = sum(points for _, points, bit in (BIRTH_DATE_CONFLICT, GENDER_CONFLICT) if mask & bit)
    return agreements - conflicts


def conflicts_of(a: Customer, b: Customer) -> int:
    """The conflict bits of two customer rows (the same rule as the SQL of `list_pairs`)."""
    mask = 0
    if a.birth_date is not None and b.birth_date is not None and a.birth_date != b.birth_date:
        mask |= BIRTH_DATE_CONFLICT[2]
    if a.gender in BINARY_GENDERS and b.gender in BINARY_GENDERS and a.gender != b.gender:
        mask |= GENDER_CONFLICT[2]
    return mask


def _live() -> ColumnElement[bool]:
    return and_(Customer.merged_into.is_(None), Customer.erased_at.is_(None))


# Carried along with each pair, so the conflict rule needs no second look-up of the two customers.
CONFLICT_COLUMNS = ("birth_date", "gender")


def _key_pairs(key: BlockingKey, *, dialect: str) -> Select[Any]:
    """(a, b, bit, points, a_birth_date, b_birth_date, a_gender, b_gender) for every pair of live
    customers sharing `key`, a < b, in groups of 2..max_group.

    The members of bounded groups come from a window count (each row gets its group's size). The planner
    cannot estimate that filter; it over-estimates, so PostgreSQL hash- or merge-joins the members with
    themselves, never a nested loop. SQLite would nested-loop over the materialized members, so there
    each member's partners are looked up in customers on the key's index instead (same pairs).
    """
    parts = key.parts(Customer)
    labels = [f"k{i}" for i in range(len(parts))]
    keyed = (
        select(
            Customer.id.label("id"),
            *[getattr(Customer, name) for name in CONFLICT_COLUMNS],
            *[part.label(label) for part, label in zip(parts, labels, strict=True)],
            func.count().over(partition_by=parts).label("n"),
        )
        .where(_live(), *key.present(Customer))
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
            b.merged_into.is_(None),
            b.erased_at.is_(None),
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
    return pair


def _scored(dialect: str) -> Any:
    """Subquery of every candidate pair with its evidence mask and uncapped points."""
    pairs = union_all(*[_key_pairs(key, dialect=dialect) for key in KEYS]).subquery("pairs")
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
    ).subquery("scored")


def list_pairs(session: Session, *, limit: int, cursor: str | None, min_score: float) -> DuplicatePage:
    """A page of candidate pairs over the whole base, best first (ties in id order), and the junk keys
    skipped (on the first page). Raises Invalid (422) for a cursor this service did not issue."""
    after = decode_cursor(cursor, arity=3)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # The group-size filters defeat row estimates; on over-estimates PostgreSQL would spend longer
        # JIT-compiling the statement (about 1 s) than running it.
        session.execute(text("SET LOCAL jit = off"))
    scored = _scored(dialect)
    query = select(scored.c.a, scored.c.b, scored.c.mask, scored.c.points).where(
        scored.c.points > 0, scored.c.points >= round(min_score * 100)
    )
    if after is not None:
        points, a, b = int(after[0]), uuid.UUID(str(after[1])), uuid.UUID(str(after[2]))
        query = query.where(
            or_(
                scored.c.points < points,
                and_(scored.c.points == points, or_(scored.c.a > a, and_(scored.c.a == a, scored.c.b > b))),
            )
        )
    rows = session.execute(query.order_by(scored.c.points.desc(), scored.c.a, scored.c.b).limit(limit + 1)).all()
    items = [
        DuplicatePair(customer_ids=(a, b), score=score_of(points), reasons=reasons_of(mask))
        for a, b, mask, points in rows[:limit]
    ]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor([int(last.points), str(last.a), str(last.b)])
    skipped = junk_keys(session) if cursor is None else None
    return DuplicatePage(items=items, next_cursor=next_cursor, skipped_keys=skipped)


def _value(part: Any) -> str | None:
    return None if part is None else str(part)


def junk_keys(session: Session) -> list[SkippedKey]:
    """Key values shared by more live customers than the key allows, the most shared first, per key."""
    skipped: list[SkippedKey] = []
    for key in KEYS:
        parts = key.parts(Customer)
        count = func.count().label("n")
        rows = session.execute(
            select(*parts, count)
            .where(_live(), *key.present(Customer))
            .group_by(*parts)
            .having(func.count() > key.max_group)
            .order_by(count.desc())
            .limit(JUNK_REPORTED)
        ).all()
        skipped += [SkippedKey(key=key.name, value=[_value(v) for v in row[:-1]], customers=row[-1]) for row in rows]
    return skipped


def for_customer(
    session: Session, customer: Customer, *, currency: str, min_score: float = DEFAULT_MIN_SCORE
) -> CustomerDuplicates:
    """The live customers that may be the same person as `customer`, best first, scored like `list_pairs`;
    each lookup is an indexed equality on one key value."""
    values = session.execute(
        select(*[part for key in KEYS for part in key.parts(Customer)]).where(Customer.id == customer.id)
    ).one()
    masks: dict[uuid.UUID, int] = {}
    skipped: list[SkippedKey] = []
    offset = 0
    for key in KEYS:
        parts = key.parts(Customer)
        own = list(values[offset : offset + len(parts)])
        offset += len(parts)
        if any(v is None for v in own) or (key.name.startswith("name") and own[0] == own[1] == ""):
            continue
        others = list(
            session.scalars(
                select(Customer.id)
                .where(_live(), Customer.id != customer.id, *[part == v for part, v in zip(parts, own, strict=True)])
                .limit(key.max_group)
            )
        )
        if len(others) >= key.max_group:  # with this customer, more than max_group share it
            shared = session.scalar(
                select(func.count()).where(_live(), *[part == v for part, v in zip(parts, own, strict=True)])
            )
            skipped.append(SkippedKey(key=key.name, value=[_value(v) for v in own], customers=int(shared or 0)))
            continue
        for other in others:
            masks[other] = masks.get(other, 0) | key.bit
    rows = {row.id: row for row in session.scalars(select(Customer).where(Customer.id.in_(list(masks))))}
    scored = []
    for other, mask in masks.items():
        full = mask | conflicts_of(customer, rows[other])
        points = points_of(full)
        if points > 0 and points >= round(min_score * 100):
            scored.append((points, other, full))
    scored.sort(key=lambda item: (-item[0], str(item[1])))
    reads = {read.id: read for read in store.to_read(session, [rows[o] for _, o, _ in scored], currency=currency)}
    items = [
        DuplicateCandidate(customer_id=other, score=score_of(points), reasons=reasons_of(mask), customer=reads[other])
        for points, other, mask in scored
    ]
    return CustomerDuplicates(customer_id=customer.id, items=items, skipped_keys=skipped)
