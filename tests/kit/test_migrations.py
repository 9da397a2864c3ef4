"""Every service's migrations apply to an empty database, are idempotent, and survive racing replicas."""

from __future__ import annotations

import importlib
import multiprocessing
from collections.abc import Callable
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, inspect

from rapport import migrations
from rapport.config import Service
from rapport.db import make_engine


@pytest.mark.parametrize("service", list(Service))
def test_upgrade_reaches_head_and_second_run_is_a_no_op(service: Service, database_url: str) -> None:
    head = migrations.head_revision(service)
    assert head is not None
    assert migrations.upgrade(service, database_url) == head
    engine = make_engine(database_url)
    try:
        tables_before = set(inspect(engine).get_table_names())
        assert migrations.version_table(service) in tables_before
    finally:
        engine.dispose()
    assert migrations.upgrade(service, database_url) == head
    engine = make_engine(database_url)
    try:
        assert set(inspect(engine).get_table_names()) == tables_before
    finally:
        engine.dispose()


def _models(service: Service) -> MetaData:
    metadata: MetaData = importlib.import_module(f"{migrations.service_package(service)}.models").Base.metadata
    return metadata


@pytest.mark.parametrize("service", list(Service))
def test_the_migrated_schema_is_what_the_models_declare(service: Service, database_url: str) -> None:
    """Tables, columns, types and indexes after every migration equal the models' metadata, so a model
    change without its migration (or the reverse) fails here. alembic compares an index's columns (and,
    on PostgreSQL, its expressions; SQLite's are not reflected), not its options: on PostgreSQL the
    partial predicate and the INCLUDE list are compared below."""
    migrations.upgrade(service, database_url)
    engine = make_engine(database_url)

    def on_this_backend(item: Any, *_: Any) -> bool:  # an index declared for one dialect only (ddl_if)
        only_on = getattr(getattr(item, "_ddl_if", None), "dialect", None)
        return only_on in (None, engine.dialect.name)

    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "version_table": migrations.version_table(service),
                    "include_object": on_this_backend,
                },
            )
            assert compare_metadata(context, _models(service)) == []
        if engine.dialect.name == "postgresql":  # the indexes themselves were compared just above
            declared = _index_options(engine, _models(service), reflected=False)
            reflected = _index_options(engine, _models(service), reflected=True)
            assert {name: reflected.get(name) for name in declared} == declared
    finally:
        engine.dispose()


def _index_options(engine: Any, metadata: MetaData, *, reflected: bool) -> dict[str, tuple[str, list[str]]]:
    """PostgreSQL: each index's partial predicate (parentheses and case dropped) and INCLUDE columns, as
    the database has them or as the models declare them."""

    def predicate(where: object) -> str:
        text = "" if where is None else str(where)
        return " ".join(text.replace("(", " ").replace(")", " ").lower().split())

    found: dict[str, tuple[str, list[str]]] = {}
    for table in metadata.sorted_tables:
        if reflected:
            for index in inspect(engine).get_indexes(table.name):
                options = index.get("dialect_options", {})
                found[str(index["name"])] = (
                    predicate(options.get("postgresql_where")),
                    list(options.get("postgresql_include") or []),
                )
        else:
            for declared in table.indexes:
                kwargs = declared.dialect_kwargs
                found[str(declared.name)] = (
                    predicate(kwargs.get("postgresql_where")),
                    [str(getattr(column, "name", column)) for column in kwargs.get("postgresql_include") or []],
                )
    return found


def _upgrade_in_child(service: str, url: str) -> None:
    migrations.upgrade(service, url)


def test_replicas_migrating_at_once_both_succeed(make_database_url: Callable[[str], str]) -> None:
    url = make_database_url("race")
    context = multiprocessing.get_context("spawn")
    children = [context.Process(target=_upgrade_in_child, args=("customers", url)) for _ in range(3)]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=60)
    assert [child.exitcode for child in children] == [0, 0, 0]
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            assert migrations.current_revision_on(connection, "customers") == migrations.head_revision("customers")
    finally:
        engine.dispose()
