"""The request and response models of Central's DNS API (``/api/v1/dns``).

Requests derive from the wire contract with the dns-agent (``services.common.dns.contract``),
so a body is one model from the caller through Central to the agent; they are ``Input``
models: unknown fields are refused and nothing is coerced (``"ttl": "60"`` is a 422 naming
``ttl``). Responses are declared on every route, so the OpenAPI document describes them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.common.dns.contract import (
    ImportRefusal,
    Soa,
    ZoneCreate,
    ZoneImport,
    ZoneKind,
    ZoneUpdate,
)
from services.common.dns.options import ServerOptions
from services.common.model import Input
from services.common.problems import ProblemItem

ID = Field(ge=1, le=2**31 - 1)
COMMENT = Field(default="", max_length=1000, description="save comment, kept in the history")


# --- requests ------------------------------------------------------------------------------
class ZoneCreateRequest(ZoneCreate):
    """A new zone on DNS server ``server_id``."""

    server_id: int = ID
    comment: str = COMMENT


class ZoneUpdateRequest(ZoneUpdate):
    """SOA fields and zone options to change."""

    comment: str = COMMENT


class ZoneImportRequest(ZoneImport):
    """A zone file (BIND master format) that becomes a managed primary zone of ``server_id``."""

    server_id: int = ID
    comment: str = COMMENT


class TtlChange(Input):
    """Set the TTL of every record whose owner matches ``pattern`` (``*`` and ``?`` globs)."""

    pattern: str = Field(min_length=1, max_length=255, description="e.g. *.example.com.")
    type: str | None = Field(default=None, max_length=10)
    ttl: int = Field(ge=0, le=2**31 - 1)
    comment: str = COMMENT


class Repoint(Input):
    """Re-point every A (or AAAA) record from the address ``old`` to ``new``."""

    old: str = Field(min_length=2, max_length=64)
    new: str = Field(min_length=2, max_length=64)
    comment: str = COMMENT


class OptionsRequest(Input):
    """The whole set of server options (what is left out takes its default), with a comment."""

    options: ServerOptions
    comment: str = COMMENT


# --- responses -----------------------------------------------------------------------------
class _View(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TsigKeyView(_View):
    """The TSIG key a secondary or stub zone uses (its secret is not shown)."""

    name: str
    algorithm: str


class ZoneOptions(_View):
    """A zone's options as Central last knew named to run them."""

    nameservers: list[str] = []
    primaries: list[str] = []
    tsig_key: TsigKeyView | None = None
    forwarders: list[str] = []
    forward_only: bool = True
    allow_transfer: list[str] = []
    allow_update: list[str] = []
    notify: str = "no"
    also_notify: list[str] = []
    update_keys: list[str] = Field(default=[], description="TSIG keys that may update it")
    transfer_keys: list[str] = Field(default=[], description="TSIG keys that may transfer it")
    update_grants: list[dict[str, Any]] = Field(
        default=[], description="keys that may update some names and types (update-policy)"
    )
    dnssec_policy: str | None = Field(default=None, description="signed with; null: unsigned")
    soa: Soa = Soa()
    strict_hostnames: bool = False


class ZoneView(_View):
    """A zone of a DNS server, as Central last knew named to serve it."""

    id: int
    server_id: int
    server: str | None = Field(default=None, description="the server's name, where given")
    name: str
    kind: ZoneKind
    enabled: bool
    ttl: int
    serial: int | None
    soa: str = Field(description="the SOA record's data")
    options: ZoneOptions
    record_count: int
    synced_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    warnings: list[str] = Field(
        default=[], description="what keeps the zone from working as meant (recursion off, ...)"
    )


class ZoneImportView(ZoneView):
    """An imported zone, and the refused records of the file left out (``leave_out_refused``)."""

    left_out: list[ImportRefusal] = []


class ZonePage(_View):
    """A page of zones (``total`` counts every match)."""

    items: list[ZoneView]
    total: int
    offset: int
    limit: int


class RecordView(_View):
    """One record (not the SOA): absolute owner name, type, TTL and presentation data."""

    id: int
    zone_id: int
    name: str
    type: str
    ttl: int
    data: str
    origin: Literal["zone", "dhcp"] = Field(
        default="zone",
        description="dhcp: written by DHCP's DNS updates (kea-dhcp-ddns; its owner has a DHCID "
        "record), zone: any other record of the zone",
    )


class FoundRecord(RecordView):
    """A record found by a search, with its zone's name."""

    zone: str | None


class RecordPage(_View):
    """A page of one zone's records."""

    items: list[RecordView]
    total: int
    offset: int
    limit: int


class FoundRecordPage(_View):
    """A page of records found across zones."""

    items: list[FoundRecord]
    total: int
    offset: int
    limit: int


class ChangeApplied(_View):
    """A change set applied to one zone."""

    zone_id: int
    zone: str
    applied: int = Field(description="changes applied")
    serial: int = Field(description="the zone's serial now")
    settled: bool = Field(
        default=False,
        description="the dns-agent stopped answering after the change was sent; Central read "
        "the zone back and found it applied",
    )


class BulkFailure(_View):
    """A zone whose change set of a bulk edit was refused (its other zones went on)."""

    zone_id: int
    zone: str
    status: int
    detail: str
    problems: list[ProblemItem] = []


class BulkResult(_View):
    """A bulk edit: one change set per zone, each applied or refused on its own."""

    zones: list[ChangeApplied]
    failed: list[BulkFailure]
    changed: int = Field(description="records changed in every zone")


class ZoneFileView(_View):
    """A zone file (BIND master format) of a zone as Central holds it."""

    zone: str
    serial: int | None
    text: str


class SyncResult(_View):
    """A sync of one DNS server: what differed from Central (the server won)."""

    server_id: int
    zones: int = Field(description="zones the server serves")
    changed: list[str] = Field(description="zones that differed")
    options_changed: bool


class OptionsView(_View):
    """A DNS server's options as Central last set or read them (``known`` false before)."""

    server_id: int
    options: ServerOptions
    known: bool
    synced_at: dt.datetime | None
    updated_at: dt.datetime | None
