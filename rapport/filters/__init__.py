"""The filter language of customer search and rule-based segments, compiled to SQLAlchemy and to pandas.

    {"all": [{"field": "city", "op": "eq", "value": "Shanghai"},
             {"any": [{"field": "age", "op": "between", "value": [25, 40]},
                      {"field": "tags", "op": "contains", "value": "vip"}]},
             {"not": {"field": "attributes.tier", "op": "eq", "value": "gold"}}]}

Use: `node = parse_filter(raw, FIELDS)` (raises `Invalid`, 422), then `select(...).where(to_sql(node, FIELDS))`
or `frame[to_pandas(node, frame, FIELDS)]`. A bare condition is a filter too; `{"all": []}` matches every
row, `{"any": []}` none. Limits: 8 levels of all/any/not, 100 conditions, 1000 values per in/not_in.

Semantics, identical in SQL (SQLite, PostgreSQL) and pandas. v is the row's value, x the filter's value:

    op        value            true when
    eq / ne   scalar           v == x / v != x
    lt .. gte scalar           v < x, v <= x, v > x, v >= x (integer, number, date, datetime, json number)
    in        [x1, ...]        v is one of the values; string_set: the set holds at least one of them
    not_in    [x1, ...]        v is none of the values
    between   [lo, hi]         lo <= v <= hi (inclusive; lo <= hi is required)
    contains  string           string: x is a substring of v, ignoring the case of A-Z only (other
                               characters match exactly; % and _ are plain characters);
                               string_set: the set holds x (exact)
    exists    true / false     v is present / missing

- Missing values (NULL, None, NaN, NaT; an empty or missing string_set; an absent or JSON-null attribute)
  never satisfy any operator but `exists false`. So `ne` means `IS NOT NULL AND <>` and `not_in` means
  `IS NOT NULL AND NOT IN`: rows with no city are neither `eq "Shanghai"` nor `ne "Shanghai"`.
- `not` negates the full two-valued result: `not {city eq "Shanghai"}` DOES include rows with no city
  (`not ne` is therefore "equal or missing"). In SQL each condition under a `not` is made two-valued
  (`col IS NOT NULL AND ...`); SQL's three-valued logic never leaks out.
- Strings compare exactly (case-sensitive, no trimming or Unicode normalisation: stored values are
  normalised on write, send the same form). Strings have no lt/gt/between: collations disagree.
- Numbers: against decimal storage (PostgreSQL NUMERIC, pandas Decimal objects) the comparison is exact;
  against float storage (SQLite, pandas float columns) it is float64. Both agree for values with up to 15
  significant digits. Number values may be JSON numbers or decimal strings ("12.50").
- Dates are ISO `YYYY-MM-DD`; datetimes ISO 8601, converted to UTC (no offset = UTC); stored naive
  datetimes are taken as UTC.
- json fields (e.g. `attributes`) are filtered by key, `attributes.<key>`; the filter value's kind (string,
  number, boolean) picks the comparison, and a stored value of another kind counts as missing
  (`attributes.tier eq "5"` does not match the number 5). JSON numbers compare as float64.
- Derived fields (`age_field`) are rewritten into conditions over their base column, so `age between 25
  and 40` filters `birth_date` by a range (index-friendly) and pandas computes exactly the same.

pandas representations: see `to_pandas`. string_set is a column holding one collection of strings per row
(sets, lists, tuples or arrays; a profile frame stays one row per customer), json a column of dicts, age
reads the birth-date column.
"""

from __future__ import annotations

from .fields import OPS_BY_TYPE, Derivation, Field, FieldType, age_field, set_table_field
from .frame import to_pandas
from .nodes import AllOf, AnyOf, Condition, Node, Not, Op
from .parse import MAX_CONDITIONS, MAX_DEPTH, MAX_VALUES, parse_filter
from .sql import to_sql

__all__ = [
    "MAX_CONDITIONS",
    "MAX_DEPTH",
    "MAX_VALUES",
    "OPS_BY_TYPE",
    "AllOf",
    "AnyOf",
    "Condition",
    "Derivation",
    "Field",
    "FieldType",
    "Node",
    "Not",
    "Op",
    "age_field",
    "parse_filter",
    "set_table_field",
    "to_pandas",
    "to_sql",
]
