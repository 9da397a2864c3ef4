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
    text,
)

from rapport.db import make_engine
from rapport.errors import Invalid
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


def sql_ids(
    engine: Engine, rows: list[dict[str, Any]], raws: list[Any], fields: dict[str, Field], *, one_query: bool = False
) -> list[list[int]]:
    """Insert `rows` (ids are their positions), select with each filter, roll everything back.

    `one_query` evaluates all filters in one SELECT as `CASE WHEN filter THEN 1 ELSE 0 END` columns,
    which are 1 exactly when WHERE would keep the row.
    """
    wheres = [to_sql(parse_filter(raw, fields), fields) for raw in raws]
    with engine.connect() as connection, connection.begin() as transaction:
        if rows:
            connection.execute(people.insert(), [{"id": i} | _without(row, "tags") for i, row in enumerate(rows)])
            tags = [{"person_id": i, "tag": tag} for i, row in enumerate(rows) for tag in row["tags"]]
            if tags:
                connection.execute(person_tags.insert(), tags)
        if one_query:
            flags = [case((where, 1), else_=0) for where in wheres]
            result = connection.execute(select(people.c.id, *flags).order_by(people.c.id)).all()
            ids = [[row[0] for row in result if row[1 + i]] for i in range(len(wheres))]
        else:
            ids = [list(connection.scalars(select(people.c.id).where(w).order_by(people.c.id))) for w in wheres]
        transaction.rollback()
    return ids


STYLES = ("objects", "dtypes", "naive")


def frame_of(rows: list[dict[str, Any]], *, style: str) -> pd.DataFrame:
    """Rows as the segmentation service may hold them: Python objects (None for missing, Decimals, dates,
    sets), pandas dtypes (str, Int64, float, boolean, datetime64, lists), or the same with naive UTC times."""
    index = pd.RangeIndex(len(rows)) * 10  # an index that is not 0..n-1
    columns = {name: pd.Series([row[name] for row in rows], index=index, dtype=object) for name in ROW_COLUMNS}
    columns["tags"] = pd.Series([set(row["tags"]) or None for row in rows], index=index, dtype=object)
    frame = pd.DataFrame(columns, index=index)
    if style != "objects":
        frame = frame.astype({"city": "str", "score": "Int64", "amount": float, "active": "boolean"})
        frame["birth_date"] = pd.to_datetime(frame["birth_date"])
        frame["seen_at"] = pd.to_datetime(frame["seen_at"], utc=True)
        frame["tags"] = pd.Series([sorted(tags) if tags else None for tags in frame["tags"]], index=index, dtype=object)
    if style == "naive":
        frame["seen_at"] = frame["seen_at"].dt.tz_localize(None)
    return frame


def pandas_ids(rows: list[dict[str, Any]], raws: list[Any], fields: dict[str, Field], *, style: str) -> list[list[int]]:
    frame = frame_of(rows, style=style)
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
        if isinstance(sample, bool | str):
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
            return st.sampled_from(NEEDLES) | pool(rows, "city", texts).map(lambda s: s[len(s) // 3 :])
        return pool(rows, "city", st.sampled_from(WORDS) | texts)
    if field == "score":
        return pool(rows, "score", st.integers(-(2**63), 2**63 - 1) | st.integers(-3, 6))
    if field == "amount":
        fresh = st.decimals(-(10**6), 10**6, places=3, allow_nan=False, allow_infinity=False)
        return st.builds(
            lambda d, as_text: format(d, "f") if as_text else float(d), pool(rows, "amount", fresh), st.booleans()
        )
    if field == "active":
        return st.booleans()
    if field == "birth_date":
        days = st.integers(-1, 1).map(lambda n: timedelta(days=n))
        return st.builds(
            lambda d, shift: (d + shift).isoformat(),
            pool(rows, "birth_date", st.dates(date(2, 1, 1), date(9998, 12, 31))),
            days,
        )
    if field == "seen_at":
        zones = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))])
        moments = pool(rows, "seen_at", st.datetimes(datetime(2, 1, 1), datetime(9998, 1, 1), timezones=st.just(UTC)))
        return st.builds(
            lambda m, zone, naive: m.replace(tzinfo=None).isoformat() if naive else m.astimezone(zone).isoformat(),
            moments,
            zones,
            st.booleans(),
        )
    if field == "age":
        ages = [age_on(today, row["birth_date"]) for row in rows if row["birth_date"] is not None]
        near = st.builds(int.__add__, st.sampled_from(ages), st.integers(-1, 1)) if ages else st.just(30)
        return near | st.integers(-3, 130) | st.sampled_from([-(2**63), 2**63 - 1, 10**6])
    if field == "tags":
        return st.sampled_from(TAGS)
    kinds = {"contains": st.sampled_from(["ol", "GOLD", "5", ""])}
    numbers = st.integers(-1000, 1000) | st.integers(-(10**6), 10**6).map(lambda c: c / 100)
    if op in ("lt", "lte", "gt", "gte", "between"):
        return numbers
    return kinds.get(op, st.sampled_from(["gold", "5", "true", "", "Gold"]) | numbers | st.booleans())


