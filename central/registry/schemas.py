"""What the registry's routes answer: servers, enrolment, revoked certificates, events."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ServerPublic(BaseModel):
    """A managed DNS server, DHCP server, caching DNS server or appliance, and what Central
    last saw of its agent."""

    id: int
    kind: Literal["dns", "dhcp", "caching", "appliance"] = Field(
        description="dns (BIND), dhcp (Kea), caching (Unbound: a caching DNS server) or "
        "appliance (its network, backups)"
    )
    name: str
    address: str
    port: int
    local: bool = Field(description="an agent of Central's own appliance")
    state: str = Field(
        description="awaiting-enrolment, enrolled, reachable, unreachable, untrusted, revoked"
    )
    version: str
    last_seen: dt.datetime | None
    last_error: str
    fingerprint: str = Field(description="sha256 of the pinned agent certificate")
    cert_serial: str
    enrolled_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class ServerPage(BaseModel):
    """A page of servers (``total`` counts every match)."""

    items: list[ServerPublic]
    total: int
    offset: int
    limit: int


class EnrolmentTokenIssued(BaseModel):
    """A one-time enrolment token, shown once."""

    token: str
    expires_at: dt.datetime
    server_id: int
    file: str = Field(description="where the agent looks for it")


class Enrolled(BaseModel):
    """An agent's signed certificate and the appliance CA's."""

    certificate: str = Field(description="PEM")
    ca_certificate: str = Field(description="PEM")
    server_id: int


class CentralClientCertificate(BaseModel):
    """Central's client certificate: what it presents to its agents and to a replacement's
    restore receiver (4605)."""

    certificate: str = Field(description="PEM")
    fingerprint: str = Field(description="SHA-256 of the DER certificate, colon-separated hex")


class RevokedPublic(BaseModel):
    """A revoked certificate (in the CRL every agent checks)."""

    serial: str
    subject: str
    revoked_at: dt.datetime
    reason: str


class RevokedPage(BaseModel):
    """A page of revoked certificates."""

    items: list[RevokedPublic]
    total: int
    offset: int
    limit: int


class ServiceEvent(BaseModel):
    """A crash or FATAL state of a program, recorded by supervisord."""

    model_config = ConfigDict(extra="allow")
    time: str
    program: str
    kind: str = Field(description="crash or fatal")
    pid: int = 0
    exit: str | None = None
    restarts: int = 0


class ServiceEventPage(BaseModel):
    """The newest service events of a server's programs."""

    items: list[ServiceEvent]
    total: int
    offset: int
    limit: int
