"""CPU accounting for benchmarks (Linux /proc): who spent the CPU seconds of a run."""

from __future__ import annotations

import os
import time
from pathlib import Path


def cpu_seconds(pids: list[int]) -> list[float]:
    """User + system CPU seconds each process has used so far (a process that has gone counts 0)."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = []
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            used.append(0.0)
            continue
        used.append((int(fields[11]) + int(fields[12])) / ticks)  # utime, stime
    return used


def idle_cpu(pids: list[int], seconds: float = 5.0) -> list[float]:
    """CPU seconds per second each process uses with no requests (its background pollers)."""
    before = cpu_seconds(pids)
    time.sleep(seconds)
    return [(after - start) / seconds for start, after in zip(before, cpu_seconds(pids), strict=True)]


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (uvicorn's worker processes)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            pending += [int(child) for child in task.read_text().split()]
    return found


def postgres_cpu_seconds() -> float:
    """CPU seconds used so far by every PostgreSQL process on this machine that is still running:
    backends, WAL writer, checkpointer. A backend that exits takes its count with it, so read this
    while the connections of the run are still open."""
    pids = [int(entry.parent.name) for entry in Path("/proc").glob("[0-9]*/comm") if _comm(entry) == "postgres"]
    return sum(cpu_seconds(pids))


def _comm(path: Path) -> str:
    try:
        return path.read_text().strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""
