"""A zone being imported is hidden until its last record is written.

A large import writes its records in short transactions (so that changes to other zones do
not wait for SQLite's one writer), into a zone marked ``importing``; the mark is cleared in
the transaction that writes the import's history. Until then the zone and its records are
found by no listing, search or lookup, and a zone left marked (Central stopped mid-import)
is deleted at the next start.

Revision ID: 0008_dns_zone_importing
Revises: 0007_dns_tsig_keys
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_dns_zone_importing"
down_revision = "0007_dns_tsig_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "dns_zones",
        sa.Column("importing", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    # SQLite drops a column by making the table again: keep its ids never reused
    with op.batch_alter_table("dns_zones", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_column("importing")
