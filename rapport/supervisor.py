"""Run every Rapport service as a child process and supervise them (`rapport up`).

Children are uvicorn processes. They die with the supervisor (PR_SET_PDEATHSIG on Linux), are
stopped with SIGTERM then SIGKILL, and one child's crash stops all of them.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import FrameType

import httpx

from rapport.config import Service, Settings

log = logging.getLogger("rapport.supervisor")

START_ORDER = (Service.customers, Service.segmentation, Service.recommendation, Service.feedback, Service.gateway)


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def child_environment(settings: Settings) -> dict[str, str]:
    """The environment every child gets: the parent's, plus resolved ports, URLs and folders, so
    CLI overrides reach the children and each service can find the others."""
    env = dict(os.environ)
    env["RAPPORT_VAR_DIR"] = str(settings.var_dir.resolve())
    env["RAPPORT_MIGRATE_ON_START"] = "true" if settings.migrate_on_start else "false"
    for service in Service:
        env[f"RAPPORT_{service.value.upper()}_PORT"] = str(settings.port_for(service))
        env[f"RAPPORT_{service.value.upper()}_URL"] = settings.url_for(service)
    return env


@dataclass
class Child:
    service: Service
    process: subprocess.Popen[bytes]
    url: str

    @property
    def exited(self) -> bool:
        return self.process.poll() is not None


@dataclass
class Supervisor:
    settings: Settings
    children: list[Child] = field(default_factory=list)
    stopping: bool = False

    def start(self, services: Iterable[Service] = START_ORDER) -> None:
        env = child_environment(self.settings)
        for service in services:
            command = [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                service.app_factory,
                "--host",
                self.settings.host,
                "--port",
                str(self.settings.port_for(service)),
                "--no-access-log",
                "--timeout-graceful-shutdown",
                "5",
            ]
            process = subprocess.Popen(command, env=env, preexec_fn=_die_with_parent)
            self.children.append(Child(service, process, self.settings.url_for(service)))

    def wait_ready(self, timeout: float) -> Child | None:
        """Block until every child answers /ready 200; returns a child that exited meanwhile, if any.

        Raises TimeoutError when some child is still not ready after `timeout` seconds."""
        pending = {child.service: child for child in self.children}
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1.0) as client:
            while pending:
                for service, child in list(pending.items()):
                    if child.exited:
                        return child
                    try:
                        if client.get(f"{child.url}/ready").status_code == 200:
                            del pending[service]
                    except httpx.TransportError:
                        pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"not ready after {timeout:.0f}s: {', '.join(pending)}")
                time.sleep(0.2)
        return None

    def first_exited(self) -> Child | None:
        return next((child for child in self.children if child.exited), None)

    def stop(self, grace_seconds: float = 10.0) -> None:
        """SIGTERM every live child, wait for them, SIGKILL whoever is left."""
        self.stopping = True
        for child in self.children:
            if not child.exited:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        for child in self.children:
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in time; killing it", child.service.value)
                child.process.kill()
                child.process.wait()

    def install_signal_handlers(self) -> None:
        def request_stop(signum: int, _frame: FrameType | None) -> None:
            self.stopping = True

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)

    def run_until_stopped(self) -> Child | None:
        """Block until a stop signal (returns None) or a child's exit (returns that child)."""
        while not self.stopping:
            crashed = self.first_exited()
            if crashed is not None:
                return crashed
            time.sleep(0.2)
        return None
