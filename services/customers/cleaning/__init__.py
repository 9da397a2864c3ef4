"""Cleaning and normalisation of customer data for every write path: the stored record is the normalised one.

Pure functions, no database, no HTTP. Each `normalise_*`/`parse_*` function takes one raw value, returns
the stored form (None for a missing or empty value) and raises `CleaningError(field, message)` for a value
it cannot normalise. `clean_customer` cleans a whole record and collects every field's error;
`clean_customers_frame` does the same for a DataFrame of records, cleaning each distinct value once.
The rules of each field are documented in its module: `text`, `contact`, `dates`, `vocabularies`,
`income`, `places`, `tags`, `attributes`.
"""

from __future__ import annotations

from .attributes import normalise_attributes
from .contact import normalise_email, normalise_phone
from .dates import parse_birth_date, parse_date, parse_datetime
from .errors import CleaningError, FieldIssue
from .frame import REASONS, clean_customers_frame
from .income import income_band_for, normalise_income
from .places import normalise_city, normalise_country
from .record import CUSTOMER_FIELDS, clean_customer
from .tags import normalise_tags
from .text import clean_text
from .vocabularies import (
    EDUCATION_LEVELS,
    GENDERS,
    INCOME_BANDS,
    normalise_education,
    normalise_gender,
    normalise_income_band,
)

__all__ = [
    "CUSTOMER_FIELDS",
    "EDUCATION_LEVELS",
    "GENDERS",
    "INCOME_BANDS",
    "REASONS",
    "CleaningError",
    "FieldIssue",
    "clean_customer",
    "clean_customers_frame",
    "clean_text",
    "income_band_for",
    "normalise_attributes",
    "normalise_city",
    "normalise_country",
    "normalise_education",
    "normalise_email",
    "normalise_gender",
    "normalise_income",
    "normalise_income_band",
    "normalise_phone",
    "normalise_tags",
    "parse_birth_date",
    "parse_date",
    "parse_datetime",
]
