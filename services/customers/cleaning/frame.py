"""Bulk cleaning of customer rows as a pandas DataFrame (imports of millions of rows).

Every value goes through the same scalar cleaner as `clean_customer`, so a frame row and a record can never
disagree, but each *distinct* value of a column is cleaned once and the result is mapped back by the
factorized codes: cities, genders, countries, education levels, dates and tag sets repeat a lot, and
email-validator and phonenumbers are per-value libraries with no vectorised form. Columns of mixed Python
types (an NDJSON field that is sometimes 1, sometimes True) are cleaned row by row instead, because
1 == 1.0 == True would share one result although they are cleaned differently; so are attribute objects,
which cannot be hashed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any, cast

import numpy as np
import pandas as pd

from . import contact, errors, income, record

REASONS = "reasons"
# Inferred types of object columns whose equal values (by ==) are cleaned identically.
_DEDUPE_SAFE = frozenset({"string", "empty", "integer", "floating", "decimal", "boolean"})
_Outcome = tuple[np.ndarray, np.ndarray]


def _attempt(clean: Callable[[object], Any], value: object) -> tuple[Any, errors.FieldIssue | None]:
    try:
        return clean(value), None
    except errors.CleaningError as exc:
        return None, exc.as_issue()


def _map_rows(series: pd.Series, clean: Callable[[object], Any]) -> _Outcome:
    values = np.empty(len(series), dtype=object)
    issues = np.empty(len(series), dtype=object)
    for position, raw in enumerate(series.array):
        values[position], issues[position] = _attempt(clean, raw)
    return values, issues


def _map_distinct(series: pd.Series, clean: Callable[[object], Any]) -> _Outcome:
    """(cleaned values, issues) per row, calling `clean` once per distinct value and once for "missing"."""
    if series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) not in _DEDUPE_SAFE:
        return _map_rows(series, clean)
    missing = series.isna().to_numpy()
    codes, uniques = pd.factorize(series[~missing])
    values = np.empty(len(uniques) + 1, dtype=object)
    issues = np.empty(len(uniques) + 1, dtype=object)
    for position, raw in enumerate([*uniques, None]):
        values[position], issues[position] = _attempt(clean, raw)
    row_codes = np.full(len(series), len(uniques))
    row_codes[~missing] = codes
    return values[row_codes], issues[row_codes]


def _tag_keys(series: pd.Series) -> pd.Series:
    # Lists are unhashable; as tuples equal tag lists share one result. Tag cleaning ignores item types in
    # its messages, so equal-but-differently-typed items cannot be told apart by the result either.
    keys = [tuple(v) if isinstance(v, list | tuple | set | frozenset | np.ndarray) else v for v in series.array]
    return pd.Series(keys, index=series.index, dtype=object)


def _phones(series: pd.Series, countries: np.ndarray | None, default_region: str) -> _Outcome:
    # Rows are grouped by the country `record.clean_phone` reads them from; unknown countries all read
    # from the default region, so they form one group.
    regions = np.full(len(series), default_region, dtype=object)
    if countries is not None:
        known = pd.Series(countries).isin(list(contact.REGIONS)).to_numpy()
        regions[known] = countries[known]
    values = np.empty(len(series), dtype=object)
    issues = np.empty(len(series), dtype=object)
    for region in pd.unique(regions):
        rows = regions == region
        clean = partial(record.clean_phone, country=region, default_region=default_region)
        values[rows], issues[rows] = _map_distinct(series[rows], clean)
    return values, issues


def _band_for(value: object) -> str | None:
    # `_map_distinct` also asks for the "missing" result, which rows needing a band never use.
    return None if value is None else income.income_band_for(cast(Decimal, value))


def _derive_bands(values: dict[str, np.ndarray], issues: dict[str, np.ndarray], size: int) -> None:
    bands = values.setdefault("income_band", np.full(size, None, dtype=object))
    band_issues = issues.get("income_band", np.full(size, None, dtype=object))
    incomes = values["income"]
    rows = ~pd.isna(incomes) & pd.isna(bands) & pd.isna(band_issues)
    if rows.any():
        bands[rows], _ = _map_distinct(pd.Series(incomes[rows], dtype=object), _band_for)


def _reasons(issues: dict[str, np.ndarray], rows: np.ndarray) -> list[list[errors.FieldIssue]]:
    fields = [field for field in record.CUSTOMER_FIELDS if field in issues]
    columns = [issues[field][rows] for field in fields]
    return [
        sorted((issue for issue in row if issue is not None), key=record.issue_order)
        for row in zip(*columns, strict=True)
    ]


def clean_customers_frame(df: pd.DataFrame, *, default_region: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(clean rows, rejected rows) of a frame of customer records, both keeping `df`'s index.

    Clean rows have every customer column normalised exactly as `clean_customer` would (object columns
    holding str, date, Decimal, list and dict values, None when missing; an `income_band` column is added
    when an `income` column is present). Rejected rows keep the values as sent, for an error report, plus
    a `reasons` column: the `FieldIssue(loc, msg)` list `clean_customer` would return. Other columns pass
    through. Raises ValueError for an unknown `default_region` or a frame that already has `reasons`.
    """
    region = contact.check_region(default_region)
    if REASONS in df.columns:
        raise ValueError(f"the frame already has a {REASONS!r} column")
    values: dict[str, np.ndarray] = {}
    issues: dict[str, np.ndarray] = {}
    for field, clean in record.field_cleaners(today=datetime.now(UTC).date()).items():
        if field not in df.columns:
            continue
        column = df[field]
        if field == "attributes":
            values[field], issues[field] = _map_rows(column, clean)
        else:
            values[field], issues[field] = _map_distinct(_tag_keys(column) if field == "tags" else column, clean)
    if "phone" in df.columns:
        values["phone"], issues["phone"] = _phones(df["phone"], values.get("country"), region)
    if "income" in values:
        _derive_bands(values, issues, len(df))
    if "tags" in values:
        # Rows sharing a tag set share one result list; each row gets its own copy to mutate.
        copies = [None if tag_list is None else list(tag_list) for tag_list in values["tags"]]
        values["tags"] = pd.Series(copies, dtype=object).to_numpy()
    rejected = np.zeros(len(df), dtype=bool)
    for field_issues in issues.values():
        rejected |= ~pd.isna(field_issues)
    cleaned = df[~rejected].copy()
    for field, column_values in values.items():
        cleaned[field] = pd.Series(column_values[~rejected], index=cleaned.index, dtype=object)
    bad = df[rejected].copy()
    bad[REASONS] = pd.Series(_reasons(issues, rejected), index=bad.index, dtype=object)
    return cleaned, bad
