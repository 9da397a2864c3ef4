"""Email addresses and phone numbers, validated by email-validator and phonenumbers (no network)."""

from __future__ import annotations

import numbers
import re
from functools import lru_cache

import numpy as np
import phonenumbers
from email_validator import EmailNotValidError, validate_email

from . import e164, errors, text

# phonenumbers' region codes: ISO 3166-1 alpha-2 plus "001" for non-geographic numbers, which is no country.
REGIONS = frozenset(phonenumbers.SUPPORTED_REGIONS) - {"001"}


def normalise_email(value: object, *, field: str = "email") -> str | None:
    """The address trimmed, lower-cased and validated; None for a missing or empty value.

    The whole address is lower-cased, local part included. RFC 5321 lets a server treat the local part
    case-sensitively, but no real mailbox provider does, and customers type "John.Doe@" and "john.doe@"
    for the same mailbox: deduplication and lookup by email need one spelling. We use `str.lower`, not
    `str.casefold`: casefold rewrites "ß" as "ss" and would name a different internationalised mailbox.
    Provider-specific rewrites (Gmail dots, "+tag" suffixes) are not applied: they change identity.
    Full-width "＠" and "．" from Chinese input methods become ASCII. The domain is checked for syntax
    only (`check_deliverability=False`): no DNS lookup.

    Raises `CleaningError(field, ...)` with email-validator's reason when the address is invalid.
    """
    if isinstance(value, str):
        value = text.fold_fullwidth(value, punctuation=True)
    address = text.clean_text(value, field=field)
    if address is None:
        return None
    try:
        return _validated(address.lower())
    except EmailNotValidError as exc:
        raise errors.CleaningError(field, f"not a valid email address: {exc}") from None


# RFC 5322 dot-atom over lower-case ASCII: the local parts email-validator accepts without any rewriting.
_PLAIN_LOCAL_PART = re.compile(r"[a-z0-9_!#$%&'*+\-/=?^`{|}~]+(?:\.[a-z0-9_!#$%&'*+\-/=?^`{|}~]+)*\Z")
_LOCAL_PART_MAX_LENGTH = 64
_ADDRESS_MAX_LENGTH = 254


@lru_cache(maxsize=65_536)
def _normalised_domain(domain: str) -> str | None:
    """email-validator's ASCII spelling of the domain, or None when it is invalid or not ASCII."""
    try:
        normalised = validate_email("x@" + domain, check_deliverability=False).domain
    except EmailNotValidError:
        return None
    return normalised if normalised.isascii() else None


def _validated(address: str) -> str:
    """email-validator's normalised address. A bulk load validates a million distinct addresses over a few
    thousand domains, so the common shape (plain ASCII local part) checks its local part by email-validator's
    own rule and takes the domain's verdict from a cache; anything else, and every invalid address (for
    email-validator's own message), goes through the full validator. tests/customers/test_cleaning.py checks
    that both paths agree."""
    local, _, domain = address.rpartition("@")
    if len(local) <= _LOCAL_PART_MAX_LENGTH and _PLAIN_LOCAL_PART.match(local):
        normalised_domain = _normalised_domain(domain)
        if normalised_domain is not None and len(local) + 1 + len(normalised_domain) <= _ADDRESS_MAX_LENGTH:
            return f"{local}@{normalised_domain}"
    return str(validate_email(address, check_deliverability=False).normalized)


def check_region(region: str) -> str:
    """The region code upper-cased; raises ValueError (a caller's bug, not bad data) if phonenumbers lacks it."""
    code = region.upper()
    if code not in REGIONS:
        raise ValueError(f"unknown phone region {region!r}; use an ISO 3166-1 alpha-2 code such as 'CN' or 'US'")
    return code


def _valid_number(digits: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def normalise_phone(
    value: object, *, default_region: str = "CN", fallback_region: str | None = None, field: str = "phone"
) -> str | None:
    """The number in E.164 ("+8613812345678"); None for a missing or empty value.

    A number without a country code is read as a number of `default_region` ("138-1234-5678" in CN,
    "(415) 555-0123" in US). A leading "00" is the international prefix of most countries: when the number
    is not valid as dialled from `default_region` (the US dials abroad with 011), it is retried as "+...",
    so "0044 20 7946 0958" is a UK number from anywhere. A number still not valid is read from
    `fallback_region`, when given (the same steps). Full-width digits and "＋" are accepted. Integers
    are read as their digits; floats are refused because they have already lost a leading zero or "+".

    Raises `CleaningError(field, ...)` for a number that phonenumbers does not consider valid, or that
    carries an extension (E.164 cannot hold one and dropping it would lose data). Raises ValueError for
    an unknown `default_region` or `fallback_region`.
    """
    regions = [check_region(default_region)]
    if fallback_region is not None:
        regions.append(check_region(fallback_region))
    if isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_):
        value = str(int(value))
    if isinstance(value, float | np.floating) and not text.is_missing(value):
        raise errors.CleaningError(field, "send phone numbers as text, not as a number")
    if isinstance(value, str):
        value = text.fold_fullwidth(value, punctuation=True)
    dialled = text.clean_text(value, field=field)
    if dialled is None:
        return None
    fast = e164.fast_e164(dialled, regions[0])
    if fast is not None:
        return fast
    number = None
    for region in regions:
        number = _valid_number(dialled, region)
        if number is None and dialled.startswith("00"):
            number = _valid_number("+" + dialled[2:], region)
        if number is not None:
            break
    if number is None:
        raise errors.CleaningError(
            field,
            f"not a valid phone number when read from region {' or '.join(regions)}; "
            "send it with its country code, e.g. +86 138 1234 5678",
        )
    if number.extension:
        raise errors.CleaningError(field, "phone extensions cannot be stored; send the number without one")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
