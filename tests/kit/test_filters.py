"""The filter language: SQL (SQLite; PostgreSQL when RAPPORT_TEST_DATABASE=postgresql), pandas and an
independent Python oracle select the same rows, and every error names the field and what to fix."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
    case,
    select,
)

from rapport.db import make_engine
from rapport.filters import Field, FieldType, Op, age_field, parse_filter, set_table_field, to_pandas, to_sql

metadata = MetaData()
people = Table(
    "people",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("city", Text),
    Column("score", Integer),
    Column("amount", Numeric(16, 2)),
    Column("active", Boolean),
    Column("birth_date", Date, index=True),
    Column("seen_at", DateTime(timezone=True)),
    Column("attributes", JSON),
)
person_tags = Table(
    "person_tags",
    metadata,
    Column("person_id", ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
    Column("tag", Text, primary_key=True),
)
TODAY = date(2024, 2, 29)


def make_fields(today: date = TODAY) -> dict[str, Field]:
    fields = [
        Field("city", FieldType.STRING, sql=lambda: people.c.city),
        Field("score", FieldType.INTEGER, sql=lambda: people.c.score),
        Field("amount", FieldType.NUMBER, sql=lambda: people.c.amount),
        Field("active", FieldType.BOOLEAN, sql=lambda: people.c.active),
        Field("birth_date", FieldType.DATE, sql=lambda: people.c.birth_date),
        Field("seen_at", FieldType.DATETIME, sql=lambda: people.c.seen_at),
        Field("attributes", FieldType.JSON, sql=lambda: people.c.attributes),
        set_table_field(
            "tags",
            owner_key=lambda: people.c.id,
            member_key=lambda: person_tags.c.person_id,
            member_value=lambda: person_tags.c.tag,
        ),
        age_field(lambda: people.c.birth_date, today=lambda: today),
    ]
    return {field.name: field for field in fields}


FIELDS = make_fields()


@pytest.fixture
def engine(make_database_url: Callable[[str], str]) -> Iterator[Engine]:
    engine = make_engine(make_database_url("filters"))
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def sql_ids(engine: Engine, rows: list[dict[str, Any]], raws: list[Any], fields: dict[str, Field]) -> list[list[int]]:
    """Insert `rows` (ids are their positions), evaluate every filter in one query, roll everything back."""
    # `CASE WHEN filter THEN 1 ELSE 0 END` is true exactly when WHERE would keep the row.
    flags = [case((to_sql(parse_filter(raw, fields), fields), 1), else_=0) for raw in raws]
    with engine.connect() as connection, connection.begin() as transaction:
        if rows:
            connection.execute(people.insert(), [{"id": i} | _without(row, "tags") for i, row in enumerate(rows)])
            tags = [{"person_id": i, "tag": tag} for i, row in enumerate(rows) for tag in row["tags"]]
            if tags:
                connection.execute(person_tags.insert(), tags)
        result = connection.execute(select(people.c.id, *flags).order_by(people.c.id)).all()
        transaction.rollback()
    return [[row[0] for row in result if row[1 + i]] for i in range(len(raws))]


def frame_of(rows: list[dict[str, Any]], *, typed: bool) -> pd.DataFrame:
    """Rows as the segmentation service holds them: object columns, or pandas' own dtypes."""
    index = pd.RangeIndex(len(rows)) * 10  # an index that is not 0..n-1
    columns = {name: pd.Series([row[name] for row in rows], index=index, dtype=object) for name in ROW_COLUMNS}
    columns["tags"] = pd.Series([set(row["tags"]) or None for row in rows], index=index, dtype=object)
    frame = pd.DataFrame(columns, index=index)
    if typed:
        frame = frame.astype({"city": "str", "score": "Int64", "amount": float, "active": "boolean"})
        frame["birth_date"] = pd.to_datetime(frame["birth_date"])
        frame["seen_at"] = pd.to_datetime(frame["seen_at"], utc=True)
        frame["tags"] = [sorted(tags) if tags else None for tags in frame["tags"]]
    return frame


