"""DNS zones and records.

Revision ID: 0002_dns
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from central.core.db import UTCDateTime

revision = "0002_dns"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dns_zones",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "server_id",
            sa.Integer,
            sa.ForeignKey("servers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("ttl", sa.Integer, nullable=False),
        sa.Column("serial", sa.BigInteger, nullable=True),
        sa.Column("soa", sa.Text, nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("record_count", sa.Integer, nullable=False),
        sa.Column("synced_at", UTCDateTime, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_dns_zones_name", "dns_zones", ["name"])
    op.create_index("ix_dns_zones_server_name", "dns_zones", ["server_id", "name"], unique=True)
    op.create_table(
        "dns_records",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "zone_id",
            sa.Integer,
            sa.ForeignKey("dns_zones.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("type", sa.String(10), nullable=False),
        sa.Column("ttl", sa.Integer, nullable=False),
        sa.Column("data", sa.String(4000), nullable=False),
    )
    op.create_index("ix_dns_records_zone_id", "dns_records", ["zone_id"])
    op.create_index("ix_dns_records_name", "dns_records", ["name"])
    op.create_index("ix_dns_records_type_data", "dns_records", ["type", "data"])
    op.create_index("ix_dns_records_type_name", "dns_records", ["type", "name"])


def downgrade() -> None:
    op.drop_table("dns_records")
    op.drop_table("dns_zones")
