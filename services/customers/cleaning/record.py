"""A whole customer record cleaned field by field, with every field's error collected, not just the first."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

from . import attributes, contact, dates, errors, income, places, tags, text, vocabularies

# The writable customer columns of `models.Customer`, in model order (the order of reported issues).
CUSTOMER_FIELDS = (
    "given_name",
    "family_name",
    "email",
    "phone",
    "gender",
    "birth_date",
    "income",
    "income_band",
    "occupation",
    "education",
    "country",
    "region",
    "city",
    "address",
    "tags",
    "attributes",
)
_FIELD_ORDER = {field: position for position, field in enumerate(CUSTOMER_FIELDS)}


def field_cleaners(*, today: date) -> dict[str, Callable[[object], Any]]:
    """The cleaner of every field but phone (whose region depends on the record's country).

    Shared by `clean_customer` and the frame cleaner, so a record and a frame row cannot disagree.
    """
    return {
        "given_name": partial(text.clean_text, field="given_name", max_length=200),
        "family_name": partial(text.clean_text, field="family_name", max_length=200),
        "email": contact.normalise_email,
        "gender": vocabularies.normalise_gender,
        "birth_date": partial(dates.parse_birth_date, today=today),
        "income": income.normalise_income,
        "income_band": vocabularies.normalise_income_band,
        "occupation": partial(text.clean_text, field="occupation", max_length=100),
        "education": vocabularies.normalise_education,
        "country": places.normalise_country,
        "region": partial(text.clean_text, field="region", max_length=100),
        "city": places.normalise_city,
        "address": partial(text.clean_text, field="address"),
        "tags": tags.normalise_tags,
        "attributes": attributes.normalise_attributes,
    }


def clean_phone(value: object, *, country: object, default_region: str) -> str | None:
    """`normalise_phone` read from the record's country when that is a known alpha-2 code (a UK customer's
    "020 7946 0958"), and if it is not valid there, from `default_region` (the importer's market: a CN
    mobile "138 1234 5678" of a customer living abroad). Raises `CleaningError("phone", ...)`."""
    if isinstance(country, str) and country in contact.REGIONS and country != default_region:
        return contact.normalise_phone(value, default_region=country, fallback_region=default_region)
    return contact.normalise_phone(value, default_region=default_region)


def issue_order(issue: errors.FieldIssue) -> int:
    """Sort key putting issues in model field order ("attributes.x" sorts as "attributes")."""
    return _FIELD_ORDER.get(issue.loc.split(".", 1)[0], len(_FIELD_ORDER))


def clean_customer(record: Mapping[str, Any], *, default_region: str) -> tuple[dict[str, Any], list[errors.FieldIssue]]:
    """The record with every customer field normalised, and the issues of all fields that failed.

    Only the fields present in `record` are cleaned and returned, so a partial update stays partial; a
    field that failed is left out of the cleaned dict (never stored as None). Keys that are not customer
    fields (source, external_id, consents) are passed through untouched for the caller's schema to judge.
    When an income is given but no income band, the band is derived (`income_band_for`); a band that was
    given wins, since the sender may know better (income in another currency, household income).
    Raises ValueError for an unknown `default_region` (a caller's bug); data errors are only returned.
    """
    region = contact.check_region(default_region)
    cleaned = {key: value for key, value in record.items() if key not in _FIELD_ORDER}
    issues: list[errors.FieldIssue] = []
    cleaners: dict[str, Callable[[object], Any]] = field_cleaners(today=datetime.now(UTC).date())
    cleaners["phone"] = lambda value: clean_phone(value, country=cleaned.get("country"), default_region=region)
    for field, clean in cleaners.items():
        if field in record:
            try:
                cleaned[field] = clean(record[field])
            except errors.CleaningError as exc:
                issues.append(exc.as_issue())
    band_failed = any(issue.loc == "income_band" for issue in issues)
    if cleaned.get("income") is not None and cleaned.get("income_band") is None and not band_failed:
        cleaned["income_band"] = income.income_band_for(cleaned["income"])
    issues.sort(key=issue_order)
    return cleaned, issues