def pandas_ids(
    rows: list[dict[str, Any]], raws: list[Any], fields: dict[str, Field], *, typed: bool
) -> list[list[int]]:
    frame = frame_of(rows, typed=typed)
    masks = [to_pandas(parse_filter(raw, fields), frame, fields) for raw in raws]
    assert all(mask.dtype == bool and mask.index.equals(frame.index) for mask in masks)
    return [[int(i) // 10 for i in frame.index[mask.to_numpy()]] for mask in masks]


def _without(row: dict[str, Any], key: str) -> dict[str, Any]:
    return {name: value for name, value in row.items() if name != key}


ROW_COLUMNS = ("city", "score", "amount", "active", "birth_date", "seen_at", "attributes")


# --- the oracle: the documented semantics, written directly over the rows and the raw filter ---


def ascii_lower(value: str) -> str:
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in value)


def age_on(today: date, born: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def oracle(raw: dict[str, Any], row: dict[str, Any], today: date) -> bool:
    if "all" in raw:
        return all(oracle(item, row, today) for item in raw["all"])
    if "any" in raw:
        return any(oracle(item, row, today) for item in raw["any"])
    if "not" in raw:
        return not oracle(raw["not"], row, today)
    field, op, value = raw["field"], raw["op"], raw["value"]
    if op == "exists":
        return (row_value(row, field, today, None) is not None) == value
    sample = value[0] if isinstance(value, list) else value
    have = row_value(row, field, today, sample)
    if have is None:
        return False
    want: Any = [filter_value(field, item) for item in value] if isinstance(value, list) else filter_value(field, value)
    if field == "tags":
        return want in have if op == "contains" else bool(set(want) & have)
    return {
        "eq": lambda: have == want,
        "ne": lambda: have != want,
        "lt": lambda: have < want,
        "lte": lambda: have <= want,
        "gt": lambda: have > want,
        "gte": lambda: have >= want,
        "in": lambda: have in want,
        "not_in": lambda: have not in want,
        "between": lambda: want[0] <= have <= want[1],
        "contains": lambda: ascii_lower(want) in ascii_lower(have),
    }[op]()


def row_value(row: dict[str, Any], field: str, today: date, sample: Any) -> Any:
    """The row's value for `field`, None when missing; for attributes, None unless of `sample`'s kind."""
    if field == "age":
        return None if row["birth_date"] is None else age_on(today, row["birth_date"])
    if field == "tags":
        return set(row["tags"]) or None
    if field.startswith("attributes."):
        item = (row["attributes"] or {}).get(field.split(".", 1)[1])
        if sample is None or item is None:
            return item
        if isinstance(sample, bool) or isinstance(sample, str):
            return item if type(item) is type(sample) else None
        return float(item) if type(item) in (int, float) else None
    return row[field]


def filter_value(field: str, value: Any) -> Any:
    if field == "amount":
        return Decimal(value) if isinstance(value, str) else Decimal(repr(value))
    if field == "birth_date":
        return date.fromisoformat(value)
    if field == "seen_at":
        moment = datetime.fromisoformat(value)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if field.startswith("attributes.") and type(value) in (int, float):
        return float(value)
    return value


# --- strategies: rows with NULLs, unicode and edge values; filters built from the rows' own values ---

WORDS = [
    "Shanghai",
    "shanghai",
    "SHANGHAI",
    "Café",
    "CAFÉ",
    "50%",
    "5_0",
    "a%b_c\\d",
    "",
    " ",
    "Straße",
    "İstanbul",
    "北京",
]
NEEDLES = ["shang", "HAI", "%", "_", "é", "É", "\\", "ss", "AF", "京"]
TAGS = ["vip", "VIP", "a_b", "a%b", "新客", "x y", ""]
KEYS = ["tier", "n", "vip", "x-y"]
texts = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=6)
json_items = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(["gold", "5", "true", "", "Gold"]),
    st.integers(-1000, 1000),
    st.integers(-(10**6), 10**6).map(lambda cents: cents / 100),
    st.just([1, 2]),
)


