"""Ids that are never given twice: SQLite tables rebuilt with AUTOINCREMENT.

Revision ID: 0006_ids
Revises: 0005_merge

On SQLite a table without AUTOINCREMENT gives a new row the highest id + 1, so deleting the
object with the highest id hands its id to the next one: the history of one id then mixes two
objects, and a script holding the old id changes the new object. Every table with an integer
id is rebuilt with AUTOINCREMENT (Alembic's batch mode: a copy with the same rows, indexes and
constraints, then the old table dropped; ``env.py`` turns foreign keys off meanwhile so that
no drop cascades). SQLite's counter starts at the highest id kept, or higher where the history
names a deleted object of that kind with a higher id, so ids given before this migration are
not given again either.

PostgreSQL's serial columns draw from sequences, which never go back; each is only moved past
the highest id its table holds or its history names, in case rows were copied in with ids.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_ids"
down_revision = "0005_merge"
branch_labels = None
depends_on = None

#: Tables with an integer id, and the history's object type of their rows (if it has one).
TABLES: dict[str, str | None] = {
    "users": "user",
    "tokens": "session",
    "servers": "server",
    "enrolment_tokens": None,
    "history": None,
    "dns_zones": "dns-zone",
    "dns_records": None,
    "dns_tsig_keys": "dns-tsig-key",
    "dhcp_snapshots": None,
    "dhcp_global_classes": None,
    "backup_pairing_tokens": None,
    "backup_peers": "backup-peer",
    "backup_snapshots": None,
    "backup_replacements": "replacement",
}


def _highest_in_history(bind: sa.Connection, object_type: str) -> int:
    ids = bind.execute(
        sa.text("SELECT object_id FROM history WHERE object_type = :t"), {"t": object_type}
    ).scalars()
    return max((int(i) for i in ids if str(i).isdigit()), default=0)


def _highest(bind: sa.Connection, table: str, object_type: str | None) -> int:
    """The highest id ``table`` holds, or its history names."""
    ids = sa.table(table, sa.column("id"))
    highest = int(bind.execute(sa.select(sa.func.coalesce(sa.func.max(ids.c.id), 0))).scalar_one())
    if object_type is not None:
        highest = max(highest, _highest_in_history(bind, object_type))
    return highest


def _sqlite(bind: sa.Connection, table: str, object_type: str | None) -> None:
    with op.batch_alter_table(
        table, recreate="always", table_kwargs={"sqlite_autoincrement": True}
    ):
        pass
    highest = _highest(bind, table, object_type)
    bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = :t"), {"t": table})
    bind.execute(
        sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :s)"),
        {"t": table, "s": highest},
    )


def _postgresql(bind: sa.Connection, table: str, object_type: str | None) -> None:
    """A sequence never goes back; it is only moved past ids given without it (rows copied in
    with their ids) or named by the history."""
    sequence = bind.execute(
        sa.text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table}
    ).scalar()
    if not sequence:
        return
    highest = _highest(bind, table, object_type)
    last = bind.execute(
        sa.text(
            "SELECT coalesce(last_value, 0) FROM pg_sequences "
            "WHERE schemaname || '.' || sequencename = :s"
        ),
        {"s": sequence},
    ).scalar()
    if highest > int(last or 0):
        bind.execute(sa.text("SELECT setval(:s, :v, true)"), {"s": sequence, "v": highest})


def upgrade() -> None:
    bind = op.get_bind()
    existing = set(sa.inspect(bind).get_table_names())
    for table, object_type in TABLES.items():
        if table not in existing:
            continue
        if bind.dialect.name == "sqlite":
            _sqlite(bind, table, object_type)
        elif bind.dialect.name == "postgresql":
            _postgresql(bind, table, object_type)


def downgrade() -> None:
    """Nothing to undo: AUTOINCREMENT tables hold the same rows and take the same statements."""
