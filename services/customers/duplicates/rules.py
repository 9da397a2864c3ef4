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

Every candidate pair comes from one SQL statement (statements.py): per key, the live customers with their
group's size (a window count over the key), those in groups of 2..max_group self-joined within their
group, the pairs of all keys summed per pair and scored. The whole-base listing reads these pairs from a
table refreshed set-based (candidates.py); the per-customer lookup (lookup.py) computes live, an indexed
equality per key. This module holds the rules themselves, with no session.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from ..models import Customer, name_key

Part = ColumnElement[Any] | InstrumentedAttribute[Any]

DEFAULT_MIN_SCORE = 0.3


@dataclass(frozen=True)
class BlockingKey:
    name: str
    reason: str
    points: int
    bit: int
    max_group: int
    parts: Callable[[Any], list[Part]]  # the key's expressions over Customer or an alias of it
    present: Callable[[Any], list[ColumnElement[bool]]]  # the rows that have the key
    stored: tuple[str, ...]  # the JunkKey columns holding the parts' values, in order


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
        stored=("email",),
    ),
    BlockingKey(
        name="phone",
        reason="same phone",
        points=50,
        bit=2,
        max_group=20,
        parts=lambda c: [c.phone],
        present=lambda c: [c.phone.is_not(None)],
        stored=("phone",),
    ),
    BlockingKey(
        name="name_birth_date",
        reason="same name and birth date",
        points=50,
        bit=4,
        max_group=10,
        parts=lambda c: [*_names(c), c.birth_date],
        present=lambda c: [_named(c), c.birth_date.is_not(None)],
        stored=("family_key", "given_key", "birth_date"),
    ),
    BlockingKey(
        name="name_city",
        reason="same name and city",
        points=30,
        bit=8,
        max_group=5,
        parts=lambda c: [*_names(c), c.city],
        present=lambda c: [_named(c), c.city.is_not(None)],
        stored=("family_key", "given_key", "city"),
    ),
)
# Disagreements on attributes a person does not change; each subtracts its points.
BIRTH_DATE_CONFLICT = ("different birth date", 40, 16)
GENDER_CONFLICT = ("different gender", 30, 32)
BINARY_GENDERS = ("female", "male")
# Carried along with each pair, so the conflict rule needs no second look-up of the two customers.
CONFLICT_COLUMNS = ("birth_date", "gender")


def score_of(points: int) -> float:
    return max(0, min(points, 100)) / 100


def min_points(min_score: float) -> int:
    """The least points a pair listed at `min_score` has (never 0 or less)."""
    return max(1, round(min_score * 100))


def reasons_of(mask: int) -> list[str]:
    """The reasons behind a pair's evidence mask, agreements first, in key order."""
    found = [key.reason for key in KEYS if mask & key.bit]
    return found + [reason for reason, _, bit in (BIRTH_DATE_CONFLICT, GENDER_CONFLICT) if mask & bit]


def points_of(mask: int) -> int:
    agreements = sum(key.points for key in KEYS if mask & key.bit)
    conflicts = sum(points for _, points, bit in (BIRTH_DATE_CONFLICT, GENDER_CONFLICT) if mask & bit)
    return agreements - conflicts


def conflicts_of(a: Customer, b: Customer) -> int:
    """The conflict bits of two customer rows (the same rule as the SQL in statements.py)."""
    mask = 0
    if a.birth_date is not None and b.birth_date is not None and a.birth_date != b.birth_date:
        mask |= BIRTH_DATE_CONFLICT[2]
    if a.gender in BINARY_GENDERS and b.gender in BINARY_GENDERS and a.gender != b.gender:
        mask |= GENDER_CONFLICT[2]
    return mask


def live(c: Any = Customer) -> ColumnElement[bool]:
    """Neither merged away nor erased: the only customers ever proposed."""
    return and_(c.merged_into.is_(None), c.erased_at.is_(None))


def value_text(part: Any) -> str | None:
    return None if part is None else str(part)