OPS = {name: sorted(field.allowed_ops) for name, field in FIELDS.items()} | {"attributes": sorted(Op)}
PAIRS = [(name, str(op)) for name, ops in OPS.items() for op in ops]


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


Scenario = tuple[date, list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """A reference date, rows, single conditions (a third of all field/operator pairs), nested filters."""
    today = draw(
        st.sampled_from([date(2024, 2, 29), date(2025, 2, 28), date(2025, 3, 1)])
        | st.dates(date(2000, 1, 1), date(2030, 12, 31))
    )
    rows = draw(st.lists(rows_for(today), min_size=1, max_size=12))
    pairs = draw(st.lists(st.sampled_from(PAIRS), min_size=len(PAIRS) // 3, max_size=len(PAIRS) // 3))
    battery = [draw(conditions(rows, today, name, op)) for name, op in pairs]
    battery = [{"not": raw} if draw(st.booleans()) else raw for raw in battery]
    nested = draw(st.lists(filters(rows, today).filter(lambda raw: depth(raw) <= 8), min_size=1, max_size=4))
    return today, rows, battery, nested


def depth(raw: dict[str, Any]) -> int:
    for key in ("all", "any"):
        if key in raw:
            return 1 + max((depth(item) for item in raw[key]), default=0)
    return 1 + depth(raw["not"]) if "not" in raw else 0


def test_sql_pandas_and_the_oracle_select_the_same_rows(engine: Engine) -> None:
    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(scenario=scenarios(), style=st.sampled_from(STYLES))
    def check(scenario: Scenario, style: str) -> None:
        today, rows, singles, nested = scenario
        fields = make_fields(today)
        expected = [[i for i, row in enumerate(rows) if oracle(raw, row, today)] for raw in singles + nested]
        assert pandas_ids(rows, singles + nested, fields, style=style) == expected
        assert sql_ids(engine, rows, singles, fields, one_query=True) == expected[: len(singles)]
        assert sql_ids(engine, rows, nested, fields) == expected[len(singles) :]

    check()


# --- semantics, by example, on the backend under test and in pandas ---


def person(**values: Any) -> dict[str, Any]:
    return dict.fromkeys(ROW_COLUMNS) | {"tags": frozenset()} | values


def selected(
    engine: Engine, rows: list[dict[str, Any]], raw: dict[str, Any], fields: dict[str, Field] = FIELDS
) -> list[int]:
    """The ids SQL selects, after checking that pandas (every representation) selects the same."""
    ids = sql_ids(engine, rows, [raw], fields)[0]
    assert all(pandas_ids(rows, [raw], fields, style=style)[0] == ids for style in STYLES)
    return ids


def test_not_includes_missing_values_while_ne_excludes_them(engine: Engine) -> None:
    rows = [person(city="Shanghai"), person(city="Beijing"), person(city=None)]
    assert selected(engine, rows, {"field": "city", "op": "ne", "value": "Shanghai"}) == [1]
    assert selected(engine, rows, {"not": {"field": "city", "op": "eq", "value": "Shanghai"}}) == [1, 2]
    assert selected(engine, rows, {"not": {"field": "city", "op": "in", "value": ["Beijing"]}}) == [0, 2]
    assert selected(engine, rows, {"field": "city", "op": "not_in", "value": ["Beijing"]}) == [0]
    assert selected(engine, rows, {"field": "city", "op": "exists", "value": False}) == [2]


def test_contains_takes_wildcards_literally_and_folds_only_ascii_case(engine: Engine) -> None:
    rows = [
        person(city="50% off"),
        person(city="500 off"),
        person(city="a_b"),
        person(city="CAFÉ"),
        person(city="Café"),
    ]
    assert selected(engine, rows, {"field": "city", "op": "contains", "value": "0%"}) == [0]
    assert selected(engine, rows, {"field": "city", "op": "contains", "value": "_"}) == [2]
    assert selected(engine, rows, {"field": "city", "op": "contains", "value": "caf"}) == [3, 4]
    assert selected(engine, rows, {"field": "city", "op": "contains", "value": "é"}) == [4]
    assert selected(engine, rows, {"field": "city", "op": "eq", "value": "café"}) == []


def test_tags_contains_means_membership(engine: Engine) -> None:
    rows = [person(tags=frozenset({"vip", "new"})), person(tags=frozenset({"VIP"})), person()]
    assert selected(engine, rows, {"field": "tags", "op": "contains", "value": "vip"}) == [0]
    assert selected(engine, rows, {"field": "tags", "op": "in", "value": ["VIP", "x"]}) == [1]
    assert selected(engine, rows, {"field": "tags", "op": "exists", "value": False}) == [2]
    assert selected(engine, rows, {"not": {"field": "tags", "op": "contains", "value": "vip"}}) == [1, 2]


def test_a_json_attribute_of_another_kind_counts_as_missing(engine: Engine) -> None:
    rows = [
        person(attributes={"tier": "5", "vip": True}),
        person(attributes={"tier": 5, "vip": "true"}),
        person(attributes={"tier": None}),
        person(attributes=None),
    ]
    assert selected(engine, rows, {"field": "attributes.tier", "op": "eq", "value": "5"}) == [0]
    assert selected(engine, rows, {"field": "attributes.tier", "op": "gte", "value": 5}) == [1]
    assert selected(engine, rows, {"field": "attributes.tier", "op": "ne", "value": 4}) == [1]
    assert selected(engine, rows, {"field": "attributes.vip", "op": "eq", "value": True}) == [0]
    assert selected(engine, rows, {"field": "attributes.tier", "op": "exists", "value": True}) == [0, 1]
    assert selected(engine, rows, {"not": {"field": "attributes.tier", "op": "lt", "value": 9}}) == [0, 2, 3]


@pytest.mark.parametrize(
    ("today", "ages"),
    [
        (date(2024, 2, 29), [24, 23, 22, 23]),  # a leap day: 28 February birthdays have passed
        (date(2025, 2, 28), [24, 24, 23, 24]),  # born on 29 February: one year older on 1 March
        (date(2025, 3, 1), [25, 24, 24, 25]),
    ],
)
def test_age_is_whole_years_with_29_february_birthdays_on_1_march(engine: Engine, today: date, ages: list[int]) -> None:
    rows = [
        person(birth_date=born) for born in (date(2000, 2, 29), date(2001, 2, 28), date(2001, 3, 1), date(2000, 3, 1))
    ]
    rows.append(person(birth_date=None))
    fields = make_fields(today)
    for age in range(21, 27):
        expected = [i for i, have in enumerate(ages) if have == age]
        assert selected(engine, rows, {"field": "age", "op": "eq", "value": age}, fields) == expected
        assert selected(engine, rows, {"field": "age", "op": "gte", "value": age}, fields) == [
            i for i, have in enumerate(ages) if have >= age
        ]
    assert selected(engine, rows, {"not": {"field": "age", "op": "between", "value": [0, 200]}}, fields) == [4]


def test_age_between_filters_an_indexed_birth_date_range(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/plan.db")
    metadata.create_all(engine)
    where = to_sql(parse_filter({"field": "age", "op": "between", "value": [25, 40]}, FIELDS), FIELDS)
    compiled = where.compile(engine, compile_kwargs={"literal_binds": True})
    assert str(compiled) == "people.birth_date <= '1999-02-28' AND people.birth_date > '1983-02-28'"
    with engine.connect() as connection:
        plan = connection.execute(text(f"EXPLAIN QUERY PLAN SELECT id FROM people WHERE {compiled}")).all()
    engine.dispose()
    assert "INDEX ix_people_birth_date (birth_date>? AND birth_date<?)" in plan[0][-1]


# --- errors: every message names the field (or the place) and what to send instead ---


def problems(raw: Any) -> list[dict[str, str]]:
    with pytest.raises(Invalid) as caught:
        parse_filter(raw, FIELDS)
    assert caught.value.status == 422
    assert caught.value.errors is not None
    return caught.value.errors


def test_an_unknown_field_is_named_with_a_suggestion_and_the_allowed_fields() -> None:
    raw = {"all": [{"field": "city", "op": "eq", "value": "Shanghai"}, {"field": "citty", "op": "eq", "value": "x"}]}
    assert problems(raw) == [
        {
            "loc": "filter.all.1.field",
            "msg": "unknown field 'citty' (did you mean 'city'?); allowed: active, age, amount, attributes.<key>, "
            "birth_date, city, score, seen_at, tags",
        }
    ]


def test_an_operator_the_type_does_not_support_is_named_with_the_allowed_ones() -> None:
    assert problems({"field": "city", "op": "lt", "value": "M"}) == [
        {
            "loc": "filter.op",
            "msg": "operator 'lt' is not allowed for field 'city' (string); use one of: contains, eq, exists, in, ne, not_in",
        }
    ]
    assert problems({"field": "city", "op": "like", "value": "M"})[0]["msg"].startswith(
        "unknown operator 'like' for field 'city'; use one of: contains"
    )


@pytest.mark.parametrize(
    ("condition", "msg"),
    [
        (
            {"field": "score", "op": "eq", "value": "5"},
            "field 'score' (integer): eq takes an integer; got the string '5'",
        ),
        (
            {"field": "score", "op": "eq", "value": 5.5},
            "field 'score' (integer): eq takes an integer; got the number 5.5",
        ),
        (
            {"field": "active", "op": "eq", "value": 1},
            "field 'active' (boolean): eq takes true or false; got the number 1",
        ),
        (
            {"field": "birth_date", "op": "gt", "value": "2024-02-30"},
            "field 'birth_date' (date): gt takes an ISO date string such as '2024-05-31'; got the string '2024-02-30'",
        ),
        (
            {"field": "amount", "op": "gt", "value": "12,50"},
            "field 'amount' (number): gt takes a number (or a decimal string such as '12.50'); got the string '12,50'",
        ),
        (
            {"field": "tags", "op": "exists", "value": "yes"},
            "field 'tags' (string_set): exists takes true or false; got the string 'yes'",
        ),
        (
            {"field": "attributes.tier", "op": "gt", "value": "gold"},
            "field 'attributes.tier' (json): gt compares number values; got the string 'gold'",
        ),
        (
            {"field": "city", "op": "in", "value": []},
            "field 'city' (string): in takes a list of 1 to 1000 values, each a string; got []",
        ),
        (
            {"field": "score", "op": "in", "value": [1, "2"]},
            "field 'score' (integer): item 1: in takes an integer; got the string '2'",
        ),
    ],
)
def test_a_wrong_value_names_the_field_and_the_value_it_needs(condition: dict[str, Any], msg: str) -> None:
    assert problems(condition) == [{"loc": "filter.value", "msg": msg}]


def test_between_needs_two_values_low_first() -> None:
    assert problems({"field": "age", "op": "between", "value": [25]})[0]["msg"] == (
        "field 'age' (integer): between takes a list of two values [low, high], each an integer; got [25]"
    )
    assert problems({"field": "age", "op": "between", "value": [40, 25]})[0]["msg"] == (
        "field 'age' (integer): between takes [low, high] with low <= high; got [40, 25]"
    )


def test_nesting_deeper_than_8_levels_is_rejected_where_it_happens() -> None:
    raw: dict[str, Any] = {"field": "city", "op": "exists", "value": True}
    for _ in range(8):
        raw = {"not": raw}
    parse_filter(raw, FIELDS)
    assert problems({"all": [raw]}) == [
        {
            "loc": "filter.all.0" + ".not" * 8,
            "msg": "the filter is nested too deeply: at most 8 levels of all/any/not",
        }
    ]


def test_more_than_100_conditions_or_1000_values_are_rejected() -> None:
    condition = {"field": "score", "op": "gt", "value": 1}
    parse_filter({"any": [condition] * 100}, FIELDS)
    assert problems({"any": [condition] * 101}) == [
        {"loc": "filter", "msg": "the filter has more than 100 conditions; combine values with in/not_in"}
    ]
    parse_filter({"field": "score", "op": "in", "value": list(range(1000))}, FIELDS)
    assert "1 to 1000 values" in problems({"field": "score", "op": "in", "value": list(range(1001))})[0]["msg"]


def test_a_json_field_needs_a_plain_key() -> None:
    assert problems({"field": "attributes", "op": "exists", "value": True})[0]["msg"] == (
        "field 'attributes' holds attributes: name one as 'attributes.<key>'"
    )
    assert problems({"field": 'attributes.a"b', "op": "exists", "value": True})[0]["msg"] == (
        "field 'attributes.a\"b': an attribute key is 1-64 ASCII letters, digits, '_' or '-'"
    )


def test_every_problem_is_reported_with_its_location() -> None:
    raw = {
        "any": [
            {"field": "city", "op": "eq"},
            {"all": "nope"},
            {"field": "score", "op": "eq", "value": None},
            {"all": [], "any": []},
            7,
        ]
    }
    assert [error["loc"] for error in problems(raw)] == [
        "filter.any.0",
        "filter.any.1.all",
        "filter.any.2.value",
        "filter.any.3",
        "filter.any.4",
    ]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5) | st.sampled_from(sorted(OPS)),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["all", "any", "not", "field", "op", "value", "x"]), children, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=200)
@given(raw=json_values)
def test_any_json_either_parses_or_raises_invalid(raw: Any) -> None:
    try:
        parse_filter(raw, FIELDS)
    except Invalid as error:
        reported = error.errors
    else:
        return
    assert reported
    assert all(set(problem) == {"loc", "msg"} and problem["msg"] for problem in reported)


def test_a_field_refuses_operators_its_type_cannot_support() -> None:
    with pytest.raises(ValueError, match="cannot support"):
        Field("city", FieldType.STRING, ops={Op.EQ, Op.BETWEEN})
