"""DHCP management: configuration snapshots per Kea daemon and the global client classes.

Revision ID: 0002_dhcp
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from central.core.db import UTCDateTime

revision = "0002_dhcp"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dhcp_snapshots",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "server_id",
            sa.Integer,
            sa.ForeignKey("servers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("family", sa.String(2), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("synced_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("server_id", "family"),
    )
    op.create_table(
        "dhcp_global_classes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("family", sa.String(2), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("family", "name"),
    )


def downgrade() -> None:
    op.drop_table("dhcp_global_classes")
    op.drop_table("dhcp_snapshots")
