"""Tables of IP address management: the tree of blocks and ranges, property definitions and
claims of addresses.

Each block and range keeps its ends twice: as text for people and as sortable keys
(``central.ipam.addresses.key``) for overlap and containment in SQL. Ids are never given
twice: they name objects in the history and in scripts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from central.core.db import NEVER_REUSED, Base, UTCDateTime, now

#: An address key (``central.ipam.addresses.key``): compared byte by byte on PostgreSQL too
#: (the database's collation would compare them by locale rules, more slowly).
Key = String(32).with_variant(String(32, collation="C"), "postgresql")


class IpamBlock(Base):
    """A prefix of the address space (``10.0.0.0/8``); holds blocks and ranges."""

    __tablename__ = "ipam_blocks"
    __table_args__ = (Index("ix_ipam_blocks_span", "family", "first_key", "last_key"), NEVER_REUSED)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("ipam_blocks.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    family: Mapped[int] = mapped_column(Integer)
    prefix: Mapped[str] = mapped_column(String(64))
    first_key: Mapped[str] = mapped_column(Key)
    last_key: Mapped[str] = mapped_column(Key)
    name: Mapped[str] = mapped_column(String(128), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class IpamRange(Base):
    """A stretch of addresses handed out one by one (``start``-``end``), inside a block or at
    the top of the tree; addresses are claimed in it."""

    __tablename__ = "ipam_ranges"
    __table_args__ = (Index("ix_ipam_ranges_span", "family", "first_key", "last_key"), NEVER_REUSED)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    block_id: Mapped[int | None] = mapped_column(
        ForeignKey("ipam_blocks.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    family: Mapped[int] = mapped_column(Integer)
    start: Mapped[str] = mapped_column(String(64))
    end: Mapped[str] = mapped_column(String(64))
    first_key: Mapped[str] = mapped_column(Key)
    last_key: Mapped[str] = mapped_column(Key)
    name: Mapped[str] = mapped_column(String(128), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Claims released so far: with the newest claim's id, tells next free whether what it
    #: knew of the range's claims still holds.
    # server_default: the column as migration 0010 made it (tests/central/test_schema.py).
    releases: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class IpamProperty(Base):
    """A custom property administrators define and set on blocks and ranges."""

    __tablename__ = "ipam_properties"
    __table_args__ = (UniqueConstraint("name"), NEVER_REUSED)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # text, number, boolean, choice
    choices: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class IpamClaim(Base):
    """An address of a range held by someone (a person or a script).

    The unique (range, key) pair is what makes a claim atomic: of two callers that pick the
    same free address, the second one's insert fails and it takes the next.
    """

    __tablename__ = "ipam_claims"
    __table_args__ = (
        UniqueConstraint("range_id", "key"),
        Index("ix_ipam_claims_range_id_id", "range_id", "id"),
        NEVER_REUSED,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    range_id: Mapped[int] = mapped_column(ForeignKey("ipam_ranges.id", ondelete="RESTRICT"))
    address: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(Key)
    owner: Mapped[str] = mapped_column(String(128), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    claimed_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class IpamSeen(Base):
    """An address discovery found in use (``central.ipam.discovery``): answering a ping
    sweep, or in a router's neighbour table with its MAC address; when first and last."""

    __tablename__ = "ipam_seen"
    __table_args__ = (UniqueConstraint("key"), Index("ix_ipam_seen_family_key", "family", "key"),
                      NEVER_REUSED)  # fmt: skip

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    family: Mapped[int] = mapped_column(Integer)
    address: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(Key)
    mac: Mapped[str] = mapped_column(String(32), default="")
    #: "ping" or "snmp ROUTER" (the last discovery that saw it)
    seen_by: Mapped[str] = mapped_column(String(80), default="")
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class IpamSnmpProfile(Base):
    """How Central reads the routers of one security realm over SNMP: v1 or v2c with a
    community, or v3 as a user with authPriv (``central.ipam.profiles``).

    The community and the passphrases are kept here because Central must send them; they are
    written through the API and never shown again, nor put in the history or the logs."""

    __tablename__ = "ipam_snmp_profiles"
    __table_args__ = (UniqueConstraint("name"), NEVER_REUSED)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[str] = mapped_column(String(4))  # 1, 2c, 3
    community: Mapped[str] = mapped_column(String(64), default="")
    user: Mapped[str] = mapped_column(String(32), default="")
    auth_protocol: Mapped[str] = mapped_column(String(16), default="sha256")
    auth_passphrase: Mapped[str] = mapped_column(String(128), default="")
    priv_protocol: Mapped[str] = mapped_column(String(16), default="aes128")
    priv_passphrase: Mapped[str] = mapped_column(String(128), default="")
    port: Mapped[int] = mapped_column(Integer, default=161)
    timeout: Mapped[float] = mapped_column(Float, default=2.0)
    retries: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class IpamDiscoverySchedule(Base):
    """A discovery Central runs every ``interval_seconds`` (``central.ipam.schedules``): the
    neighbour table of a router read with a stored SNMP profile (``kind`` ``router``), or a
    ping sweep of a range (``sweep``); with what its last run did."""

    __tablename__ = "ipam_discovery_schedules"
    __table_args__ = (UniqueConstraint("name"), NEVER_REUSED)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(8))  # router, sweep
    router: Mapped[str | None] = mapped_column(String(64), nullable=True)
    profile_id: Mapped[int | None] = mapped_column(
        ForeignKey("ipam_snmp_profiles.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    range_id: Mapped[int | None] = mapped_column(
        ForeignKey("ipam_ranges.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    rate: Mapped[float] = mapped_column(Float, default=200.0)
    interval_seconds: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    last_run_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: "ok" or "error" (empty: never run)
    last_result: Mapped[str] = mapped_column(String(8), default="")
    last_found: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_new: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
