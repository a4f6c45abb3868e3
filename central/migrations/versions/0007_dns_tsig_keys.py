"""TSIG key objects of DNS servers; secrets taken out of stored zones and their history.

A secondary zone's TSIG secret was kept in the zone's options and written into its history
entries, where every role could read it. The secret is the dns-agent's alone: it is removed
from both (``"secret"`` of ``tsig_key``), and Central never stores one again.

Revision ID: 0007_dns_tsig_keys
Revises: 0006_ids
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from central.core.db import UTCDateTime

revision = "0007_dns_tsig_keys"
down_revision = "0006_ids"
branch_labels = None
depends_on = None


def _scrubbed(value: Any) -> tuple[Any, bool]:
    """``value`` with every ``tsig_key.secret`` removed, and whether one was."""
    if isinstance(value, dict):
        changed = False
        out = {}
        for key, item in value.items():
            if key == "tsig_key" and isinstance(item, dict) and "secret" in item:
                out[key] = {k: v for k, v in item.items() if k != "secret"}
                changed = True
                continue
            out[key], inner = _scrubbed(item)
            changed = changed or inner
        return out, changed
    if isinstance(value, list):
        items = [_scrubbed(item) for item in value]
        return [item for item, _ in items], any(changed for _, changed in items)
    return value, False


def upgrade() -> None:
    op.create_table(
        "dns_tsig_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "server_id", sa.Integer, sa.ForeignKey("servers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sqlite_autoincrement=True,  # an id names the key in the history: never given twice
    )  # fmt: skip
    op.create_index(
        "ix_dns_tsig_keys_server_name", "dns_tsig_keys", ["server_id", "name"], unique=True
    )
    bind = op.get_bind()
    zones = sa.table("dns_zones", sa.column("id", sa.Integer), sa.column("spec", sa.JSON))
    for row_id, spec in bind.execute(sa.select(zones.c.id, zones.c.spec)).all():
        clean, changed = _scrubbed(spec)
        if changed:
            bind.execute(zones.update().where(zones.c.id == row_id).values(spec=clean))
    history = sa.table(
        "history",
        sa.column("id", sa.Integer),
        sa.column("object_type", sa.String),
        sa.column("before", sa.JSON),
        sa.column("after", sa.JSON),
    )
    query = sa.select(history.c.id, history.c.before, history.c.after).where(
        history.c.object_type == "dns-zone"
    )
    for row_id, before, after in bind.execute(query).all():
        clean_before, changed_before = _scrubbed(before)
        clean_after, changed_after = _scrubbed(after)
        if changed_before or changed_after:
            bind.execute(
                history.update()
                .where(history.c.id == row_id)
                .values(before=clean_before, after=clean_after)
            )


def downgrade() -> None:
    op.drop_index("ix_dns_tsig_keys_server_name", table_name="dns_tsig_keys")
    op.drop_table("dns_tsig_keys")
