"""The container deployment: docker-compose.yml and the Dockerfile agree with the code they run.

Read statically (no Docker needed), except `docker compose config`, which runs where Docker does.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from sqlalchemy import make_url

from rapport.config import Service, Settings

REPO = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
# Interpolated variables the test run provides; everything else takes its default in the file.
TEST_ENV = {"RAPPORT_SERVICE_TOKEN": "compose-test-token"}
# Read by the image's CMD to pick the service, not by Settings.
IMAGE_VARIABLES = {"RAPPORT_SERVICE"}
SERVICES = [service.value for service in Service]

_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def _interpolate(value: Any, env: dict[str, str]) -> Any:
    """`value` with compose's `${NAME}`, `${NAME:-default}`, `${NAME:?error}` and `$$` replaced."""
    if isinstance(value, dict):
        return {key: _interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [_interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"] or "", match["arg"]
        if name is None:
            return "$"
        found = env.get(name)
        if found or (found is not None and not op.startswith(":")):
            return found
        if op.endswith("?"):
            raise KeyError(f"{name} is required: {arg}")
        return arg if op else ""

    return _VARIABLE.sub(replace, value)


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the `- NAME=value` form
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    lines = [line for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in joined.splitlines() if line.strip()]


def _instruction(name: str) -> str:
    found = [arguments for instruction, arguments in _dockerfile() if instruction == name]
    assert found, f"the Dockerfile has no {name}"
    return found[-1]  # the last one wins, as in Docker


def _rapport_settings_variables() -> set[str]:
    return {f"RAPPORT_{field.upper()}" for field in Settings.model_fields}


def unknown_rapport_variables(names: set[str]) -> set[str]:
    """The `RAPPORT_*` names among `names` that no Settings field (or the image) reads."""
    known = _rapport_settings_variables() | IMAGE_VARIABLES
    return {name for name in names if name.startswith("RAPPORT_") and name not in known}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _interpolate(yaml.safe_load(COMPOSE_FILE.read_text()), TEST_ENV)


@pytest.fixture
def settings_of(compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Settings]:
    """The Settings a compose service's container builds from its environment (and nothing else)."""

    def build(name: str) -> Settings:
        for variable in [key for key in os.environ if key.startswith("RAPPORT_")]:
            monkeypatch.delenv(variable)
        for key, value in _environment(compose["services"][name]).items():
            monkeypatch.setenv(key, value)
        return Settings()

    return build


def test_compose_runs_every_service_and_postgres(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {*SERVICES, "postgres"}


def test_each_container_runs_the_service_it_is_named_after(compose: dict[str, Any]) -> None:
    for name in SERVICES:
        assert _environment(compose["services"][name]).get("RAPPORT_SERVICE") == name


def test_only_the_gateway_publishes_a_port(compose: dict[str, Any], settings_of: Callable[[str], Settings]) -> None:
    published = {name: service["ports"] for name, service in compose["services"].items() if service.get("ports")}
    assert set(published) == {"gateway"}
    (port,) = published["gateway"]
    target = port["target"] if isinstance(port, dict) else str(port).rsplit(":", 1)[-1].split("/")[0]
    assert int(target) == settings_of("gateway").port_for(Service.gateway)


def test_each_service_has_its_own_postgres_database(
    compose: dict[str, Any], settings_of: Callable[[str], Settings]
) -> None:
    databases = {}
    for name in SERVICES:
        env = _environment(compose["services"][name])
        assert {key for key in env if key.endswith("DATABASE_URL")} == {f"RAPPORT_{name.upper()}_DATABASE_URL"}
        url = make_url(settings_of(name).database_url_for(name))
        assert (url.get_backend_name(), url.host, url.database) == ("postgresql", "postgres", f"rapport_{name}")
        databases[name] = url.database
    assert len(set(databases.values())) == len(SERVICES), databases


def test_containers_run_in_production_and_find_each_other(
    compose: dict[str, Any], settings_of: Callable[[str], Settings]
) -> None:
    listening = {name: settings_of(name).port_for(name) for name in SERVICES}
    for name in SERVICES:
        settings = settings_of(name)
        assert settings.env == "production"
        assert settings.service_token.get_secret_value() == TEST_ENV["RAPPORT_SERVICE_TOKEN"]
        for other in SERVICES:
            assert settings.url_for(other) == f"http://{other}:{listening[other]}", (name, other)


def test_every_service_is_health_checked_and_waits_for_a_healthy_postgres(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    for name in SERVICES:
        healthcheck = services[name].get("healthcheck") or {}
        assert healthcheck.get("test"), f"{name} has no healthcheck"
        assert not healthcheck.get("disable"), f"{name} disables its healthcheck"
        assert "/ready" in " ".join(healthcheck["test"]), name
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy", name


def test_gateway_starts_once_the_services_it_routes_to_are_healthy(compose: dict[str, Any]) -> None:
    depends_on = compose["services"]["gateway"]["depends_on"]
    for name in SERVICES:
        if name != "gateway":
            assert depends_on[name]["condition"] == "service_healthy", name


def test_every_rapport_variable_is_a_settings_field() -> None:
    text = COMPOSE_FILE.read_text()
    names = {match["name"] for match in _VARIABLE.finditer(text) if match["name"]}
    for service in yaml.safe_load(text)["services"].values():
        names |= set(_environment(service))
    for instruction, arguments in _dockerfile():
        if instruction == "ENV":
            names |= set(re.findall(r"(\w+)=", arguments))
    assert "RAPPORT_SERVICE_TOKEN" in names
    assert unknown_rapport_variables(names) == set()
    assert unknown_rapport_variables({"RAPPORT_CUSTOMER_URL", "RAPPORT_SERVICE_TOKEN"}) == {"RAPPORT_CUSTOMER_URL"}


def test_the_service_token_must_be_supplied() -> None:
    assert "${RAPPORT_SERVICE_TOKEN:?" in COMPOSE_FILE.read_text()
    with pytest.raises(KeyError, match="RAPPORT_SERVICE_TOKEN"):
        _interpolate(yaml.safe_load(COMPOSE_FILE.read_text()), {})


def test_image_command_starts_the_chosen_service_on_all_interfaces() -> None:
    command = json.loads(_instruction("CMD"))
    assert command[:2] == ["sh", "-c"], "CMD is `sh -c SCRIPT` so that it can read RAPPORT_SERVICE"
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    for name in SERVICES:
        words = shlex.split(re.sub(r"\$\{RAPPORT_SERVICE(?::\?[^}]*)?\}", name, command[2]))
        if words[0] == "exec":
            words = words[1:]
        assert words[0] in scripts, f"{words[0]} is not a console script of the project"
        module, attribute = scripts[words[0]].split(":")
        group = typer.main.get_command(getattr(importlib.import_module(module), attribute))
        commands = getattr(group, "commands", {})
        assert words[1] in commands, f"`{words[0]}` has no command {words[1]!r}"
        params = commands[words[1]].make_context(words[1], words[2:]).params
        assert (Service(params["service"]), params["host"]) == (Service(name), "0.0.0.0")


def test_image_healthcheck_is_the_compose_one_and_probes_ready(compose: dict[str, Any]) -> None:
    arguments = _instruction("HEALTHCHECK")
    image_probe = json.loads(arguments.split(" CMD ", 1)[1])
    for name in SERVICES:
        assert compose["services"][name]["healthcheck"]["test"] == ["CMD", *image_probe]
    assert image_probe[:2] == ["python", "-c"]
    assert "/ready" in image_probe[2]
    compile(image_probe[2], "HEALTHCHECK", "exec")


def test_image_runs_as_a_non_root_user_and_contains_every_package() -> None:
    assert _instruction("USER") not in ("root", "0")
    copied = {arguments.split()[0].rstrip("/") for instruction, arguments in _dockerfile() if instruction == "COPY"}
    packages = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    assert {pattern.rstrip("*") for pattern in packages["include"]} <= copied


def test_docker_compose_config_is_valid(tmp_path: Path) -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("docker is not installed: `docker compose config` could not check docker-compose.yml")
    version = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, check=False)
    if version.returncode != 0:
        reason = (version.stderr or version.stdout).strip().splitlines()[:1]
        pytest.skip(f"`docker compose` is not available here: {' '.join(reason)}")
    empty_env_file = tmp_path / "empty.env"
    empty_env_file.write_text("")
    command = [docker, "compose", "--env-file", str(empty_env_file), "-f", str(COMPOSE_FILE), "config", "-q"]
    base_env = {
        key: value for key, value in os.environ.items() if key not in ("RAPPORT_SERVICE_TOKEN", "POSTGRES_PASSWORD")
    }
    result = subprocess.run(command, env={**base_env, **TEST_ENV}, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    missing = subprocess.run(command, env=base_env, capture_output=True, text=True, check=False)
    assert missing.returncode != 0, "compose must refuse to run without RAPPORT_SERVICE_TOKEN"
    assert "RAPPORT_SERVICE_TOKEN" in missing.stderr
