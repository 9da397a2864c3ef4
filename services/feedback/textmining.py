"""Keywords and topics over a period's stored texts, shaped for the API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import keywords as keyword_extraction
from . import topics as topic_model


def keywords(texts: Sequence[tuple[str, str]], *, k: int) -> list[dict[str, Any]]:
    """Top k keywords of (text, language) pairs, English and Chinese ranked together."""
    if not texts:
        return []
    found = keyword_extraction.top_keywords([t for t, _ in texts], [lang for _, lang in texts], k=k)
    return [
        {"term": kw.term, "weight": round(float(kw.weight), 4), "count": kw.count, "language": kw.language}
        for kw in found
    ]


def topics(texts: Sequence[tuple[str, str]], *, n: int) -> list[dict[str, Any]]:
    """Up to n topic groups, largest first, with top terms and example texts."""
    if not texts:
        return []
    found = topic_model.find_topics([t for t, _ in texts], [lang for _, lang in texts], n_topics=n)
    return [{"terms": list(t.terms), "size": t.size, "examples": list(t.examples)} for t in found]
