"""Addresses discovery found in use: by a ping sweep of a range, or in a router's neighbour
table read over SNMP (``central.ipam.discovery``).

Revision ID: 0011_ipam_seen
Revises: 0010_ipam
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from central.core.db import UTCDateTime

revision = "0011_ipam_seen"
down_revision = "0010_ipam"
branch_labels = None
depends_on = None

KEY = sa.String(32).with_variant(sa.String(32, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "ipam_seen",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("family", sa.Integer, nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("key", KEY, nullable=False),
        sa.Column("mac", sa.String(32), nullable=False),
        sa.Column("seen_by", sa.String(80), nullable=False),
        sa.Column("first_seen", UTCDateTime, nullable=False),
        sa.Column("last_seen", UTCDateTime, nullable=False),
        sa.UniqueConstraint("key"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_ipam_seen_family_key", "ipam_seen", ["family", "key"])


def downgrade() -> None:
    op.drop_index("ix_ipam_seen_family_key", "ipam_seen")
    op.drop_table("ipam_seen")
