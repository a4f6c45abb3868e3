"""``/api/v1/caching``: the settings, statistics and cache of caching DNS servers (Unbound).

Like DNS: administrators and DNS administrators change settings and flush the cache; every
role reads. Each call goes to the server's dns-agent over pinned mutual TLS; errors are the one
problem format, the agent's problems passed on with their fields (``settings.`` before them).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from central.caching import service
from central.caching.schemas import (
    CachingServer,
    FlushRequest,
    FlushView,
    LookupView,
    SettingsRequest,
    SettingsView,
    StatsView,
)
from central.core.deps import CurrentUser, DbSession, Principal, Role, require
from central.core.problems import RESPONSES
from services.common.problems import documented

READ_RESPONSES: dict[int | str, dict[str, Any]] = {
    502: documented("The dns-agent or Unbound failed"),
    503: documented("The dns-agent cannot be reached (Retry-After)"),
}
WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    502: documented("The dns-agent or Unbound failed; nothing was changed unless it says so"),
    503: documented("The dns-agent cannot be reached; nothing was changed (Retry-After)"),
    504: documented(
        "The dns-agent stopped answering after the change was sent and its settings could "
        "not be read back in time: the change may or may not have been applied"
    ),
}

router = APIRouter(prefix="/api/v1/caching", responses=RESPONSES, tags=["caching"])

CachingWriter = Annotated[Principal, Depends(require(Role.DNS_ADMIN))]
ServerId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _config(request: Request) -> Any:
    return request.app.state.config


@router.get("/servers")
def list_servers(db: DbSession, _user: CurrentUser) -> list[CachingServer]:
    """The caching DNS servers Central manages (servers of kind ``caching``)."""
    return service.servers(db)


@router.get("/servers/{server_id}/settings", responses=READ_RESPONSES)
def get_settings(
    request: Request, db: DbSession, _user: CurrentUser, server_id: ServerId
) -> SettingsView:
    """The settings Unbound runs, read from the server now."""
    return service.get_settings(db, _config(request), server_id)


@router.put("/servers/{server_id}/settings", responses=WRITE_RESPONSES)
def set_settings(
    request: Request, db: DbSession, user: CachingWriter, server_id: ServerId,
    body: SettingsRequest,
) -> SettingsView:  # fmt: skip
    """Set forwarders, forward and stub zones, local zones and their records, access rules,
    DNSSEC validation and insecure domains, cache sizes and TTLs.

    The whole document is given (what is left out takes its default). Unbound's configuration
    is checked before it is reloaded; a refused one changes nothing. The change is in the
    history with the settings before and after.
    """
    return service.set_settings(db, _config(request), user, server_id, body)


@router.get("/servers/{server_id}/stats", responses=READ_RESPONSES)
def get_stats(
    request: Request, db: DbSession, _user: CurrentUser, server_id: ServerId
) -> StatsView:
    """Unbound's counters since its start: queries, cache hits and misses, answers by rcode."""
    return service.stats(db, _config(request), server_id)


@router.post("/servers/{server_id}/flush", responses=WRITE_RESPONSES)
def flush(
    request: Request, db: DbSession, user: CachingWriter, server_id: ServerId, body: FlushRequest
) -> FlushView:
    """Remove a name from the cache (``zone``: every name at and below it); in the history."""
    return service.flush(db, _config(request), user, server_id, body)


@router.get("/servers/{server_id}/lookup", responses=READ_RESPONSES)
def lookup(
    request: Request,
    db: DbSession,
    _user: CurrentUser,
    server_id: ServerId,
    name: Annotated[str, Query(min_length=1, max_length=255, description="a domain name")],
) -> LookupView:
    """Where Unbound would send a query for ``name``: the delegation in its cache, or the
    forward or stub zone that names it (``unbound-control lookup``)."""
    return service.lookup(db, _config(request), server_id, name)
