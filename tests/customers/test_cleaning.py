"""Cleaning and normalisation of customer data: pure functions, no database, fast."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.customers import cleaning
from services.customers.cleaning.e164 import fast_e164

pytestmark = pytest.mark.database_independent

NAN = float("nan")


def _error(call: Any, *args: Any, **kwargs: Any) -> cleaning.CleaningError:
    with pytest.raises(cleaning.CleaningError) as caught:
        call(*args, **kwargs)
    return caught.value


# --- text -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Zhang   Wei \t", "Zhang Wei"),
        ("张\u3000伟", "张 伟"),
        ("Mary\u00a0Ann\nSmith", "Mary Ann Smith"),
        ("１３８号 ＡＢＣ ｓｔｒｅｅｔ", "138号 ABC street"),
        ("Jose\u0301", "José"),
        ("\ufeffAl\u200bice\x00", "Alice"),
        ("上海市浦东新区，世纪大道（近地铁）", "上海市浦东新区，世纪大道（近地铁）"),
        (12345, "12345"),
    ],
)
def test_clean_text_trims_collapses_and_normalises(raw: object, expected: str) -> None:
    assert cleaning.clean_text(raw) == expected


@pytest.mark.parametrize("raw", [None, NAN, pd.NA, "", "   ", "\u3000\u200b"])
def test_clean_text_turns_missing_and_blank_into_none(raw: object) -> None:
    assert cleaning.clean_text(raw) is None


def test_clean_text_errors_name_the_field() -> None:
    assert _error(cleaning.clean_text, 1.5, field="occupation").field == "occupation"
    too_long = _error(cleaning.clean_text, "x" * 11, field="region", max_length=10)
    assert (too_long.field, too_long.message) == ("region", "at most 10 characters, got 11")
    assert str(too_long) == "region: at most 10 characters, got 11"
    assert isinstance(too_long, ValueError)


# --- email ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  John.Doe@Example.COM ", "john.doe@example.com"),
        ("WANG.Fang@QQ.com", "wang.fang@qq.com"),
        ("li.lei＠163．com", "li.lei@163.com"),
        ("张三@例子.中国", "张三@例子.中国"),
        ("Straße@Example.de", "straße@example.de"),
    ],
)
def test_normalise_email_lower_cases_and_validates(raw: str, expected: str) -> None:
    assert cleaning.normalise_email(raw) == expected


@pytest.mark.parametrize("raw", [None, NAN, "", "  "])
def test_normalise_email_missing_is_none(raw: object) -> None:
    assert cleaning.normalise_email(raw) is None


@pytest.mark.parametrize("raw", ["john.doe", "john@", "a..b@example.com", "john@localhost", "john doe@example.com"])
def test_normalise_email_rejects_invalid_addresses_naming_the_field(raw: str) -> None:
    error = _error(cleaning.normalise_email, raw)
    assert error.field == "email"
    assert error.message.startswith("not a valid email address: ")


_LOCAL_CHARS = "abcdefghijklmnopqrstuvwxyzABC0123456789._-+!#$%&'*/=?^`{|}~\"@ (),:;<>[]\\é中"
_DOMAINS = [
    "gmail.com",
    "qq.com",
    "Example.COM",
    "localhost",
    "x.test",
    "a..b.com",
    "-bad.com",
    "münchen.de",
    "xn--mnchen-3ya.de",
    "163.com",
    "[127.0.0.1]",
    "com",
    "b.c",
    "a" * 64 + ".com",
    "valid.co.uk",
    "",
]


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(local=st.text(alphabet=_LOCAL_CHARS, max_size=70), domain=st.sampled_from(_DOMAINS))
def test_normalise_email_fast_path_agrees_with_email_validator(local: str, domain: str) -> None:
    """The cached-domain fast path gives exactly email-validator's verdict and normalised address."""
    from email_validator import EmailNotValidError, validate_email

    address = f"{local}@{domain}".lower()
    try:
        expected: str | None = str(validate_email(address, check_deliverability=False).normalized)
    except EmailNotValidError:
        expected = None
    try:
        got: str | None = cleaning.contact._validated(address)
    except EmailNotValidError:
        got = None
    assert got == expected


# --- phone ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+86 138 1234 5678", "CN", "+8613812345678"),
        ("138-1234-5678", "CN", "+8613812345678"),
        ("１３８１２３４５６７８", "CN", "+8613812345678"),
        ("＋８６ １３８－１２３４－５６７８", "US", "+8613812345678"),
        (13812345678, "CN", "+8613812345678"),
        ("010-6552 9988", "CN", "+861065529988"),
        ("(415) 555-0123", "US", "+14155550123"),
        ("0044 20 7946 0958", "CN", "+442079460958"),
        ("0044 20 7946 0958", "US", "+442079460958"),
        ("+44 20 7946 0958", "cn", "+442079460958"),
    ],
)
def test_normalise_phone_gives_e164(raw: object, region: str, expected: str) -> None:
    assert cleaning.normalise_phone(raw, default_region=region) == expected


