"""Central's tables of DHCP management: the last known configuration of each Kea daemon, and
the global client classes that every managed DHCP server carries.

Kea is authoritative: a snapshot is what Central last saw (and what it compares the agent's
configuration hash with to notice changes made behind its back).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from central.core.db import NEVER_REUSED, Base, UTCDateTime, now


class DhcpSnapshot(Base):
    """The configuration of one Kea daemon (``v4`` or ``v6``) of one server, and its hash."""

    __tablename__ = "dhcp_snapshots"
    __table_args__ = (UniqueConstraint("server_id", "family"), NEVER_REUSED)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"))
    family: Mapped[str] = mapped_column(String(2))
    hash: Mapped[str] = mapped_column(String(64))
    # Read only when asked for: most requests are answered from a cached view by the hash.
    config: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True)
    synced_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class GlobalClass(Base):
    """A client class marked global: Central puts it on every managed DHCP server."""

    __tablename__ = "dhcp_global_classes"
    __table_args__ = (UniqueConstraint("family", "name"), NEVER_REUSED)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    family: Mapped[str] = mapped_column(String(2))
    name: Mapped[str] = mapped_column(String(128))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
