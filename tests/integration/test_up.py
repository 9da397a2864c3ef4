"""`rapport up` as a user runs it: a real subprocess starting five real services."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from rapport.config import Service
from services.feedback import train
from tests.feedback.support import DATA_DIR, MODEL_DIR
from tests.support import free_port

READY_WITHIN_SECONDS = 30


@dataclass
class UpProcess:
    process: subprocess.Popen[str]
    urls: dict[Service, str]

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; only its parent has not collected it yet.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def _wait_ready(urls: dict[Service, str], process: subprocess.Popen[str]) -> float:
    started = time.monotonic()
    pending = dict(urls)
    while pending and time.monotonic() - started < READY_WITHIN_SECONDS:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        for service, url in list(pending.items()):
            try:
                if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                    del pending[service]
            except httpx.TransportError:
                pass
        time.sleep(0.2)
    assert not pending, f"not ready within {READY_WITHIN_SECONDS}s: {list(pending)}"
    return time.monotonic() - started


@pytest.fixture
def start_up(tmp_path: Path, make_database_url: Callable[[str], str]) -> Iterator[Callable[..., UpProcess]]:
    train.load_or_train(MODEL_DIR, DATA_DIR)
    started: list[UpProcess] = []

    def start(*args: str) -> UpProcess:
        ports = {service: free_port() for service in Service}
        env = {
            **os.environ,
            "RAPPORT_VAR_DIR": str(tmp_path / "var"),
            "RAPPORT_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            "RAPPORT_FEEDBACK_MODEL_DIR": str(MODEL_DIR),  # trained once for the session, not per start
            "RAPPORT_DATA_DIR": str(DATA_DIR),
        }
        for service in Service:
            env[f"RAPPORT_{service.value.upper()}_DATABASE_URL"] = make_database_url(service.value)
        command = [sys.executable, "-m", "rapport.cli", "up", *args]
        for service, port in ports.items():
            command += [f"--{service.value}-port", str(port)]
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        up = UpProcess(process, {service: f"http://127.0.0.1:{port}" for service, port in ports.items()})
        started.append(up)
        return up

    yield start
    for up in started:
        for pid in up.children():
            os.kill(pid, signal.SIGKILL)
        if up.process.poll() is None:
            up.process.kill()
        up.process.communicate(timeout=10)


def _read_until(process: subprocess.Popen[str], marker: str, timeout: float = 30) -> str:
    """What the process printed up to and including the line holding `marker`."""
    assert process.stdout is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"{marker!r} not printed; got {seen!r}"
        # Raw reads: a TextIOWrapper would buffer lines that select() then never reports.
        if select.select([process.stdout], [], [], remaining)[0]:
            chunk = os.read(process.stdout.fileno(), 65536)
            assert chunk, f"output ended before {marker!r}; got {seen!r}"
            seen += chunk.decode()
    return seen


def test_up_starts_all_five_and_sigterm_leaves_no_child(start_up: Callable[..., UpProcess]) -> None:
    up = start_up("--no-demo")
    _wait_ready(up.urls, up.process)
    printed = _read_until(up.process, "Press Ctrl-C to stop.")
    for service, url in up.urls.items():
        assert url in printed, f"{service.value} URL not printed"
    children = up.children()
    assert len(children) == len(Service)
    up.process.send_signal(signal.SIGTERM)
    stdout, _ = up.process.communicate(timeout=20)
    assert up.process.returncode == 0
    assert "Rapport stopped." in stdout
    assert not [pid for pid in children if _alive(pid)]


def test_a_crashing_child_stops_the_others_and_exits_non_zero(start_up: Callable[..., UpProcess]) -> None:
    up = start_up("--no-demo")
    _wait_ready(up.urls, up.process)
    children = up.children()
    victim = next(pid for pid in children if "services.customers" in Path(f"/proc/{pid}/cmdline").read_text())
    os.kill(victim, signal.SIGKILL)
    _, stderr = up.process.communicate(timeout=20)
    assert up.process.returncode != 0
    assert "customers exited" in stderr
    assert not [pid for pid in children if _alive(pid)]
