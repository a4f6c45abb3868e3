"""A fleet: one-time join codes and the appliances joined to this Central.

Revision ID: 0009_fleet
Revises: 0008_dns_zone_importing
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from central.core.db import UTCDateTime

revision = "0009_fleet"
down_revision = "0008_dns_zone_importing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fleet_join_codes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("used_at", UTCDateTime, nullable=True),
        sa.Column("member_id", sa.Integer, nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_fleet_join_codes_code_hash", "fleet_join_codes", ["code_hash"], unique=True)
    op.create_table(
        "fleet_members",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("central_ca", sa.Text, nullable=False),
        sa.Column("server_ids", sa.JSON, nullable=False),
        sa.Column("joined_at", UTCDateTime, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_fleet_members_secret_hash", "fleet_members", ["secret_hash"], unique=True)


def downgrade() -> None:
    op.drop_table("fleet_members")
    op.drop_table("fleet_join_codes")
