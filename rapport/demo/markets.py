"""The three markets of the demo data (China, the United States, the United Kingdom) and what
differs between them: cities, currency, income levels, e-mail domains, channels and labels.

Market codes are small integers (CN=0, US=1, GB=2) so per-customer arrays stay int8.
"""

from __future__ import annotations

from dataclasses import dataclass

CN, US, GB = 0, 1, 2


@dataclass(frozen=True)
class Market:
    """Static facts about one market; `fx` converts the catalogue's USD prices to `currency`."""

    country: str
    currency: str
    fx: float
    share: float
    language: str
    median_income: float  # annual, in `currency`
    email_domains: tuple[tuple[str, float], ...]
    channel_weights: tuple[float, float, float, float]  # web, app, store, phone


MARKETS: tuple[Market, ...] = (
    Market(
        country="CN",
        currency="CNY",
        fx=7.2,
        share=0.5,
        language="zh",
        median_income=90_000.0,
        email_domains=(("qq.com", 0.4), ("163.com", 0.25), ("126.com", 0.12), ("gmail.com", 0.08),
                       ("sina.com", 0.08), ("foxmail.com", 0.07)),
        channel_weights=(0.30, 0.50, 0.15, 0.05),
    ),
    Market(
        country="US",
        currency="USD",
        fx=1.0,
        share=0.3,
        language="en",
        median_income=62_000.0,
        email_domains=(("gmail.com", 0.45), ("yahoo.com", 0.15), ("outlook.com", 0.15),
                       ("icloud.com", 0.15), ("aol.com", 0.05), ("hotmail.com", 0.05)),
        channel_weights=(0.45, 0.25, 0.25, 0.05),
    ),
    Market(
        country="GB",
        currency="GBP",
        fx=0.79,
        share=0.2,
        language="en",
        median_income=35_000.0,
        email_domains=(("gmail.com", 0.4), ("hotmail.co.uk", 0.2), ("outlook.com", 0.15),
                       ("btinternet.com", 0.1), ("yahoo.co.uk", 0.1), ("icloud.com", 0.05)),
        channel_weights=(0.45, 0.25, 0.25, 0.05),
    ),
)  # fmt: skip

CHANNELS: tuple[str, ...] = ("web", "app", "store", "phone")

# (market, city, region, population weight, UTC offset in hours; standard time, no DST)
CITIES: tuple[tuple[int, str, str, float, int], ...] = (
    (CN, "Shanghai", "Shanghai", 24.9, 8), (CN, "Beijing", "Beijing", 21.9, 8),
    (CN, "Guangzhou", "Guangdong", 18.7, 8), (CN, "Shenzhen", "Guangdong", 17.6, 8),
    (CN, "Chengdu", "Sichuan", 16.3, 8), (CN, "Chongqing", "Chongqing", 15.0, 8),
    (CN, "Hangzhou", "Zhejiang", 12.2, 8), (CN, "Wuhan", "Hubei", 12.3, 8),
    (CN, "Xi'an", "Shaanxi", 12.9, 8), (CN, "Tianjin", "Tianjin", 13.9, 8),
    (CN, "Suzhou", "Jiangsu", 12.7, 8), (CN, "Nanjing", "Jiangsu", 9.3, 8),
    (CN, "Changsha", "Hunan", 10.0, 8), (CN, "Zhengzhou", "Henan", 12.6, 8),
    (CN, "Qingdao", "Shandong", 10.1, 8), (CN, "Shenyang", "Liaoning", 9.1, 8),
    (CN, "Dalian", "Liaoning", 7.4, 8), (CN, "Xiamen", "Fujian", 5.2, 8),
    (CN, "Kunming", "Yunnan", 8.5, 8), (CN, "Harbin", "Heilongjiang", 10.0, 8),
    (US, "New York", "New York", 8.3, -5), (US, "Los Angeles", "California", 3.9, -8),
    (US, "Chicago", "Illinois", 2.7, -6), (US, "Houston", "Texas", 2.3, -6),
    (US, "Phoenix", "Arizona", 1.6, -7), (US, "Philadelphia", "Pennsylvania", 1.6, -5),
    (US, "San Antonio", "Texas", 1.5, -6), (US, "San Diego", "California", 1.4, -8),
    (US, "Dallas", "Texas", 1.3, -6), (US, "Austin", "Texas", 1.0, -6),
    (US, "San Francisco", "California", 0.8, -8), (US, "Seattle", "Washington", 0.75, -8),
    (US, "Denver", "Colorado", 0.7, -7), (US, "Boston", "Massachusetts", 0.65, -5),
    (US, "Atlanta", "Georgia", 0.5, -5), (US, "Miami", "Florida", 0.45, -5),
    (GB, "London", "England", 8.9, 0), (GB, "Birmingham", "England", 1.1, 0),
    (GB, "Manchester", "England", 0.55, 0), (GB, "Leeds", "England", 0.8, 0),
    (GB, "Glasgow", "Scotland", 0.63, 0), (GB, "Edinburgh", "Scotland", 0.53, 0),
    (GB, "Liverpool", "England", 0.5, 0), (GB, "Bristol", "England", 0.47, 0),
    (GB, "Sheffield", "England", 0.58, 0), (GB, "Cardiff", "Wales", 0.36, 0),
    (GB, "Belfast", "Northern Ireland", 0.34, 0), (GB, "Newcastle upon Tyne", "England", 0.3, 0),
)  # fmt: skip

