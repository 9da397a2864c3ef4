"""The synthetic CRM data generator: determinism, file formats, and the realism figures measured
back from the written files (not taken from the generator's own bookkeeping)."""

from __future__ import annotations

import math
import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rapport.demo import TABLES, Manifest, generate, iter_frames, iter_tables

pytestmark = pytest.mark.database_independent

CUSTOMERS = 3000
CHUNK = 1000  # several chunks, so ids and counts must continue across chunk boundaries
SEED = 7
START, END = date(2024, 1, 1), date(2025, 12, 31)

COLUMNS = {
    "customers": [
        "source", "external_id", "given_name", "family_name", "email", "phone", "gender", "birth_date",
        "income", "income_band", "occupation", "education", "country", "region", "city", "created_at",
    ],
    "products": ["sku", "name", "category", "brand", "price"],
    "orders": [
        "source", "order_external_id", "customer_external_id", "placed_at", "channel", "currency", "status",
        "sku", "quantity", "unit_price",
    ],
    "interactions": ["source", "customer_external_id", "type", "occurred_at", "properties"],
    "feedback": [
        "source", "external_id", "customer_external_id", "channel", "nps", "csat", "text", "language",
        "occurred_at",
    ],
}  # fmt: skip


def make(directory: Path, *, fmt: str = "csv", seed: int = SEED, customers: int = CUSTOMERS) -> Manifest:
    return generate(directory, customers=customers, seed=seed, fmt=fmt, chunk_customers=CHUNK)  # type: ignore[arg-type]


def read(directory: Path, table: str, fmt: str) -> pd.DataFrame:
    path = directory / f"{table}.{fmt}"
    if fmt == "csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    if fmt == "ndjson":
        return pd.read_json(path, lines=True, dtype=False)
    return pd.read_parquet(path)