@pytest.mark.parametrize("raw", ["12345", "138-1234-567", "call me", "+1 415 555 0123 ext. 12", 13812345678.0])
def test_normalise_phone_rejects_invalid_numbers_naming_the_field(raw: object) -> None:
    assert _error(cleaning.normalise_phone, raw, default_region="CN").field == "phone"


def test_normalise_phone_tries_the_fallback_region_after_the_default() -> None:
    assert cleaning.normalise_phone("138 1234 5678", default_region="US", fallback_region="CN") == "+8613812345678"
    error = _error(cleaning.normalise_phone, "12345", default_region="GB", fallback_region="CN")
    assert "region GB or CN" in error.message


def test_normalise_phone_refuses_an_unknown_region_as_a_caller_bug() -> None:
    with pytest.raises(ValueError, match="unknown phone region") as caught:
        cleaning.normalise_phone("138 1234 5678", default_region="XX")
    assert not isinstance(caught.value, cleaning.CleaningError)


def _phonenumbers_e164(dialled: str, region: str) -> str | None:
    """What phonenumbers itself makes of `dialled`: the E.164 form of a valid number without extension."""
    try:
        number = phonenumbers.parse(dialled, region)
    except phonenumbers.NumberParseException:
        return None
    valid = phonenumbers.is_valid_number(number) and not number.extension
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) if valid else None


def _written_numbers(rng: random.Random) -> list[tuple[str, str]]:
    """Every region's example numbers in three formats, each also with digits changed, dropped or added,
    read from its own region and from others: valid and invalid numbers in every region's shapes."""
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    kinds = [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]
    cases = []
    for region in regions:
        for kind in kinds:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            for style in _PHONE_FORMATS[:3]:
                written = phonenumbers.format_number(example, style)
                digits = [i for i, char in enumerate(written) if char.isdigit()]
                variants = [written]
                for _ in range(4):
                    chars, at = list(written), rng.choice(digits)
                    edit = rng.choice(["change", "drop", "add"])
                    if edit == "change":
                        chars[at] = str(rng.randrange(10))
                    elif edit == "drop":
                        del chars[at]
                    else:
                        chars.insert(at, str(rng.randrange(10)))
                    variants.append("".join(chars))
                for variant in variants:
                    cases += [(variant, region), (variant, rng.choice(regions)), (variant, "CN")]
    return cases


def test_fast_e164_answers_only_as_phonenumbers_does() -> None:
    """The fast path's every answer is phonenumbers' answer, over every region's numbers and near misses."""
    cases = _written_numbers(random.Random(7))
    answered = [(written, region, fast) for written, region in cases if (fast := fast_e164(written, region))]
    assert [(w, r, f) for w, r, f in answered if f != _phonenumbers_e164(w, r)] == []
    assert len(answered) > len(cases) / 5  # it does answer: a fifth of these, most of them not valid


@given(
    st.text(alphabet="0123456789 ()-.+", min_size=1, max_size=20),
    st.sampled_from(["CN", "US", "GB", "DE", "FR", "IN", "AU", "HK"]),
)
def test_fast_e164_agrees_with_phonenumbers_on_any_digits(dialled: str, region: str) -> None:
    fast = fast_e164(dialled, region)
    assert fast is None or fast == _phonenumbers_e164(dialled, region)


@pytest.mark.parametrize("region", ["CN", "US", "GB", "DE", "FR", "IN"])
def test_fast_e164_covers_the_common_shapes_of_valid_numbers(region: str) -> None:
    kinds = [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]
    for kind in kinds:
        example = phonenumbers.example_number_for_type(region, kind)
        assert example is not None
        for style in _PHONE_FORMATS[:3]:
            written = phonenumbers.format_number(example, style)
            assert fast_e164(written, region) == _phonenumbers_e164(written, region), (written, region)