def born(today: date, years: int, shift: int) -> date:
    year = min(max(today.year - years, 1901), 2099)
    return (
        date(year, 3, 1) - timedelta(days=1) if (today.month, today.day) == (2, 29) else today.replace(year=year)
    ) + timedelta(days=shift)


def rows_for(today: date) -> st.SearchStrategy[dict[str, Any]]:
    birth_dates = st.one_of(
        st.dates(date(1900, 1, 1), date(2040, 12, 31)),
        st.builds(born, st.just(today), st.integers(-2, 90), st.integers(-1, 1)),
        st.sampled_from([date(2000, 2, 29), date(1996, 2, 29), date(2001, 3, 1)]),
    )
    return st.fixed_dictionaries(
        {
            "city": st.none() | st.sampled_from(WORDS) | texts,
            "score": st.none() | st.sampled_from([0, 1, -1, 5, 2**31 - 1, -(2**31)]) | st.integers(-(2**31), 2**31 - 1),
            "amount": st.none() | st.decimals(-(10**6), 10**6, places=2, allow_nan=False, allow_infinity=False),
            "active": st.none() | st.booleans(),
            "birth_date": st.none() | birth_dates,
            "seen_at": st.none() | st.datetimes(datetime(1950, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC)),
            "attributes": st.none() | st.dictionaries(st.sampled_from(KEYS), json_items, max_size=4),
            "tags": st.frozensets(st.sampled_from(TAGS), max_size=3),
        }
    )


def pool(rows: list[dict[str, Any]], name: str, fresh: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    seen = [row[name] for row in rows if row[name] is not None]
    return st.sampled_from(seen) | fresh if seen else fresh


def scalars(rows: list[dict[str, Any]], today: date, field: str, op: str) -> st.SearchStrategy[Any]:
    """Raw JSON values for `field op ...`, mostly taken from the rows so that conditions hit and miss."""
    if field == "city":
        if op == "contains":
            return st.sampled_from(NEEDLES) | pool(rows, "city", texts).flatmap(lambda s: st.just(s[len(s) // 3 :]))
        return pool(rows, "city", st.sampled_from(WORDS) | texts)
    if field == "score":
        return pool(rows, "score", st.integers(-(2**63), 2**63 - 1) | st.integers(-3, 6))
    if field == "amount":
        fresh = st.decimals(-(10**6), 10**6, places=3, allow_nan=False, allow_infinity=False)
        return pool(rows, "amount", fresh).flatmap(lambda d: st.sampled_from([float(d), format(d, "f")]))
    if field == "active":
        return st.booleans()
    if field == "birth_date":
        days = st.integers(-1, 1).map(lambda n: timedelta(days=n))
        return st.builds(lambda d, shift: (d + shift).isoformat(), pool(rows, "birth_date", st.dates()), days)
    if field == "seen_at":
        zones = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))])
        moments = pool(rows, "seen_at", st.datetimes(timezones=st.just(UTC)))
        return st.builds(
            lambda m, zone, naive: (
                m.astimezone(zone).replace(tzinfo=None if naive else zone).isoformat()
                if not naive
                else m.replace(tzinfo=None).isoformat()
            ),
            moments,
            zones,
            st.booleans(),
        )
    if field == "age":
        ages = [age_on(today, row["birth_date"]) for row in rows if row["birth_date"] is not None]
        near = st.sampled_from(ages).flatmap(lambda a: st.sampled_from([a - 1, a, a + 1])) if ages else st.just(30)
        return near | st.integers(-3, 130) | st.sampled_from([-(2**63), 2**63 - 1, 10**6])
    if field == "tags":
        return st.sampled_from(TAGS)
    kinds = {"contains": st.sampled_from(["ol", "GOLD", "5", ""])}
    numbers = st.integers(-1000, 1000) | st.integers(-(10**6), 10**6).map(lambda c: c / 100)
    if op in ("lt", "lte", "gt", "gte", "between"):
        return numbers
    return kinds.get(op, st.sampled_from(["gold", "5", "true", "", "Gold"]) | numbers | st.booleans())


