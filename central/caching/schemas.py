"""What the caching routes take and answer (the settings and flush models are the agent's own,
``services.common.caching.contract``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from services.common.caching.contract import (
    CacheFlushed,
    CacheLookup,
    CacheStats,
    CachingSettings,
    Domain,
    RecordType,
)
from services.common.dns.options import field_errors
from services.common.model import Input

Comment = Annotated[str, Field(max_length=1000, description="save comment")]


class SettingsRequest(Input):
    """A caching server's whole settings (what is left out takes its default)."""

    settings: CachingSettings
    comment: Comment = ""


class SettingsView(BaseModel):
    """A caching server's settings, as its dns-agent read them from the Unbound settings it
    runs."""

    server_id: int
    server_name: str
    settings: CachingSettings


class FlushRequest(Input):
    """Remove ``name`` from the cache: its common types (A, AAAA, NS, MX, TXT, ...), one
    ``type``, or every name at and below it (``zone``); ``negative``: also every negative
    answer (NXDOMAIN, NODATA, SERVFAIL) of every name."""

    name: Domain
    zone: bool = Field(default=False, description="every name at and below name")
    type: RecordType | None = Field(default=None, description="this record type only")
    negative: bool = Field(default=False, description="also every negative answer")
    comment: Comment = ""

    @model_validator(mode="after")
    def _one_scope(self) -> FlushRequest:
        if self.zone and self.type is not None:
            raise field_errors(
                "FlushRequest", [("type", "a zone flush removes every type: give zone or type")]
            )
        return self


class FlushView(BaseModel):
    """What a flush removed, in unbound-control's words."""

    server_id: int
    flushed: CacheFlushed


class LookupView(BaseModel):
    """Where Unbound would send a query for a name: the delegation it holds in its cache, or
    the forward or stub zone it would use, in unbound-control's lines."""

    server_id: int
    lookup: CacheLookup


class StatsView(BaseModel):
    """Unbound's counters since its start, and the share of queries answered from the cache."""

    server_id: int
    server_name: str
    #: cache_hits / queries; None before the first query.
    hit_ratio: float | None = Field(description="cache hits / queries; null before any query")
    stats: CacheStats


class CachingServer(BaseModel):
    """A caching DNS server Central manages."""

    id: int
    name: str
    address: str
    port: int
    local: bool
    state: str