# --- dates ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "2024-03-05",
        "2024/3/5",
        "2024.03.05",
        "20240305",
        20240305,
        "2024年3月5日",
        "２０２４年３月５号",
        "05.03.2024",
        "5 March 2024",
        "05-Mar-2024",
        "March 5th, 2024",
        "2024-03-05T23:30:00-05:00",
        "2024/3/5 10:20",
        "2024年3月5日 10:20",
        "2024-W10-2",
        datetime(2024, 3, 5, 23, 30, tzinfo=timezone(timedelta(hours=-5))),
        pd.Timestamp("2024-03-05 08:00"),
        np.datetime64("2024-03-05"),
        date(2024, 3, 5),
    ],
)
def test_parse_date_reads_common_formats(raw: object) -> None:
    assert cleaning.parse_date(raw) == date(2024, 3, 5)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("25/03/2024", date(2024, 3, 25)), ("03/25/2024", date(2024, 3, 25)), ("07/07/2024", date(2024, 7, 7))],
)
def test_parse_date_takes_slash_order_from_the_number_that_cannot_be_a_month(raw: str, expected: date) -> None:
    assert cleaning.parse_date(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("05/03/2024", "ambiguous"),
        ("2024-02-30", "not a real date"),
        ("31.04.2024", "not a real date"),
        ("13/13/2024", "not a real date"),
        ("5/3/24", "unrecognised"),
        ("next tuesday", "unrecognised"),
        ("5 Smarch 2024", "unknown month"),
    ],
)
def test_parse_date_refuses_ambiguous_impossible_and_unknown_dates(raw: str, reason: str) -> None:
    error = _error(cleaning.parse_date, raw, field="birth_date")
    assert error.field == "birth_date"
    assert reason in error.message


def test_parse_date_missing_is_none() -> None:
    assert [cleaning.parse_date(raw) for raw in (None, NAN, pd.NaT, "", " ")] == [None] * 5


def test_parse_birth_date_refuses_future_and_pre_1900_dates() -> None:
    today = date(2025, 6, 1)
    assert cleaning.parse_birth_date("1990-01-31", today=today) == date(1990, 1, 31)
    assert "future" in _error(cleaning.parse_birth_date, "2025-06-02", today=today).message
    assert "before 1900" in _error(cleaning.parse_birth_date, "1899-12-31", today=today).message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-03-05T10:20:30Z", datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC)),
        ("2024-03-05 18:20:30+08:00", datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC)),
        ("2024-03-05T23:30:00-05:00", datetime(2024, 3, 6, 4, 30, tzinfo=UTC)),
        ("2024-03-05 10:20:30.5", datetime(2024, 3, 5, 10, 20, 30, 500000, tzinfo=UTC)),
        ("2024/3/5 3:20 pm +0800", datetime(2024, 3, 5, 7, 20, tzinfo=UTC)),
        ("2024年3月5日 10:20", datetime(2024, 3, 5, 10, 20, tzinfo=UTC)),
        ("2024-03-05", datetime(2024, 3, 5, tzinfo=UTC)),
        ("20240305", datetime(2024, 3, 5, tzinfo=UTC)),
        (date(2024, 3, 5), datetime(2024, 3, 5, tzinfo=UTC)),
        (datetime(2024, 3, 5, 10, 20), datetime(2024, 3, 5, 10, 20, tzinfo=UTC)),
        (pd.Timestamp("2024-03-05 18:20", tz="Asia/Shanghai"), datetime(2024, 3, 5, 10, 20, tzinfo=UTC)),
        (1709634000, datetime(2024, 3, 5, 10, 20, tzinfo=UTC)),
        (1709634000.25, datetime(2024, 3, 5, 10, 20, 0, 250000, tzinfo=UTC)),
        (1709634000123, datetime(2024, 3, 5, 10, 20, 0, 123000, tzinfo=UTC)),
        ("1709634000", datetime(2024, 3, 5, 10, 20, tzinfo=UTC)),
        (Decimal("1709634000.5"), datetime(2024, 3, 5, 10, 20, 0, 500000, tzinfo=UTC)),
    ],
)
def test_parse_datetime_gives_aware_utc(raw: object, expected: datetime) -> None:
    parsed = cleaning.parse_datetime(raw)
    assert parsed == expected
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(0)
    assert type(parsed) is datetime


@pytest.mark.parametrize("raw", ["2024-02-30 10:00", "2024-03-05 25:00", "soon", 10**20, float("inf"), True])
def test_parse_datetime_refuses_unreadable_values_naming_the_field(raw: object) -> None:
    assert _error(cleaning.parse_datetime, raw, field="consent_email_at").field == "consent_email_at"


# --- vocabularies ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[(spelling, "female") for spelling in ["F", "female", "Woman", "w", "女", "女性", " 女士 "]],
        *[(spelling, "male") for spelling in ["M", "male", "MAN", "男", "男性", "先生"]],
        *[(spelling, "other") for spelling in ["other", "Non-Binary", "nonbinary", "其他", "其它"]],
        *[(spelling, "unknown") for spelling in ["unknown", "", "  ", "未知", "Prefer not to say", "N/A", "保密"]],
    ],
)
def test_normalise_gender_maps_english_and_chinese_spellings(raw: str, expected: str) -> None:
    assert cleaning.normalise_gender(raw) == expected


