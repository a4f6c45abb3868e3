"""Ids are never given twice: not after the object with the highest id is deleted, and not
after the migration that brought this in (``0006_ids``), on SQLite and on PostgreSQL."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import sqlalchemy as sa

from central.core.db import Base, alembic_config, make_engine
from tests.central.conftest import Api
from tests.harness.postgres import Postgres

_databases = itertools.count(1)


def _with_integer_ids() -> list[str]:
    """Central's tables whose primary key is one integer column."""
    found = []
    for table in Base.metadata.sorted_tables:
        keys = list(table.primary_key.columns)
        if len(keys) == 1 and isinstance(keys[0].type, sa.Integer) and not keys[0].foreign_keys:
            found.append(table.name)
    return sorted(found)


def test_a_deleted_users_id_is_not_given_again(central: Api) -> None:
    first = central.make_user()
    highest = central.make_user()
    assert highest.id > first.id
    gone = central.delete(f"/api/v1/users/{highest.id}?comment=leaves")
    assert gone.status_code == 204, gone.text
    again = central.make_user()
    assert again.id > highest.id, f"id {highest.id} of a deleted user was given again"
    history = central.get(f"/api/v1/history?filter=object_type:user object_id:{again.id}")
    assert history.status_code == 200, history.text
    assert [item["action"] for item in history.json()["items"]] == ["create"]


def _database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'central.db'}"
    server: Postgres = request.getfixturevalue("postgres")
    return server.create_database(f"ids{next(_databases)}")


def _upgrade(engine: sa.Engine, revision: str) -> None:
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_migration_keeps_every_row_and_gives_no_id_twice(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    engine = make_engine(_database(backend, tmp_path, request))
    try:
        _upgrade(engine, "0005_merge")
        stamp = "2026-01-01 00:00:00"
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO servers (id, name, kind, address, port, fingerprint, state, "
                    "local, version, last_error, cert_serial, created_at, updated_at) VALUES "
                    "(4, 'ns', 'dns', '198.51.100.9', 1337, 'ab', 'online', false, '', '', '', "
                    ":t, :t)"
                ),
                {"t": stamp},
            )
            for zone_id in (1, 2, 3):
                conn.execute(
                    sa.text(
                        "INSERT INTO dns_zones (id, server_id, name, kind, enabled, ttl, soa, "
                        "spec, record_count, created_at, updated_at) VALUES (:id, 4, :name, "
                        "'primary', true, 3600, '', '{}', 1, :t, :t)"
                    ),
                    {"id": zone_id, "name": f"z{zone_id}.test.", "t": stamp},
                )
                conn.execute(
                    sa.text(
                        "INSERT INTO dns_records (zone_id, name, type, ttl, data) "
                        "VALUES (:z, :n, 'A', 300, '198.51.100.1')"
                    ),
                    {"z": zone_id, "n": f"www.z{zone_id}.test."},
                )
            # Zone 7 existed once: only the history remembers it.
            conn.execute(
                sa.text(
                    "INSERT INTO history (at, actor, object_type, object_id, action, comment) "
                    "VALUES (:t, 'admin', 'dns-zone', '7', 'delete', '')"
                ),
                {"t": stamp},
            )
            conn.execute(sa.text("DELETE FROM dns_zones WHERE id = 3"))

        _upgrade(engine, "head")

        with engine.begin() as conn:
            zones = conn.execute(sa.text("SELECT id, name FROM dns_zones ORDER BY id")).all()
            assert [tuple(z) for z in zones] == [(1, "z1.test."), (2, "z2.test.")]
            records = conn.execute(sa.text("SELECT zone_id FROM dns_records ORDER BY zone_id"))
            assert list(records.scalars()) == [1, 2], "rows referring to a rebuilt table are lost"
            new_id = conn.execute(
                sa.text(
                    "INSERT INTO dns_zones (server_id, name, kind, enabled, ttl, soa, spec, "
                    "record_count, created_at, updated_at) VALUES (4, 'new.test.', 'primary', "
                    "true, 3600, '', '{}', 0, :t, :t) RETURNING id"
                ),
                {"t": stamp},
            ).scalar_one()
            assert new_id > 7, f"zone id {new_id} was given before"
            conn.execute(sa.text("DELETE FROM dns_zones WHERE id = :i"), {"i": new_id})
            again = conn.execute(
                sa.text(
                    "INSERT INTO dns_zones (server_id, name, kind, enabled, ttl, soa, spec, "
                    "record_count, created_at, updated_at) VALUES (4, 'again.test.', "
                    "'primary', true, 3600, '', '{}', 0, :t, :t) RETURNING id"
                ),
                {"t": stamp},
            ).scalar_one()
            assert again > new_id, "the id of the deleted zone with the highest id came back"
            if backend == "sqlite":
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                for table in _with_integer_ids():
                    sql = conn.execute(
                        sa.text("SELECT sql FROM sqlite_master WHERE name = :t"), {"t": table}
                    ).scalar_one()
                    assert "AUTOINCREMENT" in sql, f"{table} may give an id twice"
            else:
                for table in _with_integer_ids():
                    sequence = conn.execute(
                        sa.text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table}
                    ).scalar()
                    assert sequence, f"{table}'s ids come from no sequence"
    finally:
        engine.dispose()
