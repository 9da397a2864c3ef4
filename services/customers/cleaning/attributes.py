"""Free-form customer attributes: a JSON object of partner-specific facts ("loyalty_no", "会员等级")."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from . import errors, text

KEY_MAX_LENGTH = 100


def normalise_attributes(value: object, *, field: str = "attributes") -> dict[str, Any]:
    """The attributes with cleaned keys and top-level text values cleaned (`clean_text`); {} when missing.

    Text holding a JSON object (a CSV cell) is parsed. Nested values are kept as sent. Raises
    `CleaningError` (loc "attributes" or "attributes.<key>") for anything but an object with text keys, keys
    that are empty, too long or equal once cleaned, and values JSON cannot store (NaN, infinity, dates).
    """
    if text.is_missing(value):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise errors.CleaningError(field, "not a JSON object") from None
    if not isinstance(value, Mapping):
        raise errors.CleaningError(field, "expected an object of key/value pairs")
    cleaned: dict[str, Any] = {}
    for raw_key, raw in value.items():
        if not isinstance(raw_key, str):
            raise errors.CleaningError(field, "attribute keys must be text")
        key = text.clean_text(raw_key, field=field, max_length=KEY_MAX_LENGTH)
        if key is None:
            raise errors.CleaningError(field, "attribute keys cannot be empty")
        if key in cleaned:
            raise errors.CleaningError(field, f"two attributes are both named {key!r} once cleaned")
        loc = f"{field}.{key}"
        item = text.clean_text(raw, field=loc) if isinstance(raw, str) else raw
        try:
            json.dumps(item, allow_nan=False)
        except (TypeError, ValueError):
            raise errors.CleaningError(
                loc, "value cannot be stored as JSON (text, number, bool, list or object)"
            ) from None
        cleaned[key] = item
    return cleaned
