"""Names, e-mail addresses, phone numbers and gender labels of synthetic customers, with the mess
real source systems send: missing values, odd case and stray spaces, mixed phone formats and
gender spellings such as "F", "Male" or "女".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import arrays, markets, names

EMAIL_MISSING = 0.05
EMAIL_MESSY = 0.03
PHONE_MISSING = 0.05
GB_MOBILE_SHARE = 0.15
GENDER_MESSY = 0.15
GENDER_MISSING = 0.01


@dataclass(frozen=True)
class Contacts:
    """Customer file columns about the person, one value per customer (pyarrow string arrays)."""

    given_name: pa.Array
    family_name: pa.Array
    email: pa.Array
    phone: pa.Array
    gender: pa.Array


def build_contacts(
    rng: np.random.Generator,
    *,
    market: np.ndarray,
    city: np.ndarray,
    gender: np.ndarray,
    index: np.ndarray,
    total: int,
) -> Contacts:
    """Return names, e-mails, phones and gender labels for customers with these markets, cities
    (indices into markets.CITIES), genders (0 female, 1 male, 2 unknown) and global indices (which
    make e-mail addresses unique)."""
    n = len(market)
    chinese = market == markets.CN
    female = (gender == 0) | ((gender == 2) & (rng.random(n) < 0.5))

    cn_weights = names.weights(np.array([s[2] for s in names.CN_SURNAMES]))
    n_cn_sur = len(names.CN_SURNAMES)
    family = np.where(
        chinese,
        rng.choice(n_cn_sur, size=n, p=cn_weights),
        n_cn_sur + rng.choice(len(names.EN_SURNAMES), size=n, p=names.zipf_weights(len(names.EN_SURNAMES))),
    )
    given_lists = (names.CN_GIVEN_FEMALE, names.CN_GIVEN_MALE, names.EN_GIVEN_FEMALE, names.EN_GIVEN_MALE)
    offsets = np.cumsum([0, *(len(x) for x in given_lists)])
    group = np.where(chinese, 0, 2) + np.where(female, 0, 1)
    sizes = offsets[1:] - offsets[:-1]
    # Log-uniform rank within the group's list, floor((size + 1) ** u) - 1: the first names are the
    # most common ones.
    rank = np.floor((sizes[group] + 1.0) ** rng.random(n)).astype(np.int64) - 1
    given = offsets[group] + np.clip(rank, 0, sizes[group] - 1)

    family_text = [s[0] for s in names.CN_SURNAMES] + list(names.EN_SURNAMES)
    family_ascii = [s[1] for s in names.CN_SURNAMES] + [s.lower() for s in names.EN_SURNAMES]
    given_text = [g[0] for g in given_lists[0] + given_lists[1]] + list(given_lists[2] + given_lists[3])
    given_ascii = [g[1] for g in given_lists[0] + given_lists[1]] + [g.lower() for g in given_lists[2] + given_lists[3]]

    return Contacts(
        given_name=arrays.take(given_text, given),
        family_name=arrays.take(family_text, family),
        email=_emails(rng, market, arrays.take(given_ascii, given), arrays.take(family_ascii, family), index, total),
        phone=_phones(rng, market, city),
        gender=_gender_labels(rng, market, gender),
    )


def _emails(
    rng: np.random.Generator, market: np.ndarray, given: pa.Array, family: pa.Array, index: np.ndarray, total: int
) -> pa.Array:
    """Return e-mail addresses, unique per customer, ~5% missing and ~3% with odd case or spaces."""
    n = len(market)
    # A bijection of [0, space) scrambles the customer index into a number that looks personal
    # but never repeats, so two customers never share an address.
    space = 10 ** max(3, len(str(max(total - 1, 1))))
    number = pa.array((index * 7919 + 4_271) % space).cast(pa.string())
    initial = pc.utf8_slice_codeunits(given, 0, 1)
    local = pc.choose(
        pa.array(rng.choice(4, size=n, p=[0.4, 0.25, 0.2, 0.15])),
        arrays.join(given, ".", family, number),
        arrays.join(family, given, number),
        arrays.join(initial, family, number),
        arrays.join(given, "_", family, number),
    )
    domains = [d for m in markets.MARKETS for d, _ in m.email_domains]
    domain = np.empty(n, dtype=np.int64)
    start = 0
    for m, info in enumerate(markets.MARKETS):
        rows = np.flatnonzero(market == m)
        p = names.weights(np.array([w for _, w in info.email_domains]))
        domain[rows] = start + rng.choice(len(p), size=len(rows), p=p)
        start += len(p)
    email = arrays.join(local, "@", arrays.take(domains, domain))
    messy = pc.choose(
        pa.array(rng.integers(0, 4, n)),
        pc.utf8_upper(email),
        pc.utf8_capitalize(email),
        arrays.join("  ", email),
        arrays.join(" ", pc.utf8_capitalize(email), " "),
    )
    u = rng.random(n)
    email = arrays.where(u < EMAIL_MESSY, messy, email)
    return arrays.nullify(email, u > 1 - EMAIL_MISSING)


def _phones(rng: np.random.Generator, market: np.ndarray, city: np.ndarray) -> pa.Array:
    """Return phone numbers in the formats people type: CN mobiles for Chinese customers, US numbers
    with the city's area code, UK landlines of the city (85%) or mobiles; ~5% missing.

    All come from ranges reserved for drama. libphonenumber accepts all of them as valid except
    the UK mobiles (07700 900xxx): possible but not valid, which a cleaner should notice."""
    n = len(market)
    prefix = pa.array(np.array(markets.CN_MOBILE_PREFIXES)[rng.integers(0, len(markets.CN_MOBILE_PREFIXES), n)])
    prefix = prefix.cast(pa.string())
    body = arrays.digits(rng.integers(0, 10**8, n), 8)
    head, tail = pc.utf8_slice_codeunits(body, 0, 4), pc.utf8_slice_codeunits(body, 4, 8)
    area = arrays.take([str(markets.US_AREA_CODES.get(c[1], 0)) for c in markets.CITIES], city)
    line = arrays.digits(rng.integers(100, 200, n), 4)  # 555-0100 .. 555-0199
    landline = [markets.GB_DRAMA_LANDLINES.get(c[1], ("", "", "")) for c in markets.CITIES]
    gb_area, exchange = arrays.take([x[0] for x in landline], city), arrays.take([x[1] for x in landline], city)
    subscriber = arrays.join(arrays.take([x[2] for x in landline], city), arrays.digits(rng.integers(0, 1000, n), 3))
    mobile = arrays.digits(rng.integers(0, 1000, n), 3)  # 07700 900000 .. 900999
    formats = (
        arrays.join(prefix, " ", head, " ", tail),  # 138 1234 5678
        arrays.join("+86 ", prefix, body),  # +86 13812345678
        arrays.join(prefix, body),  # 13812345678
        arrays.join("+86-", prefix, "-", head, "-", tail),  # +86-138-1234-5678
        arrays.join("(", area, ") 555-", line),  # (415) 555-0123
        arrays.join("+1 ", area, "-555-", line),  # +1 415-555-0123
        arrays.join(area, ".555.", line),  # 415.555.0123
        arrays.join(area, "555", line),  # 4155550123
        arrays.join("0", gb_area, " ", exchange, " ", subscriber),  # 020 7946 0123
        arrays.join("+44 ", gb_area, " ", exchange, " ", subscriber),  # +44 20 7946 0123
        arrays.join("0", gb_area, exchange, subscriber),  # 02079460123
        arrays.join("07700 900", mobile),  # 07700 900123
    )
    style = rng.choice(4, size=n, p=[0.35, 0.25, 0.3, 0.1])  # CN and US: one of four formats
    gb_style = np.where(rng.random(n) < GB_MOBILE_SHARE, 3, rng.integers(0, 3, n))  # GB: landline or mobile
    style = np.where(market == markets.GB, gb_style, style)
    phone = pc.choose(pa.array(market.astype(np.int64) * 4 + style), *formats)
    return arrays.nullify(phone, rng.random(n) < PHONE_MISSING)


def _gender_labels(rng: np.random.Generator, market: np.ndarray, gender: np.ndarray) -> pa.Array:
    """Return gender labels: mostly female/male/unknown, ~15% messy spellings, ~1% missing."""
    n = len(market)
    canonical = list(markets.GENDER_CANONICAL)
    messy_tables = (markets.GENDER_MESSY_EN, markets.GENDER_MESSY_ZH)
    flat = canonical + [label for table in messy_tables for row in table for label in row]
    per_table = 3 * 5
    language = (market == markets.CN).astype(np.int64)
    messy_index = len(canonical) + language * per_table + gender * 5 + rng.integers(0, 5, n)
    u = rng.random(n)
    label = arrays.take(flat, np.where(u < GENDER_MESSY, messy_index, gender))
    return arrays.nullify(label, u > 1 - GENDER_MISSING)
