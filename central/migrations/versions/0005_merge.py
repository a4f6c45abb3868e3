"""Join the backups and the DNS server options migrations, written side by side.

Revision ID: 0005_merge
Revises: 0004_backups, 0004_dns_options
"""

from __future__ import annotations

revision = "0005_merge"
down_revision = ("0004_backups", "0004_dns_options")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: both branches' tables already exist."""


def downgrade() -> None:
    """Nothing to undo."""
