"""A stand-in service for gateway tests: echoes what the gateway sent, streams slowly, or answers late."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse


def fake_app(name: str, *, delay: float = 0.0) -> FastAPI:
    """Every route sleeps `delay` seconds first (a slow service)."""
    app = FastAPI(title=f"Fake {name}")

    async def echo(request: Request) -> dict[str, Any]:
        await asyncio.sleep(delay)
        return {
            "service": name,
            "method": request.method,
            "path": request.url.path,
            "raw_path": request.scope["raw_path"].decode(),
            "query": request.scope["query_string"].decode(),
            "headers": dict(request.headers),
            "body": (await request.body()).decode(),
        }

    @app.get("/ready")
    async def ready() -> dict[str, str]:
        await asyncio.sleep(delay)
        return {"status": "ready", "service": name}

    @app.get("/v1/exports/{entity}")
    async def export(entity: str) -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"row": 1}\n'
            await asyncio.sleep(1.0)  # the second chunk comes a second later: a buffering proxy would wait
            yield b'{"row": 2}\n'

        return StreamingResponse(chunks(), media_type="application/x-ndjson")

    def open_alerts(customer_id: str | None) -> list[dict[str, Any]]:
        return [{"id": "a1", "status": "open", "customer_id": customer_id}]

    @app.get("/v1/alerts")
    async def alerts(request: Request) -> dict[str, Any]:
        await asyncio.sleep(delay)
        return {"items": open_alerts(request.query_params.get("customer_id")), "next_cursor": None}

    @app.get("/v1/customers/{customer_id}/feedback/summary")
    async def summary(customer_id: str, alerts: int = 0) -> dict[str, Any]:
        """As the feedback service answers: `alerts=N` adds the newest open alerts."""
        await asyncio.sleep(delay)
        answer: dict[str, Any] = {"customer_id": customer_id, "count": 2, "nps": 9, "open_alerts": 1}
        return answer | ({"alerts": open_alerts(customer_id)[:alerts]} if alerts else {})

    @app.post("/v1/customers")
    async def created(request: Request) -> JSONResponse:
        return JSONResponse(await echo(request), status_code=201, headers={"Location": "/v1/customers/abc"})

    @app.get("/v1/customers/{customer_id}/scores")
    async def teapot(customer_id: str) -> JSONResponse:
        return JSONResponse({"detail": "scores are brewing"}, status_code=418, headers={"X-Custom": "kept"})

    app.add_api_route(
        "/v1/{path:path}", echo, methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
    )
    return app


class FakeServer:
    """Serve a fake app on `port` (a free one by default) in a thread; `stop()` frees the port again."""

    def __init__(self, app: FastAPI, port: int | None = None) -> None:
        if port is None:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = int(sock.getsockname()[1])
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> FakeServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("fake server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
