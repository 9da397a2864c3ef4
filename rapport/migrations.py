"""Alembic, driven from code: each service keeps its own history in `<package>/migrations/`.

`upgrade` is idempotent and safe when replicas start together: PostgreSQL serialises it with an
advisory lock, SQLite with a file lock beside the database file.
"""

from __future__ import annotations

import fcntl
import importlib.util
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData, make_url, text

from rapport.config import Service
from rapport.db import ensure_database, make_engine


def service_package(service: Service | str) -> str:
    name = Service(service).value
    return "gateway" if name == "gateway" else f"services.{name}"


def version_table(service: Service | str) -> str:
    # One table per service, so services may also share a single database in small deployments.
    return f"alembic_version_{Service(service).value}"


def alembic_config(service: Service | str, url: str) -> Config:
    spec = importlib.util.find_spec(service_package(service))
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"cannot locate the package of service {service}")
    script_location = Path(next(iter(spec.submodule_search_locations))) / "migrations"
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(slug)s")
    config.attributes["service"] = Service(service).value
    return config


def run_env(target_metadata: MetaData) -> None:
    """Body of every service's `migrations/env.py` (online mode on the connection we pass in)."""
    config = context.config
    connection: Connection | None = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through rapport.migrations.upgrade (rapport migrate)")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=version_table(config.attributes["service"]),
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTER needs table rebuilds
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


@contextmanager
def _migration_lock(connection: Connection, service: str, url: str) -> Iterator[None]:
    if connection.dialect.name == "postgresql":
        key = zlib.crc32(f"rapport-migrate-{service}".encode())
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            connection.commit()
        return
    database = make_url(url).database
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate.lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def upgrade(service: Service | str, url: str, revision: str = "head") -> str | None:
    """Bring `service`'s database to `revision`; returns the revision now current."""
    name = Service(service).value
    ensure_database(url)
    config = alembic_config(name, url)
    engine = make_engine(url)
    try:
        with engine.connect() as connection, _migration_lock(connection, name, url):
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            connection.commit()
            return current_revision_on(connection, name)
    finally:
        engine.dispose()


def current_revision_on(connection: Connection, service: Service | str) -> str | None:
    migration_context = MigrationContext.configure(connection, opts={"version_table": version_table(service)})
    return migration_context.get_current_revision()


def head_revision(service: Service | str) -> str | None:
    script = ScriptDirectory.from_config(alembic_config(service, "sqlite://"))
    return script.get_current_head()


def new_revision(service: Service | str, url: str, message: str, *, rev_id: str | None = None) -> None:
    """Autogenerate a revision of `service` by comparing its models with a database at head."""
    name = Service(service).value
    upgrade(name, url)
    config = alembic_config(name, url)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            config.attributes["connection"] = connection
            command.revision(config, message=message, autogenerate=True, rev_id=rev_id)
    finally:
        engine.dispose()
