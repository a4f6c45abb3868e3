"""An empty database gets the schema of HEAD from the models at once (``create_schema``): it
must be the very schema the migrations make, on SQLite and on PostgreSQL, so that a database
made either way takes every later migration and behaves the same."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from central.core.db import HEAD, alembic_config, current_revision, make_engine, migrate
from tests.harness.postgres import Postgres

_databases = itertools.count(1)


def _url(backend: str, tmp_path: Path, name: str, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / f'{name}.db'}"
    server: Postgres = request.getfixturevalue("postgres")
    return server.create_database(f"schema_{name}{next(_databases)}")


def _clauses(body: str) -> list[str]:
    """The comma-separated parts of a table's definition (commas inside parentheses kept)."""
    parts: list[str] = []
    depth, current = 0, ""
    for char in body:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [" ".join(p.split()) for p in [*parts, current] if p.strip()]


def _sqlite_table(sql: str) -> tuple[str, list[str]]:
    """A CREATE TABLE statement as its head and its sorted clauses: SQLite keeps the text as
    written, so a table rebuilt by a migration's batch mode has its name quoted and its table
    constraints in another order, and a column added later (ALTER TABLE ADD COLUMN) stands at
    the end of the last line; none of it changes the table."""
    head, _, body = sql.partition("(")
    head = re.sub(r'"(\w+)"', r"\1", head).strip()
    return head, sorted(_clauses(body.rstrip().removesuffix(")")))


def _sqlite_schema(conn: sa.Connection) -> dict[str, Any]:
    schema: dict[str, Any] = {}
    rows = conn.exec_driver_sql("SELECT type, name, tbl_name, sql FROM sqlite_master").all()
    for kind, name, table, sql in rows:
        if kind == "table" and sql:
            schema[f"table {name}"] = _sqlite_table(sql)
        else:
            schema[f"{kind} {name}"] = (table, sql)
    return schema


def _postgresql_schema(conn: sa.Connection) -> dict[str, Any]:
    schema: dict[str, Any] = {}
    queries = {
        "column": "SELECT table_name || '.' || column_name, data_type, character_maximum_length,"
        " is_nullable, column_default, is_identity FROM information_schema.columns"
        " WHERE table_schema = 'public'",
        "constraint": "SELECT c.conrelid::regclass::text || ' ' || c.conname, c.contype,"
        " pg_get_constraintdef(c.oid) FROM pg_constraint c JOIN pg_namespace n"
        " ON n.oid = c.connamespace WHERE n.nspname = 'public'",
        "index": "SELECT indexname, tablename, indexdef FROM pg_indexes"
        " WHERE schemaname = 'public'",
        "sequence": "SELECT sequencename, data_type::text, start_value, increment_by,"
        " max_value, cycle FROM pg_sequences WHERE schemaname = 'public'",
        "owned sequence": "SELECT s.relname, t.relname || '.' || a.attname FROM pg_depend d"
        " JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'"
        " JOIN pg_class t ON t.oid = d.refobjid"
        " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid",
        "type": "SELECT t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)"
        " FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname",
    }
    for kind, query in queries.items():
        for row in conn.exec_driver_sql(query).all():
            schema[f"{kind} {row[0]}"] = tuple(row[1:])
    return schema


def _schema(engine: sa.Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return _sqlite_schema(conn)
        return _postgresql_schema(conn)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_an_empty_database_gets_the_schema_the_migrations_make(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from alembic import command

    migrated = make_engine(_url(backend, tmp_path, "migrated", request))
    created = make_engine(_url(backend, tmp_path, "created", request))
    try:
        command.upgrade(alembic_config(migrated), "head")  # every migration in turn
        migrate(created)  # an empty database: the schema from the models
        assert current_revision(migrated) == current_revision(created) == HEAD
        by_migrations, by_models = _schema(migrated), _schema(created)
        assert len(by_models) > 40, "the comparison saw almost nothing"
        assert any("AUTOINCREMENT" in str(v) for v in by_models.values()) or backend != "sqlite"
        assert any(k.startswith("sequence ") for k in by_models) or backend != "postgresql"
        differences = {
            key: (by_migrations.get(key), by_models.get(key))
            for key in sorted(by_migrations.keys() | by_models.keys())
            if by_migrations.get(key) != by_models.get(key)
        }
        assert not differences, f"migrations vs models: {differences}"
        # Both take the next migration alike: Alembic sees each at its head.
        command.check(alembic_config(created))
        command.check(alembic_config(migrated))
    finally:
        migrated.dispose()
        created.dispose()


def test_a_database_with_tables_is_migrated_not_created(tmp_path: Path) -> None:
    """Only a database with no table at all is made from the models; one that holds a table
    (an older schema, or anything else) goes through the migrations."""
    from alembic import command

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        command.upgrade(alembic_config(engine), "0005_merge")
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO history (at, actor, object_type, object_id, action, comment) "
                "VALUES ('2026-01-01 00:00:00', 'admin', 'dns-zone', '7', 'delete', '')"
            )
        migrate(engine)
        assert current_revision(engine) == HEAD
        with engine.connect() as conn:
            # Migration 0006 ran: the zones' counter is past the id the history names.
            seq = conn.exec_driver_sql(
                "SELECT seq FROM sqlite_sequence WHERE name = 'dns_zones'"
            ).scalar()
            assert seq == 7
            assert conn.exec_driver_sql("SELECT count(*) FROM history").scalar() == 1
    finally:
        engine.dispose()
