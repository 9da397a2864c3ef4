"""A fast path to E.164 for the common shapes of phone numbers, decided from phonenumbers' own metadata.

phonenumbers parses and validates a number in about 40 us, and a bulk sync of a million customers brings a
million distinct numbers, so nothing can be cached by value: phone cleaning was a third of the batch
upsert's CPU. Most numbers come in a plain shape: digits with spaces, dashes, dots or parentheses, with
or without "+" and a country code, maybe with the national prefix ("020 7946 0958"). For those, parsing
is stripping separators and one prefix, and validity is whether the national number matches the region's
patterns, which this module compiles once per region from the library's metadata (general description
and number types, with their possible lengths, as `phonenumbers._number_type_helper` reads them).

`fast_e164` is a pure shortcut: it answers only where phonenumbers' answer is certain to be the same,
and None everywhere else (transform rules, international dialling prefixes, regions that share a
country code behind leading digits, anything that does not look valid), so the caller falls back to
phonenumbers, which also words the error. tests/customers/test_cleaning.py checks every answer against
phonenumbers over every region's example numbers and near misses, and with hypothesis on digit strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata
from phonenumbers.phonemetadata import PhoneNumberDesc

# Digits with the separators people type; "+" only in front. Letters, extensions, "/" and the like are
# phonenumbers' business.
_PLAIN = re.compile(r"\(?\+?[0-9][0-9 ().\-]*")
_SEPARATORS = str.maketrans("", "", " ().-")
_MAX_COUNTRY_CODE_DIGITS = 3


@dataclass(frozen=True)
class _Rules:
    """What the fast path needs of one region's metadata."""

    country_code: str
    national_prefix: re.Pattern[str] | None  # national prefix for parsing, without a transform rule
    international_prefix: re.Pattern[str] | None
    general_lengths: frozenset[int]
    general: re.Pattern[str]
    valid_by_length: dict[int, re.Pattern[str]]  # any number type's pattern that admits that length

    def is_valid(self, national: str) -> bool:
        # `_number_type_helper(national, metadata) != UNKNOWN`: the general description, then any type.
        length = len(national)
        typed = self.valid_by_length.get(length)
        return (
            length in self.general_lengths
            and typed is not None
            and self.general.fullmatch(national) is not None
            and typed.fullmatch(national) is not None
        )


_TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)


def _lengths(desc: PhoneNumberDesc) -> frozenset[int]:
    return frozenset(length for length in desc.possible_length if length > 0)


@cache
def _rules(region: str) -> _Rules | None:
    """The region's rules, or None when the fast path cannot speak for it: its country code is shared
    and it is not the first region of that code (phonenumbers tries the first first), it is told apart
    by leading digits, or its national prefix has a transform rule."""
    metadata = PhoneMetadata.metadata_for_region(region, None)
    if metadata is None or metadata.country_code is None or metadata.general_desc is None:
        return None
    regions = COUNTRY_CODE_TO_REGION_CODE.get(metadata.country_code, ())
    if not regions or regions[0] != region or metadata.leading_digits is not None:
        return None
    if metadata.national_prefix_transform_rule:
        return None
    general = metadata.general_desc
    if not general.national_number_pattern:
        return None
    general_lengths = _lengths(general)
    by_length: dict[int, list[str]] = {}
    for name in _TYPES:
        desc = getattr(metadata, name)
        if desc is None or not desc.national_number_pattern:
            continue
        # A type without lengths of its own takes the general description's (which is checked first).
        for length in _lengths(desc) or general_lengths:
            by_length.setdefault(length, []).append(desc.national_number_pattern)
    return _Rules(
        country_code=str(metadata.country_code),
        national_prefix=re.compile(metadata.national_prefix_for_parsing)
        if metadata.national_prefix_for_parsing
        else None,
        international_prefix=re.compile(metadata.international_prefix) if metadata.international_prefix else None,
        general_lengths=general_lengths,
        general=re.compile(general.national_number_pattern),
        valid_by_length={
            length: re.compile("|".join(f"(?:{pattern})" for pattern in patterns))
            for length, patterns in by_length.items()
        },
    )


def _country_rules(digits: str) -> tuple[_Rules, str] | None:
    # Country calling codes are prefix-free; phonenumbers takes the first 1-3 digits that name one (and
    # none after "+0").
    if not digits or digits[0] == "0":
        return None
    for size in range(1, min(len(digits), _MAX_COUNTRY_CODE_DIGITS) + 1):
        regions = COUNTRY_CODE_TO_REGION_CODE.get(int(digits[:size]))
        if regions:
            rules = _rules(regions[0])
            return (rules, digits[size:]) if rules is not None else None
    return None


def fast_e164(dialled: str, region: str) -> str | None:
    """The E.164 form phonenumbers gives `dialled` read from `region`, when the fast path is certain of
    it (the number is valid); None means "ask phonenumbers", not "invalid"."""
    if not _PLAIN.fullmatch(dialled):
        return None
    digits = dialled.translate(_SEPARATORS)  # a leading "(" goes too: phonenumbers skips to the first digit or "+"
    if digits.startswith("+"):
        found = _country_rules(digits[1:])
        if found is None:
            return None
        rules, national = found
    else:
        home = _rules(region)
        if home is None:
            return None
        if home.international_prefix is not None and home.international_prefix.match(digits):
            return None
        rules, national = home, digits
    if rules.national_prefix is not None:
        prefix = rules.national_prefix.match(national)
        if prefix is not None:
            # Stripped when what remains is a viable number; a valid one is (carrier codes are dropped too).
            national = national[prefix.end() :]
    # A valid national reading is phonenumbers' reading too, even of digits that start with the country
    # code; its E.164 keeps leading zeros (Italy) as the digits stand.
    return f"+{rules.country_code}{national}" if national and rules.is_valid(national) else None