@pytest.fixture(scope="module")
def csv_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CSV data set written once for the realism tests."""
    directory = tmp_path_factory.mktemp("demo-csv")
    make(directory)
    return directory


@pytest.fixture(scope="module")
def manifest(csv_dir: Path) -> Manifest:
    return Manifest.read(csv_dir)


@pytest.fixture(scope="module")
def data(csv_dir: Path, manifest: Manifest) -> dict[str, pd.DataFrame]:
    """The CSV data set read back as strings, with parsed time, spend and score columns."""
    frames = {table: read(csv_dir, table, "csv") for table in TABLES}
    orders = frames["orders"]
    orders["at"] = pd.to_datetime(orders["placed_at"], utc=True)
    orders["usd"] = (
        orders["quantity"].astype(int) * orders["unit_price"].astype(float) / orders["currency"].map(manifest.fx)
    )
    frames["feedback"]["nps_score"] = pd.to_numeric(frames["feedback"]["nps"])
    return frames


def last_orders(orders: pd.DataFrame) -> pd.Series:
    return orders.groupby("customer_external_id")["at"].max()


LAPSE_CUTOFF = pd.Timestamp(END, tz="UTC") + pd.Timedelta(days=1) - pd.Timedelta(days=182)


@pytest.mark.parametrize("fmt", ["csv", "ndjson", "parquet"])
def test_same_seed_writes_identical_bytes(tmp_path: Path, fmt: str) -> None:
    make(tmp_path / "a", fmt=fmt, customers=1500)
    make(tmp_path / "b", fmt=fmt, customers=1500)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted([f"{t}.{fmt}" for t in TABLES] + ["manifest.json"])
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_different_seed_writes_different_data(tmp_path: Path) -> None:
    make(tmp_path / "a", customers=1500, seed=1)
    make(tmp_path / "b", customers=1500, seed=2)
    for table in TABLES:
        assert (tmp_path / "a" / f"{table}.csv").read_bytes() != (tmp_path / "b" / f"{table}.csv").read_bytes()


@pytest.mark.parametrize("fmt", ["csv", "ndjson", "parquet"])
def test_every_format_reads_back_with_the_exact_columns(tmp_path: Path, fmt: str) -> None:
    manifest = make(tmp_path, fmt=fmt, customers=1500)
    for table in TABLES:
        frame = read(tmp_path, table, fmt)
        assert list(frame.columns) == COLUMNS[table], table
        assert len(frame) == manifest.counts[table] > 0, table
    assert Manifest.read(tmp_path) == manifest


def test_formats_hold_the_same_values(tmp_path: Path) -> None:
    for fmt in ("csv", "ndjson", "parquet"):
        make(tmp_path / fmt, fmt=fmt, customers=1500)
    csv = read(tmp_path / "csv", "orders", "csv")
    ndjson = read(tmp_path / "ndjson", "orders", "ndjson")
    parquet = read(tmp_path / "parquet", "orders", "parquet")
    assert csv["order_external_id"].tolist() == ndjson["order_external_id"].tolist()
    assert csv["unit_price"].tolist() == ndjson["unit_price"].tolist()  # "12.30": two places everywhere
    assert csv["unit_price"].tolist() == [str(p) for p in parquet["unit_price"]]
    assert csv["placed_at"].tolist() == ndjson["placed_at"].tolist()
    assert pd.to_datetime(csv["placed_at"], utc=True).tolist() == parquet["placed_at"].tolist()
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", t) for t in csv["placed_at"].head(100))


def test_iter_frames_yields_products_then_chunks_in_file_order(tmp_path: Path) -> None:
    manifest = make(tmp_path, customers=2500)
    frames = list(iter_frames(customers=2500, seed=SEED, chunk_customers=CHUNK))
    assert [name for name, _ in frames[:5]] == ["products", "customers", "orders", "interactions", "feedback"]
    for table in TABLES:
        parts = [frame for name, frame in frames if name == table]
        assert sum(len(p) for p in parts) == manifest.counts[table]
        assert list(parts[0].columns) == COLUMNS[table]
    assert max(len(frame) for name, frame in frames if name == "customers") == CHUNK
    orders = pd.concat([frame for name, frame in frames if name == "orders"])
    assert orders["order_external_id"].tolist() == read(tmp_path, "orders", "csv")["order_external_id"].tolist()


def test_invalid_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="customers"):
        make(tmp_path, customers=0)
    with pytest.raises(ValueError, match="fmt"):
        make(tmp_path, fmt="xlsx")
    with pytest.raises(ValueError, match="before"):
        next(iter_tables(start=date(2025, 1, 1), end=date(2024, 1, 1)))


def test_every_reference_resolves(data: dict[str, pd.DataFrame]) -> None:
    customers = set(data["customers"]["external_id"])
    assert data["customers"]["external_id"].is_unique
    assert data["products"]["sku"].is_unique
    assert set(data["orders"]["customer_external_id"]) <= customers
    assert set(data["orders"]["sku"]) <= set(data["products"]["sku"])
    assert set(data["interactions"]["customer_external_id"]) <= customers
    assert set(data["feedback"]["customer_external_id"]) <= customers
    assert data["feedback"]["external_id"].is_unique
    assert not data["orders"].duplicated(["order_external_id", "sku"]).any()


def test_orders_follow_sign_up_and_stay_in_the_date_range(data: dict[str, pd.DataFrame]) -> None:
    orders = data["orders"]
    created = pd.to_datetime(data["customers"].set_index("external_id")["created_at"], utc=True)
    assert (orders["at"] > orders["customer_external_id"].map(created)).all()
    assert orders["at"].min() >= pd.Timestamp(START, tz="UTC")
    assert orders["at"].max() < pd.Timestamp(END, tz="UTC") + pd.Timedelta(days=1)
    assert (created > pd.Timestamp(START, tz="UTC")).mean() == pytest.approx(0.55, abs=0.05)  # joining over time


def test_about_ten_order_lines_per_customer_with_realistic_order_sizes(data: dict[str, pd.DataFrame]) -> None:
    orders = data["orders"]
    lines_per_order = orders.groupby("order_external_id").size()
    assert 8 <= len(orders) / CUSTOMERS <= 12
    assert 2 <= lines_per_order.mean() <= 3.5
    assert (lines_per_order == 1).mean() > 0.15
    assert lines_per_order.max() >= 6
    assert (orders["quantity"].astype(int) >= 1).all()


def test_order_status_is_mostly_paid(data: dict[str, pd.DataFrame]) -> None:
    status = data["orders"].drop_duplicates("order_external_id")["status"].value_counts(normalize=True)
    assert status["paid"] > 0.9
    assert status["refunded"] == pytest.approx(0.03, abs=0.01)
    assert status["cancelled"] == pytest.approx(0.02, abs=0.01)


def test_currency_matches_the_customer_country(data: dict[str, pd.DataFrame]) -> None:
    country = data["customers"].set_index("external_id")["country"]
    pairs = set(zip(data["orders"]["customer_external_id"].map(country), data["orders"]["currency"], strict=True))
    assert pairs == {("CN", "CNY"), ("US", "USD"), ("GB", "GBP")}


def test_top_fifth_of_customers_hold_most_revenue(data: dict[str, pd.DataFrame], manifest: Manifest) -> None:
    orders = data["orders"]
    kept = orders[orders["status"].isin(["paid", "placed"])]
    spend = kept.groupby("customer_external_id")["usd"].sum()
    spend = spend.reindex(data["customers"]["external_id"], fill_value=0.0).sort_values(ascending=False)
    share = spend.iloc[: math.ceil(0.2 * len(spend))].sum() / spend.sum()
    assert 0.6 <= share <= 0.9
    assert share == pytest.approx(manifest.top20_revenue_share, abs=1e-4)


def test_planted_item_pairs_are_recoverable_from_the_orders(data: dict[str, pd.DataFrame], manifest: Manifest) -> None:
    baskets = data["orders"].groupby("order_external_id")["sku"].agg(set)
    for pair in manifest.planted_pairs:
        has_a = baskets.map(lambda skus, sku=pair.antecedent_sku: sku in skus)
        has_b = baskets.map(lambda skus, sku=pair.consequent_sku: sku in skus)
        confidence = (has_a & has_b).sum() / has_a.sum()
        lift = confidence / has_b.mean()
        assert has_a.sum() >= 100, pair
        assert lift > 3, pair
        # Within four binomial standard errors of the planted confidence.
        tolerance = 4 * math.sqrt(pair.confidence * (1 - pair.confidence) / has_a.sum())
        assert confidence == pytest.approx(pair.confidence, abs=tolerance), pair
        assert confidence == pytest.approx(pair.measured_confidence, abs=1e-6)


def test_planted_category_pairs_show_lift(data: dict[str, pd.DataFrame], manifest: Manifest) -> None:
    category = data["products"].set_index("sku")["category"]
    lines = data["orders"].assign(category=data["orders"]["sku"].map(category))
    baskets = lines.groupby("order_external_id")["category"].agg(set)
    for pair in manifest.category_pairs:
        has_a = baskets.map(lambda cats, c=pair.antecedent: c in cats)
        has_b = baskets.map(lambda cats, c=pair.consequent: c in cats)
        assert (has_a & has_b).sum() / has_a.sum() / has_b.mean() > 1.3, pair


def test_churners_stop_buying_more_often_than_chance_explains(
    data: dict[str, pd.DataFrame], manifest: Manifest
) -> None:
    # Customers buying for at least six months before the last six: with a steady Poisson rate,
    # the chance of no order in the last six months is exp(-rate x 182 days). Churn must add to that.
    orders = data["orders"]
    first = orders.groupby("customer_external_id")["at"].min()
    observed_days = (LAPSE_CUTOFF - first).dt.days
    eligible = observed_days[observed_days >= 182].index
    before = orders[orders["at"] < LAPSE_CUTOFF].groupby("customer_external_id").size().reindex(eligible)
    expected = np.exp(-before / observed_days[eligible] * 182).mean()
    observed = (last_orders(orders).reindex(eligible) < LAPSE_CUTOFF).mean()
    assert len(eligible) > 500
    assert observed > 1.4 * expected
    assert 0.25 <= manifest.churn_share <= 0.35
    assert manifest.churned_customers == round(manifest.churn_share * CUSTOMERS)


def test_lapsed_customers_give_lower_scores(data: dict[str, pd.DataFrame]) -> None:
    feedback = data["feedback"]
    lapsed = feedback["customer_external_id"].map(last_orders(data["orders"]) < LAPSE_CUTOFF)
    scores = feedback.groupby(lapsed)["nps_score"].mean()
    assert scores[True] < scores[False] - 0.3


def test_orders_are_seasonal(data: dict[str, pd.DataFrame]) -> None:
    orders = data["orders"].drop_duplicates("order_external_id")
    daily = orders.groupby(orders["at"].dt.floor("D")).size()
    days = pd.date_range(START, END, tz="UTC")
    daily = daily.reindex(days, fill_value=0)
    month = days.month
    assert daily[month.isin([11, 12])].mean() > 1.3 * daily[month.isin([2, 3])].mean()
    cn = orders[orders["currency"] == "CNY"]
    cn_daily = cn.groupby(cn["at"].dt.tz_convert("Asia/Shanghai").dt.date).size()
    assert cn_daily[date(2024, 11, 11)] > 3 * cn_daily.median()
    assert cn_daily[date(2025, 11, 11)] > 3 * cn_daily.median()


def test_contacts_are_messy_like_real_sources(data: dict[str, pd.DataFrame]) -> None:
    customers = data["customers"]
    email = customers["email"]
    assert email.isna().mean() == pytest.approx(0.05, abs=0.02)
    present = email.dropna()
    assert (present != present.str.strip().str.lower()).mean() == pytest.approx(0.03, abs=0.015)
    assert present.str.strip().str.lower().is_unique
    assert customers["phone"].isna().mean() == pytest.approx(0.05, abs=0.02)
    phones = customers["phone"].dropna()
    for pattern in (
        r"1\d\d \d{4} \d{4}",
        r"\+86 1\d{10}",
        r"\(\d{3}\) 555-01\d\d",
        r"\+44 20 7946 0\d{3}",
        r"07700 900\d{3}",
    ):
        assert phones.str.fullmatch(pattern).any(), pattern
    genders = set(customers["gender"].dropna())
    assert {"female", "male", "unknown"} <= genders
    assert {"F", "Male", "男", "女"} & genders == {"F", "Male", "男", "女"}
    assert {"本科", "bachelor"} <= set(customers["education"])


def test_half_the_customers_are_chinese_with_names_in_chinese_script(data: dict[str, pd.DataFrame]) -> None:
    customers = data["customers"]
    chinese = customers["country"] == "CN"
    assert chinese.mean() == pytest.approx(0.5, abs=0.05)
    cjk = customers["family_name"].str.fullmatch(r"[\u4e00-\u9fff]{1,2}")
    assert cjk[chinese].all()
    assert not cjk[~chinese].any()
    ages = 2025 - pd.to_datetime(customers["birth_date"]).dt.year
    assert ages.between(17, 81).all()
    assert 35 <= ages.mean() <= 48
    assert set(customers["income_band"]) == {"low", "middle", "high", "very_high"}


def test_feedback_texts_match_language_and_scores(data: dict[str, pd.DataFrame]) -> None:
    feedback = data["feedback"]
    country = data["customers"].set_index("external_id")["country"]
    expected_language = feedback["customer_external_id"].map(country).map({"CN": "zh", "US": "en", "GB": "en"})
    assert (feedback["language"] == expected_language).all()
    texts = feedback["text"].fillna("")
    zh = feedback["language"] == "zh"
    assert texts[zh & (texts != "")].str.contains(r"[\u4e00-\u9fff]").all()
    assert texts[~zh & (texts != "")].str.fullmatch(r"[ -~]+").all()
    scored = feedback["nps"].notna() | feedback["csat"].notna()
    assert ((texts == "") & scored).any()
    assert not ((texts == "") & ~scored).any()
    assert feedback["nps_score"].dropna().between(0, 10).all()
    assert pd.to_numeric(feedback["csat"]).dropna().between(1, 5).all()
    detractors = texts[(feedback["nps_score"] <= 6) & ~zh]
    promoters = texts[(feedback["nps_score"] >= 9) & ~zh]
    complaint = r"disappointed|not happy|terrible|refund|poor|rude|never|too"
    assert detractors.str.contains(complaint, case=False).mean() > 0.5
    assert promoters.str.contains(complaint, case=False).mean() < 0.1


def test_interactions_follow_activity(data: dict[str, pd.DataFrame]) -> None:
    interactions = data["interactions"]
    assert set(interactions["type"]) == {"page_view", "campaign_response", "service_contact", "email_open", "app_open"}
    assert interactions["properties"].str.startswith("{").all()
    per_customer = interactions.groupby("customer_external_id").size()
    orders = data["orders"].groupby("customer_external_id")["order_external_id"].nunique()
    both = pd.concat([per_customer, orders], axis=1).fillna(0)
    assert float(both.corr(method="spearman").to_numpy()[0, 1]) > 0.4
    views = interactions[interactions["type"] == "page_view"]["properties"]
    assert views.str.contains('"page": "/p/SKU-').any()
