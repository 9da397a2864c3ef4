"""Closed vocabularies (gender, education level, income band) from the English and Chinese spellings people send.

Spellings are matched by `text.lookup_key`: lower-cased, dots and apostrophes dropped, hyphens as spaces
("Ph.D." = "phd", "Bachelor's" = "bachelors", "non-binary" = "non binary").
Every canonical value is also a spelling of itself, so normalising twice changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from . import errors, text

GENDERS = ("female", "male", "other", "unknown")
EDUCATION_LEVELS = ("high_school", "associate", "bachelor", "master", "doctorate", "other")
INCOME_BANDS = ("low", "middle", "high", "very_high")


def _table(spellings: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    return {
        text.lookup_key(spelling): canonical
        for canonical, words in spellings.items()
        for spelling in (canonical, *words)
    }


# ISO/IEC 5218 codes (also China's GB/T 2261.1) are included: 0 not known, 1 male, 2 female, 9 not applicable.
_GENDER = _table(
    {
        "female": ("f", "w", "woman", "women", "girl", "lady", "femme", "weiblich", "2", "女", "女性", "女士", "女的"),
        "male": ("m", "man", "men", "boy", "gentleman", "männlich", "1", "男", "男性", "先生", "男的"),
        "other": ("o", "non-binary", "nonbinary", "nb", "x", "diverse", "divers", "9", "其他", "其它", "非二元"),
        "unknown": (
            "u",
            "unspecified",
            "not specified",
            "not known",
            "n/a",
            "na",
            "none",
            "prefer not to say",
            "prefer not to answer",
            "rather not say",
            "declined",
            "-",
            "?",
            "0",
            "未知",
            "保密",
            "不详",
            "不明",
            "不便透露",
            "不愿透露",
        ),
    }
)
_EDUCATION = _table(
    {
        "high_school": (
            "high school",
            "highschool",
            "hs",
            "secondary",
            "secondary school",
            "ged",
            "a level",
            "a levels",
            "vocational school",
            "高中",
            "中专",
            "职高",
            "职业高中",
            "中技",
            "技校",
        ),
        "associate": (
            "associate",
            "associates",
            "associate degree",
            "associates degree",
            "aa",
            "as",
            "junior college",
            "community college",
            "college diploma",
            "higher diploma",
            "大专",
            "专科",
            "高职",
        ),
        "bachelor": (
            "bachelors",
            "bachelor degree",
            "bachelors degree",
            "ba",
            "bs",
            "bsc",
            "beng",
            "bba",
            "undergraduate",
            "university",
            "college",
            "本科",
            "学士",
            "大学",
            "大学本科",
        ),
        "master": (
            "masters",
            "master degree",
            "masters degree",
            "ma",
            "ms",
            "msc",
            "meng",
            "mba",
            "mphil",
            "postgraduate",
            "硕士",
            "研究生",
            "硕士研究生",
        ),
        "doctorate": ("doctoral", "doctor", "phd", "dphil", "edd", "md", "博士", "博士研究生", "博士后"),
        "other": ("middle school", "primary school", "elementary", "none", "初中", "小学", "其他", "其它"),
    }
)
_INCOME_BAND = _table(
    {
        "low": ("l", "low income", "lower", "低", "低收入"),
        "middle": ("mid", "medium", "middle income", "moderate", "中", "中等", "中等收入", "中收入"),
        "high": ("h", "high income", "upper", "高", "高收入"),
        "very_high": ("very high", "veryhigh", "vh", "top", "很高", "非常高", "极高", "超高", "高净值"),
    }
)
# Suffixes that add nothing to the level: "本科学历", "硕士毕业", "大专及以上".
_SUFFIX_RE = re.compile(r"(?:学历|毕业|及以上|以上)+$")


def normalise_gender(value: object, *, field: str = "gender") -> str | None:
    """One of `GENDERS`; None when missing. An empty string is "unknown": the sender said "not known".

    Raises `CleaningError(field, ...)` listing the accepted values for an unrecognised spelling.
    """
    if text.is_missing(value):
        return None
    spelled = text.clean_text(value, field=field)
    if spelled is None:
        return "unknown"
    canonical = _GENDER.get(text.lookup_key(spelled))
    if canonical is None:
        raise errors.CleaningError(
            field,
            f"unrecognised gender {text.preview(spelled)}; accepted: {', '.join(GENDERS)} "
            "(also F/M, woman/man, 女/男, 其他, 未知, prefer not to say)",
        )
    return canonical


def normalise_education(value: object, *, field: str = "education") -> str | None:
    """One of `EDUCATION_LEVELS`; None when missing or empty.

    Mappings that need a decision: 中专 (secondary vocational) is high_school; "college" is bachelor, as in
    American "college degree", while "junior/community college" and 大专/专科 are associate; 研究生 and
    "postgraduate" are master (博士研究生 is doctorate); 初中/小学 (below high school) are other.
    Raises `CleaningError(field, ...)` listing the accepted values for an unrecognised spelling.
    """
    spelled = text.clean_text(value, field=field)
    if spelled is None:
        return None
    key = text.lookup_key(spelled)
    canonical = _EDUCATION.get(key) or _EDUCATION.get(text.lookup_key(_SUFFIX_RE.sub("", key)))
    if canonical is None:
        raise errors.CleaningError(
            field,
            f"unrecognised education level {text.preview(spelled)}; accepted: {', '.join(EDUCATION_LEVELS)} "
            "(also 高中, 大专, 本科, 硕士, 博士, BA, MBA, PhD)",
        )
    return canonical


def normalise_income_band(value: object, *, field: str = "income_band") -> str | None:
    """One of `INCOME_BANDS`; None when missing or empty.

    Raises `CleaningError(field, ...)` listing the accepted values for an unrecognised spelling.
    """
    spelled = text.clean_text(value, field=field)
    if spelled is None:
        return None
    canonical = _INCOME_BAND.get(text.lookup_key(spelled))
    if canonical is None:
        raise errors.CleaningError(
            field,
            f"unrecognised income band {text.preview(spelled)}; accepted: {', '.join(INCOME_BANDS)} (also 低, 中, 高)",
        )
    return canonical