def test_normalise_gender_missing_is_none_and_unknown_spelling_lists_the_vocabulary() -> None:
    assert cleaning.normalise_gender(None) is None
    error = _error(cleaning.normalise_gender, "alien")
    assert error.field == "gender"
    assert "female, male, other, unknown" in error.message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[(spelling, "high_school") for spelling in ["高中", "中专", "High School", "highschool"]],
        *[(spelling, "associate") for spelling in ["大专", "专科", "Associate degree", "junior college"]],
        *[(spelling, "bachelor") for spelling in ["本科", "学士", "BA", "B.Sc.", "Bachelor's", "college", "本科学历"]],
        *[(spelling, "master") for spelling in ["硕士", "研究生", "MBA", "M.Sc.", "Master's degree", "硕士毕业"]],
        *[(spelling, "doctorate") for spelling in ["博士", "PhD", "Ph.D.", "博士研究生"]],
        *[(spelling, "other") for spelling in ["初中", "other", "其他"]],
    ],
)
def test_normalise_education_maps_english_and_chinese_spellings(raw: str, expected: str) -> None:
    assert cleaning.normalise_education(raw) == expected


def test_normalise_education_rejects_unknown_levels_listing_the_vocabulary() -> None:
    assert cleaning.normalise_education("") is None
    error = _error(cleaning.normalise_education, "kindergarten")
    assert error.field == "education"
    assert "high_school, associate, bachelor, master, doctorate, other" in error.message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("低", "low"),
        ("中", "middle"),
        ("高", "high"),
        ("Medium", "middle"),
        ("very high", "very_high"),
        ("VH", "very_high"),
    ],
)
def test_normalise_income_band_maps_spellings(raw: str, expected: str) -> None:
    assert cleaning.normalise_income_band(raw) == expected


def test_normalise_income_band_rejects_unknown_bands() -> None:
    assert _error(cleaning.normalise_income_band, "rich-ish").field == "income_band"


@pytest.mark.parametrize(
    ("income", "band"),
    [
        ("0", "low"),
        ("24999.99", "low"),
        ("25000", "middle"),
        ("74999.99", "middle"),
        ("75000", "high"),
        ("199999.99", "high"),
        ("200000", "very_high"),
        ("5000000", "very_high"),
    ],
)
def test_income_band_for_uses_documented_thresholds(income: str, band: str) -> None:
    assert cleaning.income_band_for(Decimal(income)) == band


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("52000", "52000.00"), ("52,000.505", "52000.51"), (80000, "80000.00"), (1234.5, "1234.50"), ("-0", "0.00")],
)
def test_normalise_income_rounds_to_cents(raw: object, expected: str) -> None:
    assert cleaning.normalise_income(raw) == Decimal(expected)


@pytest.mark.parametrize("raw", ["12,50", "¥120000", "-5", "lots", float("inf"), True, 10**14])
def test_normalise_income_rejects_non_amounts(raw: object) -> None:
    assert _error(cleaning.normalise_income, raw).field == "income"


# --- places ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[(spelling, "CN") for spelling in ["China", "中国", "PRC", "cn", "CHN", "People's Republic of China"]],
        *[(spelling, "US") for spelling in ["United States", "USA", "U.S.A.", "us", "美国"]],
        *[(spelling, "GB") for spelling in ["United Kingdom", "UK", "GB", "Great Britain", "英国", "england"]],
        ("the Netherlands", "NL"),
        ("香港", "HK"),
        ("fr", "FR"),
        ("ZW", "ZW"),
        ("atlantis", "Atlantis"),
        ("NEW ATLANTIS", "New Atlantis"),
        ("Côte d'Ivoire", "Côte d'Ivoire"),
        ("冰岛", "冰岛"),
    ],
)
def test_normalise_country_gives_alpha2_or_keeps_unknown_names(raw: str, expected: str) -> None:
    assert cleaning.normalise_country(raw) == expected


def test_normalise_country_rejects_unknown_two_letter_codes() -> None:
    assert _error(cleaning.normalise_country, "XX").field == "country"


@pytest.mark.parametrize("raw", ["Shanghai", "shanghai", "SHANGHAI", "上海", "上海市", " 上海市 ", "Shanghai City"])
def test_normalise_city_stores_one_canonical_form_per_chinese_city(raw: str) -> None:
    assert cleaning.normalise_city(raw) == "Shanghai"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("北京市", "Beijing"),
        ("Peking", "Beijing"),
        ("xian", "Xi'an"),
        ("西安市", "Xi'an"),
        ("廣州", "Guangzhou"),
        ("温州市", "温州"),
        ("沙市", "沙市"),
        ("new york", "New York"),
        ("LOS ANGELES", "Los Angeles"),
        ("winston-salem", "Winston-Salem"),
        ("São Paulo", "São Paulo"),
        ("McAllen", "McAllen"),
    ],
)
def test_normalise_city_strips_shi_and_title_cases_shouted_names(raw: str, expected: str) -> None:
    assert cleaning.normalise_city(raw) == expected


