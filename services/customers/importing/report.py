"""A job's error report: CSV with line (the file's line number), reasons ("field: message; ..."), and
record (the line as it is in the file). Entries are appended (and fsynced) just before their chunk
commits, and cut back to the committed lines when a killed job resumes, so each rejected line is
reported exactly once."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from . import files
from .chunks import Failure

HEADER = ("line", "reasons", "record")


class Report:
    def __init__(self, path: Path) -> None:
        self.path = path

    def size(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def append(self, failures: list[Failure]) -> None:
        """Write the entries and make them durable (they commit with their chunk right after)."""
        if not failures:
            return
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        if not self.size():
            writer.writerow(HEADER)
        writer.writerows((failure.line, "; ".join(failure.reasons), failure.record) for failure in failures)
        with open(self.path, "ab") as handle:
            handle.write(buffer.getvalue().encode())
            handle.flush()
            os.fsync(handle.fileno())

    def truncate(self, size: int) -> None:
        if self.path.exists():
            with open(self.path, "r+b") as handle:
                handle.truncate(size)

    def cut_after(self, line: int) -> None:
        """Drop the entries of lines after `line` (left by a chunk whose transaction never committed)."""
        try:
            header = files.inspect(self.path, "csv")
        except (FileNotFoundError, files.FileProblem):  # no report yet, or no entries in it
            return
        offset, last = header.data_offset, header.data_line
        while True:
            block = files.read_block(self.path, "csv", HEADER, offset=offset, line=last, max_bytes=1 << 22)
            for row, number in enumerate(block.columns["line"].to_pylist()):
                if number is not None and int(number) > line:
                    first_entry = row == 0 and offset == header.data_offset
                    self.truncate(0 if first_entry else int(block.starts[row]))
                    return
            offset, last = block.end_offset, block.end_line
            if block.eof:
                return