OPS = {name: sorted(field.allowed_ops) for name, field in FIELDS.items()} | {"attributes": sorted(Op)}


@st.composite
def conditions(
    draw: st.DrawFn, rows: list[dict[str, Any]], today: date, name: str | None = None, op: str | None = None
) -> dict[str, Any]:
    name = name or draw(st.sampled_from(sorted(OPS)))
    op = op or str(draw(st.sampled_from(OPS[name])))
    field = f"attributes.{draw(st.sampled_from(KEYS))}" if name == "attributes" else name
    if op == "exists":
        return {"field": field, "op": op, "value": draw(st.booleans())}
    values = scalars(rows, today, field, op)
    if field.startswith("attributes.") and op in ("eq", "ne", "in", "not_in"):  # one kind per list
        kinds = [st.sampled_from(["gold", "5", "true", "", "Gold"]), scalars(rows, today, field, "lt")]
        values = draw(st.sampled_from([*kinds, st.booleans()] if op in ("eq", "ne") else kinds))
        if op in ("eq", "ne"):
            return {"field": field, "op": op, "value": draw(values)}
    if op in ("in", "not_in"):
        return {"field": field, "op": op, "value": draw(st.lists(values, min_size=1, max_size=4))}
    if op == "between":
        pair = draw(st.lists(values, min_size=2, max_size=2))
        return {"field": field, "op": op, "value": sorted(pair, key=lambda v: filter_value(field, v))}
    return {"field": field, "op": op, "value": draw(values)}


def filters(rows: list[dict[str, Any]], today: date) -> st.SearchStrategy[dict[str, Any]]:
    return st.recursive(
        conditions(rows, today),
        lambda children: st.one_of(
            st.lists(children, max_size=3).map(lambda items: {"all": items}),
            st.lists(children, max_size=3).map(lambda items: {"any": items}),
            children.map(lambda item: {"not": item}),
        ),
        max_leaves=8,
    )


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[date, list[dict[str, Any]], list[dict[str, Any]]]:
    """A reference date, rows, and several filters over them (one insert serves them all)."""
    today = draw(
        st.sampled_from([date(2024, 2, 29), date(2025, 2, 28), date(2025, 3, 1)])
        | st.dates(date(2000, 1, 1), date(2030, 12, 31))
    )
    rows = draw(st.lists(rows_for(today), min_size=1, max_size=12))
    # Every field with every operator, plain or negated, then a few nested filters.
    battery = [draw(conditions(rows, today, name, str(op))) for name, ops in OPS.items() for op in ops]
    battery = [{"not": raw} if draw(st.booleans()) else raw for raw in battery]
    nested = draw(st.lists(filters(rows, today).filter(lambda raw: depth(raw) <= 8), min_size=1, max_size=4))
    return today, rows, battery + nested


def depth(raw: dict[str, Any]) -> int:
    for key in ("all", "any"):
        if key in raw:
            return 1 + max((depth(item) for item in raw[key]), default=0)
    return 1 + depth(raw["not"]) if "not" in raw else 0


def test_sql_pandas_and_the_oracle_select_the_same_rows(engine: Engine) -> None:
    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(scenario=scenarios(), typed=st.booleans())
    def check(scenario: tuple[date, list[dict[str, Any]], list[dict[str, Any]]], typed: bool) -> None:
        today, rows, raws = scenario
        fields = make_fields(today)
        expected = [[i for i, row in enumerate(rows) if oracle(raw, row, today)] for raw in raws]
        assert pandas_ids(rows, raws, fields, typed=typed) == expected
        assert sql_ids(engine, rows, raws, fields) == expected

    check()
