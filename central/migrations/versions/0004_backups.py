"""Backups at this Central: pairing tokens, paired peers, their snapshots, replacement offers.

Revision ID: 0004_backups
Revises: 0003_merge
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from central.core.db import UTCDateTime

revision = "0004_backups"
down_revision = "0003_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backup_pairing_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("used_at", UTCDateTime, nullable=True),
        sa.Column("peer_id", sa.Integer, nullable=True),
    )
    op.create_index("ix_backup_pairing_tokens_token_hash", "backup_pairing_tokens", ["token_hash"])
    op.create_table(
        "backup_peers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("appliance_id", sa.String(64), nullable=False),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("agent_fingerprint", sa.String(80), nullable=False),
        sa.Column("agent_certificate", sa.Text, nullable=False),
        sa.Column("credential_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("paired_at", UTCDateTime, nullable=False),
        sa.Column("last_upload_at", UTCDateTime, nullable=True),
        sa.Column("reachable", sa.Boolean, nullable=True),
        sa.Column("last_check_at", UTCDateTime, nullable=True),
        sa.Column("last_check_error", sa.Text, nullable=False),
        sa.Column("last_identity", sa.JSON, nullable=True),
    )
    op.create_index("ix_backup_peers_appliance_id", "backup_peers", ["appliance_id"])
    op.create_index("ix_backup_peers_address", "backup_peers", ["address"])
    op.create_index("ix_backup_peers_credential_hash", "backup_peers", ["credential_hash"])
    op.create_table(
        "backup_snapshots",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "peer_id",
            sa.Integer,
            sa.ForeignKey("backup_peers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("chunks", sa.Integer, nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_backup_snapshots_peer_id", "backup_snapshots", ["peer_id"])
    op.create_table(
        "backup_replacements",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "peer_id",
            sa.Integer,
            sa.ForeignKey("backup_peers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(80), nullable=False),
        sa.Column("appliance_id", sa.String(64), nullable=False),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("step", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("snapshot_id", sa.Integer, nullable=True),
        sa.Column("approved_by", sa.String(64), nullable=False),
        sa.Column("first_seen", UTCDateTime, nullable=False),
        sa.Column("last_seen", UTCDateTime, nullable=False),
        sa.Column("approved_at", UTCDateTime, nullable=True),
        sa.Column("finished_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_backup_replacements_peer_id", "backup_replacements", ["peer_id"])
    op.create_index("ix_backup_replacements_state", "backup_replacements", ["state"])


def downgrade() -> None:
    op.drop_table("backup_replacements")
    op.drop_table("backup_snapshots")
    op.drop_table("backup_peers")
    op.drop_table("backup_pairing_tokens")