# --- tags and attributes --------------------------------------------------------------------------------


def test_normalise_tags_trims_lowercases_dedupes_and_sorts() -> None:
    assert cleaning.normalise_tags([" VIP", "vip", "New  Customer", "", "北京", "ＶＩＰ"]) == [
        "new customer",
        "vip",
        "北京",
    ]
    assert cleaning.normalise_tags("vip, gold；新客户、loyal|vip") == ["gold", "loyal", "vip", "新客户"]
    assert cleaning.normalise_tags(None) == []


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (["x" * 65], "over 64"),
        ([str(n) for n in range(51)], "at most 50"),
        (["ok", 7], "must be text"),
        ({"a": 1}, "list"),
    ],
)
def test_normalise_tags_refuses_rather_than_truncates(raw: object, reason: str) -> None:
    error = _error(cleaning.normalise_tags, raw)
    assert error.field == "tags"
    assert reason in error.message


def test_normalise_tags_accepts_exactly_the_limits() -> None:
    assert cleaning.normalise_tags(["x" * 64]) == ["x" * 64]
    assert len(cleaning.normalise_tags([f"t{n:02d}" for n in range(50)])) == 50


def test_normalise_attributes_cleans_keys_and_text_values() -> None:
    raw = {" 会员等级 ": " 金卡 ", "visits": 3, "nested": {"k": " v "}}
    assert cleaning.normalise_attributes(raw) == {"会员等级": "金卡", "visits": 3, "nested": {"k": " v "}}
    assert cleaning.normalise_attributes('{"loyalty_no": "A-1"}') == {"loyalty_no": "A-1"}
    assert cleaning.normalise_attributes(None) == {}


@pytest.mark.parametrize(
    ("raw", "loc"),
    [
        ("not json", "attributes"),
        ([1, 2], "attributes"),
        ({"a": 1, " a ": 2}, "attributes"),
        ({"score": NAN}, "attributes.score"),
    ],
)
def test_normalise_attributes_errors_locate_the_key(raw: object, loc: str) -> None:
    assert _error(cleaning.normalise_attributes, raw).field == loc


# --- whole records --------------------------------------------------------------------------------------


def test_clean_customer_normalises_every_field() -> None:
    cleaned, issues = cleaning.clean_customer(
        {
            "given_name": " 伟 ",
            "family_name": "张",
            "email": " Zhang.Wei@QQ.com",
            "phone": "138-1234-5678",
            "gender": "男",
            "birth_date": "1990年3月5日",
            "income": "80,000",
            "occupation": " 工程师 ",
            "education": "硕士",
            "country": "中国",
            "region": " 广东省 ",
            "city": "深圳市",
            "address": "南山区  科技园\n1号",
            "tags": "VIP, 新客户",
            "attributes": {"会员等级": "金卡"},
        },
        default_region="CN",
    )
    assert issues == []
    assert cleaned == {
        "given_name": "伟",
        "family_name": "张",
        "email": "zhang.wei@qq.com",
        "phone": "+8613812345678",
        "gender": "male",
        "birth_date": date(1990, 3, 5),
        "income": Decimal("80000.00"),
        "income_band": "high",
        "occupation": "工程师",
        "education": "master",
        "country": "CN",
        "region": "广东省",
        "city": "Shenzhen",
        "address": "南山区 科技园 1号",
        "tags": ["vip", "新客户"],
        "attributes": {"会员等级": "金卡"},
    }


def test_clean_customer_collects_all_field_errors_in_model_order() -> None:
    cleaned, issues = cleaning.clean_customer(
        {
            "attributes": {"score": NAN},
            "gender": "alien",
            "email": "not-an-email",
            "birth_date": "05/03/1990",
            "given_name": "Ann",
            "tags": ["x" * 65],
        },
        default_region="CN",
    )
    assert [issue.loc for issue in issues] == ["email", "gender", "birth_date", "tags", "attributes.score"]
    assert all(issue.msg for issue in issues)
    # Failed fields are left out rather than stored as None.
    assert cleaned == {"given_name": "Ann"}


def test_clean_customer_keeps_partial_updates_partial_and_passes_other_keys_through() -> None:
    cleaned, issues = cleaning.clean_customer(
        {"city": "shanghai", "source": "shop", "external_id": " 42 "}, default_region="CN"
    )
    assert issues == []
    assert cleaned == {"city": "Shanghai", "source": "shop", "external_id": " 42 "}


