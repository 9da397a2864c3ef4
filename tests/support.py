"""Helpers for tests that run real processes: free ports, uvicorn service processes, waiting."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from rapport.config import DEV_SERVICE_TOKEN, Service

TOKEN_HEADERS = {"X-Service-Token": DEV_SERVICE_TOKEN}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_ready(url: str, *, timeout: float = 30.0, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process serving {url} exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/ready", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} not ready after {timeout}s")


def wait_for_job(api: httpx.Client, path: str, *, timeout: float = 600) -> dict[str, Any]:
    """Poll GET `path` (a segmentation run, a recommendation model) until it is neither queued nor running."""
    deadline = time.monotonic() + timeout
    while True:
        job = dict(api.get(path).json())
        if job["status"] not in ("queued", "running"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.2)


@dataclass
class ServiceProcess:
    service: Service
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_service(
    service: Service, database_url: str, *, var_dir: Path, workers: int = 1, **env: str
) -> ServiceProcess:
    """Start `service` with uvicorn on a free port against `database_url`; waits until ready."""
    port = free_port()
    environment = {
        **os.environ,
        "RAPPORT_ENV": "test",
        "RAPPORT_VAR_DIR": str(var_dir),
        f"RAPPORT_{service.value.upper()}_DATABASE_URL": database_url,
        f"RAPPORT_{service.value.upper()}_PORT": str(port),
        **env,
    }
    log_path = var_dir / f"{service.value}-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                service.app_factory,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
                "--workers",
                str(workers),
            ],
            env=environment,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    handle = ServiceProcess(service, url, process, log_path)
    try:
        wait_until_ready(url, process=process)
    except Exception:
        handle.stop()
        raise RuntimeError(f"{service.value} did not start:\n{handle.log()[-3000:]}") from None
    return handle


class ThreadedServer:
    """Serve an ASGI app with a real uvicorn server on a free port, in a background thread."""

    def __init__(self, app: object) -> None:
        import threading

        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False)  # type: ignore[arg-type]
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("threaded uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    """Assert `response` is an RFC 9457 problem with `status` and a non-empty detail; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail", "instance"} <= body.keys()
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return dict(body)
