"""IP address management: blocks, ranges, property definitions and claims.

Revision ID: 0010_ipam
Revises: 0009_fleet
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from central.core.db import UTCDateTime

revision = "0010_ipam"
down_revision = "0009_fleet"
branch_labels = None
depends_on = None


#: Address keys compare byte by byte on PostgreSQL too (not by the database's locale).
KEY = sa.String(32).with_variant(sa.String(32, collation="C"), "postgresql")


def _span_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("family", sa.Integer, nullable=False),
        sa.Column("first_key", KEY, nullable=False),
        sa.Column("last_key", KEY, nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("properties", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    ]


def upgrade() -> None:
    # ids are never given twice (SQLite's AUTOINCREMENT): they name objects in the history
    op.create_table(
        "ipam_blocks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("parent_id", sa.Integer,
                  sa.ForeignKey("ipam_blocks.id", ondelete="RESTRICT"), nullable=True),
        sa.Column("prefix", sa.String(64), nullable=False),
        *_span_columns(),
        sqlite_autoincrement=True,
    )  # fmt: skip
    op.create_index("ix_ipam_blocks_parent_id", "ipam_blocks", ["parent_id"])
    op.create_index("ix_ipam_blocks_span", "ipam_blocks", ["family", "first_key", "last_key"])
    op.create_table(
        "ipam_ranges",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("block_id", sa.Integer,
                  sa.ForeignKey("ipam_blocks.id", ondelete="RESTRICT"), nullable=True),
        sa.Column("start", sa.String(64), nullable=False),
        sa.Column("end", sa.String(64), nullable=False),
        sa.Column("releases", sa.Integer, nullable=False, server_default="0"),
        *_span_columns(),
        sqlite_autoincrement=True,
    )  # fmt: skip
    op.create_index("ix_ipam_ranges_block_id", "ipam_ranges", ["block_id"])
    op.create_index("ix_ipam_ranges_span", "ipam_ranges", ["family", "first_key", "last_key"])
    op.create_table(
        "ipam_properties",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("choices", sa.JSON, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("name"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "ipam_claims",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("range_id", sa.Integer,
                  sa.ForeignKey("ipam_ranges.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("key", KEY, nullable=False),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("range_id", "key"),
        sqlite_autoincrement=True,
    )  # fmt: skip
    op.create_index("ix_ipam_claims_range_id_id", "ipam_claims", ["range_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_ipam_claims_range_id_id", table_name="ipam_claims")
    op.drop_table("ipam_claims")
    op.drop_table("ipam_properties")
    op.drop_index("ix_ipam_ranges_span", table_name="ipam_ranges")
    op.drop_index("ix_ipam_ranges_block_id", table_name="ipam_ranges")
    op.drop_table("ipam_ranges")
    op.drop_index("ix_ipam_blocks_span", table_name="ipam_blocks")
    op.drop_index("ix_ipam_blocks_parent_id", table_name="ipam_blocks")
    op.drop_table("ipam_blocks")