def test_clean_customer_derives_the_income_band_only_when_none_is_given() -> None:
    derived, _ = cleaning.clean_customer({"income": 30000}, default_region="CN")
    assert derived["income_band"] == "middle"
    given_band, _ = cleaning.clean_customer({"income": 30000, "income_band": "高"}, default_region="CN")
    assert given_band["income_band"] == "high"
    bad_band, issues = cleaning.clean_customer({"income": 30000, "income_band": "??"}, default_region="CN")
    assert "income_band" not in bad_band
    assert [issue.loc for issue in issues] == ["income_band"]


def test_clean_customer_reads_phones_in_the_customers_country_then_the_default_region() -> None:
    uk, _ = cleaning.clean_customer({"phone": "020 7946 0958", "country": "UK"}, default_region="CN")
    assert uk["phone"] == "+442079460958"
    abroad, _ = cleaning.clean_customer({"phone": "138 1234 5678", "country": "US"}, default_region="CN")
    assert abroad["phone"] == "+8613812345678"
    _, issues = cleaning.clean_customer({"phone": "12345", "country": "US"}, default_region="CN")
    assert issues[0].loc == "phone"
    assert "US or CN" in issues[0].msg


def test_clean_customer_refuses_an_unknown_default_region() -> None:
    with pytest.raises(ValueError, match="unknown phone region"):
        cleaning.clean_customer({}, default_region="Mars")


# --- frames ---------------------------------------------------------------------------------------------

# Realistic messy values per column, English and Chinese, valid and invalid, and every missing marker.
MESSY: dict[str, list[Any]] = {
    "given_name": [" 伟 ", "ＪＯＨＮ", "Mary\u00a0Ann", "", None, NAN, "x" * 201, 12],
    "family_name": ["张", " smith ", "O'Brien", None],
    "email": ["John.Doe@Example.com", " 张三＠例子.中国 ", "WANG@qq.COM", "bad@", "", None, "a@b"],
    "phone": [
        "+86 138 1234 5678",
        "138-1234-5678",
        "(415) 555-0123",
        "0044 20 7946 0958",
        "020 7946 0958",
        "１３８１２３４５６７８",
        "12345",
        13812345678,
        None,
    ],
    "gender": ["F", "女", "male", "", "alien", None, "Prefer not to say", "男性"],
    "birth_date": [
        "1990/3/5",
        "05/03/1990",
        "25.12.1985",
        "1985年12月25日",
        "19851225",
        "2999-01-01",
        "1850-01-01",
        "2023-02-30",
        None,
    ],
    "income": ["52,000", 80000, 120000.5, "-5", "abc", None, Decimal("199999.995"), 25000],
    "income_band": ["低", "High", None, "bogus", ""],
    "occupation": ["  Engineer ", "工程师", None],
    "education": ["本科", "MBA", "Ph.D.", "kindergarten", None, "大专"],
    "country": ["China", "中国", "UK", "us", "XX", "atlantis", None, "Germany", "CN"],
    "region": ["广东省", " california ", None],
    "city": ["上海市", "shanghai", "new york", "沙市", None, "温州市", "BEIJING"],
    "address": ["上海市浦东新区  世纪大道 100 号", "1 Main St\nApt 2", None],
    "tags": ["vip, gold", ["VIP", " new "], [], None, ["x" * 65], ("b", "a"), "新客户；vip"],
    "attributes": [{"level": " gold "}, '{"a": 1}', "not json", None, {"x": NAN}],
    "source": ["shop", "crm"],
}


def _cell(value: object) -> object:
    return None if cleaning.text.is_missing(value) else value


def _assert_frame_matches_records(df: pd.DataFrame) -> None:
    clean, rejected = cleaning.clean_customers_frame(df, default_region="CN")
    assert len(clean) + len(rejected) == len(df)
    assert sorted([*clean.index, *rejected.index]) == sorted(df.index)
    clean_rows, reasons = clean.to_dict("index"), rejected["reasons"].to_dict()
    for index, raw in df.to_dict("index").items():
        expected, issues = cleaning.clean_customer({str(key): value for key, value in raw.items()}, default_region="CN")
        if issues:
            assert reasons[index] == issues, raw
            continue
        row = {str(column): _cell(value) for column, value in clean_rows[index].items()}
        for column in row.keys() | expected.keys():
            # A derived income_band column is None on rows that had no income to derive it from.
            assert row.get(column) == _cell(expected.get(column)), (column, raw)