# Phone numbers: CN mobile prefixes are real operator ranges; US and GB numbers come from the ranges
# reserved for drama (555-01xx; Ofcom's 0xx 496 0xxx-style landlines and 07700 900xxx mobiles) so
# no generated number reaches a real person.
CN_MOBILE_PREFIXES: tuple[int, ...] = (
    130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 155, 156, 157, 158, 159, 177, 180, 181,
    182, 186, 187, 188, 189, 199,
)  # fmt: skip
US_AREA_CODES: dict[str, int] = {
    "New York": 212, "Los Angeles": 213, "Chicago": 312, "Houston": 713, "Phoenix": 602, "Philadelphia": 215,
    "San Antonio": 210, "San Diego": 619, "Dallas": 214, "Austin": 512, "San Francisco": 415, "Seattle": 206,
    "Denver": 303, "Boston": 617, "Atlanta": 404, "Miami": 305,
}  # fmt: skip

# GB city -> (area code without the trunk 0, exchange, first subscriber digit) of Ofcom's drama range;
# three random digits complete the number, e.g. 020 7946 0123.
GB_DRAMA_LANDLINES: dict[str, tuple[str, str, str]] = {
    "London": ("20", "7946", "0"), "Birmingham": ("121", "496", "0"), "Manchester": ("161", "496", "0"),
    "Leeds": ("113", "496", "0"), "Glasgow": ("141", "496", "0"), "Edinburgh": ("131", "496", "0"),
    "Liverpool": ("151", "496", "0"), "Bristol": ("117", "496", "0"), "Sheffield": ("114", "496", "0"),
    "Cardiff": ("29", "2018", "0"), "Belfast": ("28", "9649", "6"), "Newcastle upon Tyne": ("191", "498", "0"),
}  # fmt: skip

# (label, income factor, share of working-age adults) - the young are mostly students, the old
# mostly retired (see people.py).
OCCUPATIONS: tuple[tuple[str, float, float], ...] = (
    ("engineer", 1.5, 0.08), ("teacher", 1.0, 0.07), ("nurse", 1.0, 0.05), ("doctor", 2.2, 0.03),
    ("sales", 1.0, 0.10), ("manager", 1.8, 0.08), ("accountant", 1.2, 0.05), ("designer", 1.1, 0.04),
    ("civil servant", 1.1, 0.06), ("self-employed", 1.3, 0.08), ("driver", 0.8, 0.06),
    ("factory worker", 0.7, 0.10), ("chef", 0.8, 0.03), ("lawyer", 2.0, 0.015), ("researcher", 1.3, 0.025),
    ("marketing", 1.2, 0.05), ("homemaker", 0.4, 0.05), ("unemployed", 0.3, 0.04),
    ("student", 0.25, 0.0), ("retired", 0.6, 0.0),
)  # fmt: skip
STUDENT = next(i for i, (label, *_) in enumerate(OCCUPATIONS) if label == "student")
RETIRED = next(i for i, (label, *_) in enumerate(OCCUPATIONS) if label == "retired")

# (canonical label, Chinese spelling, income factor, share among adults)
EDUCATION: tuple[tuple[str, str, float, float], ...] = (
    ("high_school", "高中", 0.8, 0.38),
    ("bachelor", "本科", 1.0, 0.36),
    ("master", "硕士", 1.3, 0.13),
    ("doctorate", "博士", 1.5, 0.03),
    ("other", "其他", 0.85, 0.10),
)

INCOME_BANDS: tuple[str, ...] = ("low", "middle", "high", "very_high")
# Band edges as multiples of the market's median income.
INCOME_BAND_EDGES: tuple[float, ...] = (0.6, 1.6, 3.2)

# Gender spellings: canonical first, then the messy variants a real source system sends.
GENDER_CANONICAL: tuple[str, ...] = ("female", "male", "unknown")
GENDER_MESSY_EN: tuple[tuple[str, ...], ...] = (("F", "Female", "f", "FEMALE", "woman"), ("M", "Male", "m", "MALE", "man"),
                                                ("U", "n/a", "Unknown", "?", "other"))  # fmt: skip
GENDER_MESSY_ZH: tuple[tuple[str, ...], ...] = (("女", "女性", "F", "Female", "女"), ("男", "男性", "M", "Male", "男"),
                                                ("未知", "保密", "U", "n/a", "未知"))  # fmt: skip
