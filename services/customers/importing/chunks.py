"""What every kind of import (customers, orders, interactions) provides to the job runner, and the
pieces they share: the columns a file may have, the rejected lines of a chunk."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
from sqlalchemy.orm import Session

from . import columns as col
from .files import Block


@dataclass(frozen=True)
class Context:
    """What a chunk needs besides its rows: the import's source and the service's settings."""

    source: str
    fx_rates: Mapping[str, Decimal]
    default_region: str


@dataclass(frozen=True)
class Failure:
    """A rejected line of the file, for the error report."""

    line: int
    record: str
    reasons: list[str]


@dataclass
class Outcome:
    processed: int  # lines stored (or already stored as they are)
    failures: list[Failure]
    counts: dict[str, int] = field(default_factory=dict)  # records created / updated / unchanged


class Kind(Protocol):
    """One kind of import: the columns of its files and how a block of rows is stored."""

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]

    def complete_rows(self, block: Block, context: Context) -> int:
        """How many first rows of `block` can be stored without the rows of the next block."""
        ...

    def prepare(self, block: Block, context: Context) -> Any:
        """Parse and validate the rows (no database): the input of `write`."""
        ...

    def write(self, session: Session, prepared: Any, context: Context) -> Outcome:
        """Store the prepared rows in the caller's transaction."""
        ...


def column_problems(kind: Kind, columns: Sequence[str], *, has_source: bool) -> list[str]:
    """What is wrong with a file's columns for `kind`: missing required ones, unknown ones."""
    problems = []
    missing = [name for name in kind.required if name not in columns]
    if "source" not in columns and not has_source:
        missing.insert(0, "source")
    if missing:
        problems.append(
            f"missing required column(s): {', '.join(missing)}"
            + (" (or send the source form field)" if "source" in missing else "")
        )
    known = {"source", *kind.required, *kind.optional}
    unknown = [name for name in columns if name not in known]
    if unknown:
        problems.append(f"unknown column(s): {', '.join(unknown)}; a {kind.name} file has {', '.join(sorted(known))}")
    return problems


def reject_unknown_fields(known: Sequence[str], block: Block, problems: col.Problems) -> None:
    """NDJSON records name their own fields: a record with a field not `known` (nor source) is rejected."""
    for name, values in block.columns.items():
        if name == "source":
            continue
        if name not in known:
            problems.add(~col.null_mask(values), f"{name}: unknown field")


def failures(block: Block, problems: col.Problems, rejected: np.ndarray | None = None) -> list[Failure]:
    """The block's unreadable records and rejected rows, in line order."""
    found = [Failure(bad.line, bad.raw, [bad.reason]) for bad in block.failed]
    rows = problems.rejected if rejected is None else rejected
    for row in np.flatnonzero(rows).tolist():
        found.append(Failure(int(block.lines[row]), block.raw(row), problems.reasons(row)))
    found.sort(key=lambda failure: failure.line)
    return found


def with_columns(block: Block, names: Sequence[str]) -> Block:
    """The block with a column of nulls for each of `names` it lacks (NDJSON records may omit fields)."""
    for name in names:
        if name not in block.columns:
            block.columns[name] = pa.nulls(block.size, pa.string())
    return block