def _messy_frame(rows: int, *, seed: int, invalid_share: float) -> pd.DataFrame:
    """Rows drawn from `MESSY`, each cell an invalid value with probability `invalid_share`."""
    rng = np.random.default_rng(seed)
    columns: dict[str, list[Any]] = {}
    for field, pool in MESSY.items():
        fails = [bool(cleaning.clean_customer({field: value}, default_region="CN")[1]) for value in pool]
        fine = [value for value, failed in zip(pool, fails, strict=True) if not failed]
        broken = [value for value, failed in zip(pool, fails, strict=True) if failed] or fine
        sources = [broken if rng.random() < invalid_share else fine for _ in range(rows)]
        columns[field] = [source[rng.integers(0, len(source))] for source in sources]
    return pd.DataFrame(columns, index=pd.RangeIndex(100, 100 + rows))


@pytest.mark.parametrize("invalid_share", [0.02, 0.3])
def test_frame_cleaning_equals_row_cleaning_on_a_messy_sample(invalid_share: float) -> None:
    df = _messy_frame(400, seed=42, invalid_share=invalid_share)
    _assert_frame_matches_records(df)


def test_frame_cleaning_equals_row_cleaning_with_typed_columns() -> None:
    # The dtypes pandas gives a CSV read: strings as `str`, numbers as int64/float64 with NaN holes.
    df = pd.DataFrame(
        {
            "email": pd.Series(["A@Example.com", None, "a@example.com"], dtype="str"),
            "phone": pd.Series([13812345678, 13912345678, 13812345678], dtype="int64"),
            "income": pd.Series([52000.0, NAN, 1e6], dtype="float64"),
            "birth_date": pd.Series(["1990-03-05", None, "1985-12-25"], dtype="datetime64[s]"),
            "gender": pd.Series(["女", "男", None], dtype="category"),
        }
    )
    _assert_frame_matches_records(df)


def test_frame_cleaning_separates_rejected_rows_with_reasons_and_raw_values() -> None:
    df = pd.DataFrame(
        {"email": ["ok@example.com", "broken", None], "gender": ["F", "alien", "男"], "income": [30000, 1, None]},
        index=["a", "b", "c"],
    )
    clean, rejected = cleaning.clean_customers_frame(df, default_region="CN")
    assert list(clean.index) == ["a", "c"]
    assert clean.to_dict("index") == {
        "a": {"email": "ok@example.com", "gender": "female", "income": Decimal("30000.00"), "income_band": "middle"},
        "c": {"email": None, "gender": "male", "income": None, "income_band": None},
    }
    assert rejected["email"].to_dict() == {"b": "broken"}
    assert [issue.loc for issue in rejected["reasons"].to_dict()["b"]] == ["email", "gender"]


def test_frame_cleaning_gives_each_row_its_own_tag_list() -> None:
    clean, _ = cleaning.clean_customers_frame(pd.DataFrame({"tags": ["vip, gold", "vip, gold"]}), default_region="CN")
    first, second = clean["tags"]
    assert first == second == ["gold", "vip"]
    assert first is not second


def test_frame_cleaning_of_an_empty_frame_and_a_reasons_clash() -> None:
    clean, rejected = cleaning.clean_customers_frame(
        pd.DataFrame({"email": pd.Series([], dtype="str")}), default_region="US"
    )
    assert clean.empty
    assert rejected.empty
    assert "reasons" in rejected.columns
    with pytest.raises(ValueError, match="reasons"):
        cleaning.clean_customers_frame(pd.DataFrame({"reasons": []}), default_region="CN")


def _row_values(field: str) -> st.SearchStrategy[Any]:
    text = st.text(st.sampled_from("aZé 女上海市 -.,@１\u3000\t"), max_size=12)
    return st.one_of(st.sampled_from(MESSY[field]), text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.fixed_dictionaries({field: _row_values(field) for field in MESSY}), min_size=1, max_size=12),
    fields=st.sets(st.sampled_from(sorted(MESSY)), min_size=1),
)
def test_frame_cleaning_equals_row_cleaning_on_generated_rows(rows: list[dict[str, Any]], fields: set[str]) -> None:
    _assert_frame_matches_records(pd.DataFrame([{key: row[key] for key in sorted(fields)} for row in rows]))


# --- idempotence ----------------------------------------------------------------------------------------


def _assert_idempotent(normalise: Any, value: object, **kwargs: Any) -> None:
    try:
        once = normalise(value, **kwargs)
    except cleaning.CleaningError:
        return
    assert normalise(once, **kwargs) == once


WEIRD_TEXT = st.text(
    st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(["\u3000", "\u00a0", "\u200b", "\ufeff", "\u0301", "Ｆ", "１", "市", "上", "海", "-", " "]),
    ),
    max_size=30,
)


@given(WEIRD_TEXT)
def test_clean_text_is_idempotent(value: str) -> None:
    _assert_idempotent(cleaning.clean_text, value)


