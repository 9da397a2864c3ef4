"""Keys through the admin API and the CLI, the caller's session, health, the merged OpenAPI, bootstrap."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable

import httpx

from rapport import migrations
from rapport.config import Service
from tests.gateway.conftest import Platform
from tests.support import assert_problem, start_service


def test_admin_creates_lists_and_revokes_keys(platform: Platform, client: httpx.Client) -> None:
    admin = platform.headers("admin")
    created = client.post("/api/v1/keys", json={"name": "web app", "role": "frontend"}, headers=admin)
    assert created.status_code == 201, created.text
    key = created.json()
    assert key["key"].startswith(key["prefix"])
    session = client.get("/api/v1/session", headers={"Authorization": f"Bearer {key['key']}"})
    assert session.status_code == 200
    assert session.json()["role"] == "frontend"
    assert {"method": "GET", "path": "/api/v1/customers/{customer_id}/360"} in session.json()["routes"]
    assert {"method": "GET", "path": "/api/v1/keys"} not in session.json()["routes"]
    listed = client.get("/api/v1/keys", headers=admin)
    assert listed.status_code == 200
    assert key["key"] not in listed.text
    mine = next(item for item in listed.json()["items"] if item["id"] == key["id"])
    assert mine["last_used_at"] is not None
    assert "secret_hash" not in mine
    revoked = client.post(f"/api/v1/keys/{key['id']}:revoke", headers=admin)
    assert revoked.json()["revoked_at"] is not None
    assert_problem(client.get("/api/v1/session", headers={"Authorization": f"Bearer {key['key']}"}), 401)
    assert_problem(client.post("/api/v1/keys/nope:revoke", headers=admin), 404)
    partner = assert_problem(client.post("/api/v1/keys", json={"name": "p", "role": "partner"}, headers=admin), 422)
    assert partner["errors"][0]["loc"] == "body.source"


def test_health_aggregates_every_service(client: httpx.Client) -> None:
    health = client.get("/api/v1/health").json()
    assert health["status"] == "ok"
    assert set(health["services"]) == {"customers", "segmentation", "recommendation", "feedback"}
    assert all(s["status"] == "ready" for s in health["services"].values())


def test_openapi_merges_every_service_under_gateway_paths(client: httpx.Client) -> None:
    document = client.get("/api/v1/openapi.json").json()
    paths = document["paths"]
    profile = paths["/api/v1/customers/{customer_id}"]["get"]
    assert profile["x-service"] == "customers"
    assert profile["x-roles"] == ["admin", "analyst", "frontend"]
    assert "post" in paths["/api/v1/segmentation/runs"]
    assert "post" in paths["/api/v1/recommendation/runs"]
    assert paths["/api/v1/keys"]["post"]["x-roles"] == ["admin"]
    assert not any(path.startswith("/v1/") for path in paths)
    refs = str(document)
    for name in ("customers.", "segmentation.", "recommendation."):
        assert f"#/components/schemas/{name}" in refs
    schemas = document["components"]["schemas"]
    assert all(ref.split("/")[-1] in schemas for ref in _refs(document))


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_a_gateway_without_an_admin_key_says_how_to_make_one(
    platform: Platform, gateway_databases: Callable[[str], str]
) -> None:
    database = gateway_databases("gateway_empty")
    gateway = start_service(Service.gateway, database, var_dir=platform.var_dir)
    try:
        deadline = time.monotonic() + 5
        while "rapport keys create --role admin" not in gateway.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "rapport keys create --role admin" in gateway.log()
    finally:
        gateway.stop()
    env = {**os.environ, "RAPPORT_GATEWAY_DATABASE_URL": database, "RAPPORT_VAR_DIR": str(platform.var_dir)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "rapport.cli", "keys", *args], env=env, capture_output=True, text=True, timeout=60
        )

    created = cli("create", "--role", "admin", "--name", "ops")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("rpk_")
    key_id = created.stdout.split()[3]
    listed = cli("list")
    assert key_id in listed.stdout
    assert secret not in listed.stdout
    assert cli("revoke", key_id).returncode == 0
    row = next(line for line in cli("list").stdout.splitlines() if line.startswith(key_id))
    assert not row.rstrip().endswith("-")  # the revoked column holds a time
    assert cli("create", "--role", "partner").returncode == 1  # a partner key needs its source
    assert migrations.head_revision(Service.gateway) == "gate0002"
