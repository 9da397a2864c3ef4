"""Countries as ISO 3166-1 alpha-2 codes, and cities in one canonical spelling each.

Country: a known name or code (English or Chinese, see `place_names`) becomes its alpha-2 code; a
two-letter code is accepted when phonenumbers knows it as a region. An unknown *name* is kept, title-cased
when it was typed all-lower or all-upper, rather than rejected: a new market must not block an import, and
the kept name can be mapped later. An unknown two-letter value is refused: it is a mistyped code, not a name.

City: the largest Chinese cities are stored under their English (pinyin) name, whether sent as
"Shanghai", "shanghai", "SHANGHAI", "上海", "上海市" or "Shanghai City": one spelling per city, so filters
such as `city eq "Shanghai"` and group-bys see one value. English is canonical because it is readable by
every user of the API and sorts with the other Latin-script cities. Other Chinese city names lose a
trailing 市 ("温州市" -> "温州") when at least two characters remain ("沙市" is a name, not X + 市).
Other cities are kept as typed, title-cased when all-lower or all-upper ("new york" -> "New York").
Homophones are only mapped from characters: 宿州 is not 苏州 although both are "Suzhou" in pinyin.
"""

from __future__ import annotations

import re

from . import contact, errors, place_names, text

COUNTRY_MAX_LENGTH = 64
CITY_MAX_LENGTH = 100

_COUNTRY_BY_KEY = {
    text.lookup_key(spelling): code
    for code, spellings in place_names.COUNTRIES.items()
    for spelling in (code, *spellings)
}
_TWO_LETTERS_RE = re.compile(r"[A-Za-z]{2}")
_CITY_SUFFIX_RE = re.compile(r"(?<=[\u4e00-\u9fff]{2})市$")
_LATIN_CITY_SUFFIX_RE = re.compile(r" (?:city|shi)$")


def _city_key(spelling: str) -> str:
    return _LATIN_CITY_SUFFIX_RE.sub("", text.lookup_key(spelling)).replace(" ", "")


_CITY_BY_KEY = {
    _city_key(spelling): canonical
    for canonical, spellings in place_names.CHINESE_CITIES.items()
    for spelling in (canonical, *spellings)
}


def normalise_country(value: object, *, field: str = "country") -> str | None:
    """An ISO 3166-1 alpha-2 code for a known country, else the name kept (module docstring); None if empty.

    Raises `CleaningError(field, ...)` for an unknown two-letter code and for names over 64 characters.
    """
    spelled = text.clean_text(value, field=field)
    if spelled is None:
        return None
    # Capitalise first and match the capitalised form, so the stored form reads back as itself.
    kept = text.capitalise_words(spelled)
    code = _COUNTRY_BY_KEY.get(text.lookup_key(kept))
    if code is not None:
        return code
    if _TWO_LETTERS_RE.fullmatch(kept):
        if kept.upper() in contact.REGIONS:
            return kept.upper()
        raise errors.CleaningError(field, f"{spelled!r} is not an ISO 3166-1 alpha-2 country code")
    if len(kept) > COUNTRY_MAX_LENGTH:
        raise errors.CleaningError(field, f"at most {COUNTRY_MAX_LENGTH} characters, got {len(kept)}")
    return kept


def normalise_city(value: object, *, field: str = "city") -> str | None:
    """The city's canonical spelling (module docstring); None when missing or empty.

    Raises `CleaningError(field, ...)` for non-text values and names over 100 characters.
    """
    spelled = text.clean_text(value, field=field)
    if spelled is None:
        return None
    kept = text.capitalise_words(_CITY_SUFFIX_RE.sub("", spelled))
    canonical = _CITY_BY_KEY.get(_city_key(kept))
    if canonical is not None:
        return canonical
    if len(kept) > CITY_MAX_LENGTH:
        raise errors.CleaningError(field, f"at most {CITY_MAX_LENGTH} characters, got {len(kept)}")
    return kept
