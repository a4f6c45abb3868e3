"""Discovery kept as objects: SNMP profiles (one per security realm) and discovery schedules
(a router read with a profile, or a range swept, every N seconds, with their last run).

Revision ID: 0012_ipam_discovery
Revises: 0011_ipam_seen
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from central.core.db import UTCDateTime

revision = "0012_ipam_discovery"
down_revision = "0011_ipam_seen"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ipam_snmp_profiles",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("version", sa.String(4), nullable=False),
        sa.Column("community", sa.String(64), nullable=False),
        sa.Column("user", sa.String(32), nullable=False),
        sa.Column("auth_protocol", sa.String(16), nullable=False),
        sa.Column("auth_passphrase", sa.String(128), nullable=False),
        sa.Column("priv_protocol", sa.String(16), nullable=False),
        sa.Column("priv_passphrase", sa.String(128), nullable=False),
        sa.Column("port", sa.Integer, nullable=False),
        sa.Column("timeout", sa.Float, nullable=False),
        sa.Column("retries", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("name"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "ipam_discovery_schedules",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("router", sa.String(64), nullable=True),
        sa.Column(
            "profile_id",
            sa.Integer,
            sa.ForeignKey("ipam_snmp_profiles.id", ondelete="RESTRICT"),
            nullable=True,
        ),
        sa.Column(
            "range_id",
            sa.Integer,
            sa.ForeignKey("ipam_ranges.id", ondelete="RESTRICT"),
            nullable=True,
        ),
        sa.Column("rate", sa.Float, nullable=False),
        sa.Column("interval_seconds", sa.Integer, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("last_run_at", UTCDateTime, nullable=True),
        sa.Column("last_result", sa.String(8), nullable=False),
        sa.Column("last_found", sa.Integer, nullable=True),
        sa.Column("last_new", sa.Integer, nullable=True),
        sa.Column("last_seconds", sa.Float, nullable=True),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("name"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_ipam_discovery_schedules_profile_id", "ipam_discovery_schedules", ["profile_id"]
    )
    op.create_index(
        "ix_ipam_discovery_schedules_range_id", "ipam_discovery_schedules", ["range_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_ipam_discovery_schedules_range_id", "ipam_discovery_schedules")
    op.drop_index("ix_ipam_discovery_schedules_profile_id", "ipam_discovery_schedules")
    op.drop_table("ipam_discovery_schedules")
    op.drop_table("ipam_snmp_profiles")
