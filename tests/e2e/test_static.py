"""The dashboard's files as the gateway serves them, without a browser: the page at `/`, its modules,
the API and ops routes still answered by the gateway, and nothing fetched from another origin."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.app import STATIC, create_app
from tests.conftest import settings_for
from tests.support import ThreadedServer

pytestmark = pytest.mark.database_independent

IMPORT = re.compile(r"""^import .* from '(\.{1,2}/[^']+)'""", re.MULTILINE)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    app = create_app(settings_for(tmp_path_factory.mktemp("gateway")))
    with ThreadedServer(app) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def test_the_dashboard_is_served_at_the_root_with_a_strict_content_security_policy(client: httpx.Client) -> None:
    answer = client.get("/")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="static/js/main.js">' in answer.text
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "default-src 'self'" in policy


def test_every_module_the_page_imports_is_served(client: httpx.Client) -> None:
    pending, seen = ["js/main.js"], set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        answer = client.get(f"/static/{path}")
        assert answer.status_code == 200, path
        assert "javascript" in answer.headers["content-type"], path
        folder = Path(path).parent
        pending += [_join(folder, target) for target in IMPORT.findall(answer.text)]
    assert {"js/main.js", "js/api.js", "js/pages/search.js", "js/pages/customer.js"} <= seen
    assert client.get("/static/vendor/chart.umd.min.js").status_code == 200


def _join(folder: Path, target: str) -> str:
    parts: list[str] = list(folder.parts)
    for piece in target.split("/"):
        if piece == "..":
            parts.pop()
        elif piece != ".":
            parts.append(piece)
    return "/".join(parts)


def test_api_and_ops_routes_still_win_and_unknown_paths_stay_problems(client: httpx.Client) -> None:
    assert client.get("/health").json()["service"] == "gateway"
    assert client.get("/ready").status_code == 200
    assert client.get("/metrics").status_code == 200
    assert client.get("/docs").status_code == 200
    assert client.get("/api/v1/session").status_code == 401
    missing = client.get("/no-such-page")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert client.get("/static/%2e%2e/app.py").status_code == 404


def test_the_dashboard_loads_nothing_from_another_origin() -> None:
    for path in STATIC.rglob("*"):
        if path.suffix in {".html", ".css"} or (path.suffix == ".js" and "vendor" not in path.parts):
            text = path.read_text()
            assert not re.search(r"""(src|href)=["']https?://|url\(["']?https?://|fetch\(["']https?://""", text), path
            assert "innerHTML" not in text, f"{path}: data goes into the page as text"
