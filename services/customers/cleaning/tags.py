"""Customer tags: short lower-case labels, stored one row each (`customer_tags.tag`, 64 characters)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

from . import errors, text

TAG_MAX_LENGTH = 64
MAX_TAGS = 50
# One text value may carry several tags: "vip, 新客户；beijing" (CSV cells, form fields).
_SEPARATORS_RE = re.compile(r"[,;|，；、]")


def normalise_tags(values: object, *, field: str = "tags") -> list[str]:
    """The tags cleaned (`clean_text`), lower-cased, deduplicated and sorted; [] when missing.

    `values` is a list (or other iterable) of text, or one text holding tags separated by , ; | ，；、.
    Empty tags are dropped. Raises `CleaningError(field, ...)` for non-text tags, a tag longer than 64
    characters, or more than 50 distinct tags: truncating either would silently change what is stored.
    """
    if text.is_missing(values):
        return []
    if isinstance(values, str):
        values = _SEPARATORS_RE.split(values)
    if isinstance(values, bytes | Mapping) or not isinstance(values, Iterable):
        raise errors.CleaningError(field, "expected a list of tags or one text of comma-separated tags")
    tags = set()
    for value in values:
        if not isinstance(value, str):
            raise errors.CleaningError(field, "each tag must be text")
        tag = text.clean_text(value, field=field)
        if tag is None:
            continue
        tag = unicodedata.normalize("NFC", tag.lower())
        if len(tag) > TAG_MAX_LENGTH:
            raise errors.CleaningError(field, f"tag {text.preview(tag)} is over {TAG_MAX_LENGTH} characters")
        tags.add(tag)
    if len(tags) > MAX_TAGS:
        raise errors.CleaningError(field, f"at most {MAX_TAGS} tags, got {len(tags)}")
    return sorted(tags)
