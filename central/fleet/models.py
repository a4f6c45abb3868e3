"""The managing Central's side of a fleet: one-time join codes and the appliances joined.

The joined appliance's side is no table: it is the directory ``pki/fleet`` of its state root
(``services.common.enrolment.fleet_dir``), whose ``membership.json`` says it is in a fleet.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from central.core.db import NEVER_REUSED, Base, UTCDateTime, now


class FleetJoinCode(Base):
    """A one-time code with which one appliance joins this Central's fleet (stored hashed)."""

    __tablename__ = "fleet_join_codes"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    member_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class FleetMember(Base):
    """An appliance whose agents this Central manages (they are servers of the registry)."""

    __tablename__ = "fleet_members"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    address: Mapped[str] = mapped_column(String(64))
    #: The member's own Central proves a leave with this (stored hashed).
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    #: The member's appliance CA: this Central checks the member's Central with it when it
    #: tells that Central the appliance left.
    central_ca: Mapped[str] = mapped_column(Text)
    server_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    joined_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
