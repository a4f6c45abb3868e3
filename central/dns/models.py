"""Tables of DNS zones and their records, as Central last knew named to serve them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from central.core.db import NEVER_REUSED, Base, UTCDateTime, now


class DnsZone(Base):
    """A zone of one DNS server of the registry; ``spec`` holds its options (contract fields)."""

    __tablename__ = "dns_zones"
    __table_args__ = (
        Index("ix_dns_zones_server_name", "server_id", "name", unique=True),
        NEVER_REUSED,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    ttl: Mapped[int] = mapped_column(Integer, default=3600)
    serial: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    soa: Mapped[str] = mapped_column(Text, default="")
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    record_count: Mapped[int] = mapped_column(Integer, default=0)
    #: True while an import writes the zone's records: the zone is found by nothing until
    #: the import's last transaction clears it (migration ``0008_dns_zone_importing``).
    importing: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    synced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class DnsRecord(Base):
    """One record (not the SOA): absolute owner name, type, TTL and presentation data."""

    __tablename__ = "dns_records"
    __table_args__ = (
        Index("ix_dns_records_type_data", "type", "data"),
        Index("ix_dns_records_type_name", "type", "name"),
        NEVER_REUSED,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("dns_zones.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    type: Mapped[str] = mapped_column(String(10))
    ttl: Mapped[int] = mapped_column(Integer)
    data: Mapped[str] = mapped_column(String(4000))


class DnsServerOptions(Base):
    """The server options (forwarders, recursion, listen addresses, DNSSEC validation) of one
    DNS server, as Central last set them or read them back at a sync."""

    __tablename__ = "dns_server_options"

    server_id: Mapped[int] = mapped_column(
        ForeignKey("servers.id", ondelete="CASCADE"), primary_key=True
    )
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    synced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class DnsTsigKey(Base):
    """A TSIG key object of one DNS server: its name and algorithm. The secret is never
    stored here: it is shown once when the key is made and kept by the dns-agent alone."""

    __tablename__ = "dns_tsig_keys"
    # An id names the key in the history: never given twice (SQLite's AUTOINCREMENT).
    __table_args__ = (
        Index("ix_dns_tsig_keys_server_name", "server_id", "name", unique=True),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    algorithm: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
