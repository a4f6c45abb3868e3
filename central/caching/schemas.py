"""What the caching routes take and answer (the settings and flush models are the agent's own,
``services.common.caching.contract``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from services.common.caching.contract import CacheFlushed, CacheStats, CachingSettings, Domain
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
    """Remove ``name`` from the cache, or every name at and below it (``zone``)."""

    name: Domain
    zone: bool = Field(default=False, description="every name at and below name")
    comment: Comment = ""


class FlushView(BaseModel):
    """What a flush removed, in unbound-control's words."""

    server_id: int
    flushed: CacheFlushed


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
