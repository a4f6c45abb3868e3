"""Tables of the backup store: pairing tokens, paired peers, their snapshots, replacement offers.

A *peer* here is an appliance (S) that sends its backups to this Central (P). Chunks are not
rows: they are encrypted files under ``var/lib/burrow/backup-store/`` (see ``store``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from central.core.db import NEVER_REUSED, Base, UTCDateTime, now


class PairingToken(Base):
    """A one-time token with which the appliance at ``address`` pairs (15 minutes)."""

    __tablename__ = "backup_pairing_tokens"
    # A unique constraint and a plain index, as migration 0004 made them.
    __table_args__ = (Index("ix_backup_pairing_tokens_token_hash", "token_hash"), NEVER_REUSED)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    address: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    peer_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class BackupPeer(Base):
    """An appliance paired with this Central: its identity, pinned certificate and credential."""

    __tablename__ = "backup_peers"
    __table_args__ = (Index("ix_backup_peers_credential_hash", "credential_hash"), NEVER_REUSED)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appliance_id: Mapped[str] = mapped_column(String(64), index=True)
    hostname: Mapped[str] = mapped_column(String(255), default="")
    address: Mapped[str] = mapped_column(String(64), index=True)
    agent_fingerprint: Mapped[str] = mapped_column(String(80))
    agent_certificate: Mapped[str] = mapped_column(Text)
    credential_hash: Mapped[str] = mapped_column(String(64), unique=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    paired_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    last_upload_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reachable: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    last_check_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_check_error: Mapped[str] = mapped_column(Text, default="")
    last_identity: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class BackupSnapshot(Base):
    """One complete snapshot of a peer: the root (manifest) hash and what S said of it."""

    __tablename__ = "backup_snapshots"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    peer_id: Mapped[int] = mapped_column(
        ForeignKey("backup_peers.id", ondelete="CASCADE"), index=True
    )
    root: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[str] = mapped_column(String(40))
    sequence: Mapped[int] = mapped_column(BigInteger, default=0)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class Replacement(Base):
    """An offer to restore a peer onto the uninitialized appliance found at its address."""

    __tablename__ = "backup_replacements"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    peer_id: Mapped[int] = mapped_column(
        ForeignKey("backup_peers.id", ondelete="CASCADE"), index=True
    )
    address: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(80))
    appliance_id: Mapped[str] = mapped_column(String(64))
    hostname: Mapped[str] = mapped_column(String(255), default="")
    state: Mapped[str] = mapped_column(String(16), default="offered", index=True)
    step: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    snapshot_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    approved_by: Mapped[str] = mapped_column(String(64), default="")
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
