"""Join the DNS and DHCP migrations, written side by side, into one history.

Revision ID: 0003_merge
Revises: 0002_dns, 0002_dhcp
"""

from __future__ import annotations

revision = "0003_merge"
down_revision = ("0002_dns", "0002_dhcp")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: both branches' tables already exist."""


def downgrade() -> None:
    """Nothing to undo."""