@given(st.one_of(st.emails(), st.sampled_from(MESSY["email"]), st.text(max_size=20).map(lambda s: f"{s}@Example.COM")))
def test_normalise_email_is_idempotent(value: object) -> None:
    _assert_idempotent(cleaning.normalise_email, value)


_PHONE_REGIONS = ["CN", "US", "GB", "DE", "JP", "HK", "AU", "IN", "BR", "FR"]
_PHONE_FORMATS = [
    phonenumbers.PhoneNumberFormat.E164,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.NATIONAL,
    phonenumbers.PhoneNumberFormat.RFC3966,
]


@st.composite
def _phones(draw: st.DrawFn) -> tuple[str, str]:
    region = draw(st.sampled_from(_PHONE_REGIONS))
    kind = draw(st.sampled_from([phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]))
    example = phonenumbers.example_number_for_type(region, kind)
    assert example is not None
    style = draw(st.sampled_from(_PHONE_FORMATS))
    written = phonenumbers.format_number(example, style)
    noise = draw(st.sampled_from(["", " ", "  ", "\u3000"]))
    return noise + written + noise, draw(st.sampled_from(_PHONE_REGIONS))


@given(_phones())
def test_normalise_phone_is_idempotent(case: tuple[str, str]) -> None:
    written, region = case
    _assert_idempotent(cleaning.normalise_phone, written, default_region=region)


@given(st.one_of(st.lists(WEIRD_TEXT, max_size=8), WEIRD_TEXT))
def test_normalise_tags_is_idempotent(value: object) -> None:
    _assert_idempotent(cleaning.normalise_tags, value)


_CITY_SPELLINGS = [
    spelling for names in cleaning.place_names.CHINESE_CITIES.items() for spelling in (names[0], *names[1])
]


@given(st.one_of(st.sampled_from(_CITY_SPELLINGS), WEIRD_TEXT, st.sampled_from(MESSY["city"])))
def test_normalise_city_is_idempotent(value: object) -> None:
    _assert_idempotent(cleaning.normalise_city, value)


@given(st.one_of(st.sampled_from(["F", "女", "Prefer not to say", "", "NB", "男性", *cleaning.GENDERS]), WEIRD_TEXT))
def test_normalise_gender_is_idempotent(value: object) -> None:
    _assert_idempotent(cleaning.normalise_gender, value)


@given(st.one_of(st.sampled_from(MESSY["country"]), WEIRD_TEXT))
def test_normalise_country_is_idempotent(value: object) -> None:
    _assert_idempotent(cleaning.normalise_country, value)


def test_is_missing_agrees_with_pandas() -> None:
    values: list[Any] = [None, NAN, pd.NA, pd.NaT, Decimal("NaN"), np.datetime64("NaT"), "", 0, [], {}]
    assert [cleaning.text.is_missing(value) for value in values] == [True] * 6 + [False] * 4
    assert pd.Series(values, dtype=object).isna().tolist() == [True] * 6 + [False] * 4


# --- batches: the batch API cleans records with the same fields as one frame ------------------------------


def test_batch_profile_cleaning_equals_per_record_cleaning() -> None:
    """`sync.clean_profiles` groups records by their fields and cleans large groups as frames; every
    record's outcome equals `sync.clean_profile` of that record alone, partial records and errors included."""
    from services.customers import sync

    frame = _messy_frame(300, seed=7, invalid_share=0.1).drop(columns=["source"])
    rows = [{str(key): _cell(value) for key, value in row.items()} for row in frame.to_dict("records")]
    rng = np.random.default_rng(3)
    given: list[dict[str, Any]] = []
    for position, row in enumerate(rows):
        if position % 3 == 0:  # a group of full records with signed_up_at and consents
            record = row | {"signed_up_at": ["2024-01-02 03:04:05", "yesterday", None][position % 9 // 3]}
            given.append(record | {"consents": {"email": True}})
        elif position % 3 == 1:  # a group of partial records (the same subset of fields)
            given.append({key: row[key] for key in ("email", "phone", "city", "income")})
        else:  # small groups of random subsets, cleaned record by record
            keys = [key for key in row if rng.random() < 0.5]
            given.append({key: row[key] for key in keys})
    batched = sync.clean_profiles(given, default_region="CN")
    assert len(batched) == len(given)
    for record, (profile, errors) in zip(given, batched, strict=True):
        expected, expected_errors = sync.clean_profile(record, default_region="CN")
        assert errors == expected_errors, record
        if not expected_errors:
            assert profile is not None
            columns, tags, consents = profile
            expected_columns, expected_tags, expected_consents = expected
            assert {k: _cell(v) for k, v in columns.items()} == {k: _cell(v) for k, v in expected_columns.items()}
            assert (tags, consents) == (expected_tags, expected_consents), record
