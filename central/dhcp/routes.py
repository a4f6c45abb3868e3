"""``/api/v1/dhcp``: scopes, reservations, options, classes, properties, configuration, leases.

Reads of configuration objects come from Central's snapshot of each Kea daemon (read from
the agent when Central has none yet); leases, utilisation and the raw configuration are read
live from the agent. Administrators and DHCP administrators change; every role reads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from central.core.config import CentralConfig
from central.core.deps import CurrentUser, DbSession, DeleteComment, Principal, Role, require
from central.core.listing import ListQuery
from central.core.problems import RESPONSES
from central.dhcp import ddns, ha, service
from central.dhcp.redact import HIDDEN, redacted, restored
from central.dhcp.schemas import (
    ClassBody,
    ClassDeleted,
    ClassPublic,
    ClassReplicated,
    ConfigBody,
    DhcpServerPublic,
    LeaseDeleted,
    LeaseListing,
    OptionDefBody,
    OptionsBody,
    Page,
    PropertiesBody,
    ReservationBody,
    ScopeBody,
    SharedNetworkBody,
    SyncResult,
    UsageList,
    to_wire,
)
from central.dhcp.service import Family, by_key, find, section
from central.history.service import record
from central.registry.models import Server
from services.common import problems
from services.common.agent_client import OutcomeUnknownError
from services.common.dhcp.client import DhcpAgentClient, agent_path
from services.common.dhcp.contract import (
    ChangeResult,
    ClientClass,
    ConfigState,
    IdentifierKind,
    LeaseSearch,
    OptionDef,
    OptionValue,
    Reservation,
    Scope,
    ServerProperties,
    SharedNetwork,
    normal_id,
)
from services.common.dhcp.ddns import DdnsSettings
from services.common.errors import DaemonError, UnavailableError, ValidationError

router = APIRouter(
    prefix="/api/v1/dhcp",
    tags=["dhcp"],
    responses={
        **RESPONSES,
        409: problems.documented(
            "The change clashes with the server's configuration (a scope that exists, a "
            "configuration changed since ``expected_hash``); nothing was changed"
        ),
        502: problems.documented("The dhcp-agent or Kea failed; the problem says which"),
        503: problems.documented(
            "The dhcp-agent cannot be reached; nothing was changed (``Retry-After``)"
        ),
        504: problems.documented(
            "The dhcp-agent stopped answering after a change and did not come back: the "
            "change may or may not have been applied"
        ),
    },
)

DhcpAdmin = Annotated[Principal, Depends(require(Role.DHCP_ADMIN))]
ServerId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ScopeId = Annotated[int, Path(ge=1, le=4294967294)]
Name = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]
BASE = "/servers/{dhcp_server_id}/{family}"

SCOPE_FIELDS = ("id", "subnet", "shared_network", "interface", "client_class", "valid_lifetime")
CLASS_FIELDS = ("name", "test", "global")
RESERVATION_FIELDS = ("hw_address", "client_id", "duid", "circuit_id", "flex_id", "hostname")
#: An identifier in a path: hexadecimal bytes, or a text in single quotes.
IdentifierValue = Annotated[str, Path(pattern=r"^([0-9A-Fa-f:-]{2,400}|'[^'/]{1,128}')$")]
Json = dict[str, Any]


def _config(request: Request) -> CentralConfig:
    config: CentralConfig = request.app.state.config
    return config


Config = Annotated[CentralConfig, Depends(_config)]


def _server(db: DbSession, dhcp_server_id: ServerId) -> Server:
    return service.dhcp_server(db, dhcp_server_id)


DhcpServer = Annotated[Server, Depends(_server)]


# --- servers and sync -------------------------------------------------------------------------
@router.get("/servers")
def list_servers(db: DbSession, _user: CurrentUser, params: ListQuery) -> Page[DhcpServerPublic]:
    """The registry's DHCP servers with the hash and time of Central's last snapshot."""
    items = [service.server_public(db, s).model_dump() for s in service.dhcp_servers(db)]
    fields = ("id", "name", "address", "state")
    return service.listing(items, params, fields, ("name",), DhcpServerPublic)


@router.post("/servers/{dhcp_server_id}/sync")
def sync_server(db: DbSession, config: Config, _user: DhcpAdmin, server: DhcpServer) -> SyncResult:
    """Compare with the server now: changes made behind Central's back are taken in and
    recorded as ``external-change``; missing global classes are put on it."""
    return service.sync(db, config, server)


# --- DNS updates (kea-dhcp-ddns) -------------------------------------------------------------
Admin = Annotated[Principal, Depends(require(Role.ADMINISTRATOR))]


@router.get("/servers/{dhcp_server_id}/ddns")
def get_ddns(config: Config, _user: CurrentUser, server: DhcpServer) -> DdnsSettings:
    """The zones the server's DHCP-DDNS server updates (empty: no DNS updates)."""
    return ddns.get(config, server)


@router.put("/servers/{dhcp_server_id}/ddns")
def put_ddns(
    db: DbSession, config: Config, user: Admin, server: DhcpServer, body: ddns.DdnsBody
) -> DdnsSettings:
    """Set the forward and reverse zones (and their TSIG keys) that leases of scopes with
    ``ddns-send-updates`` are written to; zones of the DNS server on the same appliance.
    Administrators only."""
    return ddns.put(db, config, user, server, body)


# --- high availability (central.dhcp.ha) -----------------------------------------------------
@router.get("/ha")
def get_ha(db: DbSession, config: Config, _user: CurrentUser) -> ha.HaPair:
    """The HA pair: its mode and timers, and each partner's role and Kea HA state now."""
    return ha.show(db, config)


@router.put("/ha")
def put_ha(db: DbSession, config: Config, user: Admin, body: ha.HaRequest) -> ha.HaPair:
    """Make two DHCP servers an HA pair in one action (both Kea configurations, checked whole
    first, the first put back if the second fails). Administrators only."""
    return ha.set_up(db, config, user, body)


@router.delete("/ha")
def delete_ha(
    db: DbSession, config: Config, user: Admin, comment: DeleteComment, force: bool = False
) -> ha.HaRemoved:
    """Take the HA hook out of both partners and forget the pair; ``force``: also when a
    partner does not answer (it keeps its hook). Administrators only."""
    return ha.remove(db, config, user, comment, force)


# --- scopes and reservations -----------------------------------------------------------------
@router.get(BASE + "/scopes", response_model_exclude_none=True)
def list_scopes(
    db: DbSession, config: Config, _user: CurrentUser, server: DhcpServer, family: Family,
    params: ListQuery,
) -> Page[Scope]:  # fmt: skip
    """Scopes (Kea subnets); filter e.g. ``subnet~198.51`` or ``shared_network:lab``."""
    items = service.current_view(db, config, server, family)["scopes"]
    return service.listing(items, params, SCOPE_FIELDS, ("subnet", "shared_network"), Scope)


def _changed(after: Any, what: str) -> Any:
    """The object after a change (it is in Kea's configuration read back)."""
    if after is None:
        raise DaemonError(f"The change was applied, but the {what} is not in the configuration "
                          "read back; sync the server and look again.")  # fmt: skip
    return after


@router.post(BASE + "/scopes", status_code=201, response_model_exclude_none=True)
def create_scope(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    body: ScopeBody,
) -> Scope:  # fmt: skip
    """A new scope; one whose subnet is on the server already answers 409."""
    scope = to_wire(body, Scope)
    _result, after = service.change(
        db, config, user, server, family,
        lambda agent, known: agent.create_scope(family, scope, known_hash=known).change,
        object_type="dhcp-scope", object_id=None, action="create",
        pick=by_key("scopes", "subnet", body.subnet), comment=body.comment,
    )  # fmt: skip
    return Scope.model_validate(_changed(after, "scope"))


@router.get(BASE + "/scopes/{scope_id}", response_model_exclude_none=True)
def get_scope(
    db: DbSession, config: Config, _user: CurrentUser, server: DhcpServer, family: Family,
    scope_id: ScopeId,
) -> Scope:  # fmt: skip
    objects = service.current_view(db, config, server, family)
    return Scope.model_validate(find(objects, "scopes", "id", scope_id, "scope_id"))


@router.put(BASE + "/scopes/{scope_id}", response_model_exclude_none=True)
def update_scope(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    scope_id: ScopeId, body: ScopeBody,
) -> Scope:  # fmt: skip
    """Replace a scope (its pools, relays, lifetimes, options, pool and reservation options)."""
    scope = to_wire(body, Scope)
    _result, after = service.change(
        db, config, user, server, family,
        lambda agent, known: agent.update_scope(family, scope_id, scope, known_hash=known),
        object_type="dhcp-scope", object_id=str(scope_id), action="update",
        pick=by_key("scopes", "id", scope_id), comment=body.comment,
    )  # fmt: skip
    return Scope.model_validate(_changed(after, "scope"))


@router.delete(BASE + "/scopes/{scope_id}")
def delete_scope(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    scope_id: ScopeId, comment: DeleteComment,
) -> ChangeResult:  # fmt: skip
    """Delete a scope and its leases."""
    result, _after = service.change(
        db, config, user, server, family,
        lambda agent, known: agent.delete_scope(family, scope_id, known_hash=known),
        object_type="dhcp-scope", object_id=str(scope_id), action="delete",
        pick=by_key("scopes", "id", scope_id), comment=comment,
    )  # fmt: skip
    return result


def _reservation(scope_id: int, kind: str, value: str) -> service.Pick:
    def pick(objects: Mapping[str, Any]) -> Any:
        scope = by_key("scopes", "id", scope_id)(objects) or {}
        for item in scope.get("reservations", []):
            if item.get(kind) and normal_id(str(item[kind])) == normal_id(value):
                return item
        return None

    return pick


@router.get(BASE + "/scopes/{scope_id}/reservations", response_model_exclude_none=True)
def list_reservations(
    db: DbSession, config: Config, _user: CurrentUser, server: DhcpServer, family: Family,
    scope_id: ScopeId, params: ListQuery,
) -> Page[Reservation]:  # fmt: skip
    objects = service.current_view(db, config, server, family)
    items = find(objects, "scopes", "id", scope_id, "scope_id").get("reservations", [])
    return service.listing(items, params, RESERVATION_FIELDS, RESERVATION_FIELDS, Reservation)


@router.post(
    BASE + "/scopes/{scope_id}/reservations", status_code=201, response_model_exclude_none=True
)
def add_reservation(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    scope_id: ScopeId, body: ReservationBody,
) -> Reservation:  # fmt: skip
    """A reservation by hardware address, client id, (DHCPv6) DUID, (DHCPv4) circuit id or
    flexible identifier."""
    kind, value = body.identifier
    reservation = to_wire(body, Reservation)
    _result, after = service.change(
        db, config, user, server, family,
        lambda agent, known: agent.add_reservation(family, scope_id, reservation,
                                                   known_hash=known),
        object_type="dhcp-reservation", object_id=f"{scope_id}:{value}", action="create",
        pick=_reservation(scope_id, kind, value), comment=body.comment,
    )  # fmt: skip
    return Reservation.model_validate(_changed(after, "reservation"))


@router.put(BASE + "/scopes/{scope_id}/reservations/{kind}/{value}",
            response_model_exclude_none=True)  # fmt: skip
def put_reservation(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    scope_id: ScopeId, kind: IdentifierKind, value: IdentifierValue, body: ReservationBody,
) -> Reservation:  # fmt: skip
    """Replace the scope's reservation for this identifier (or add it); the body's identifier
    is the path's."""
    reservation = to_wire(body, Reservation)
    _result, after = service.change(
        db, config, user, server, family,
        lambda agent, known: agent.put_reservation(family, scope_id, kind, value, reservation,
                                                   known_hash=known),
        object_type="dhcp-reservation", object_id=f"{scope_id}:{normal_id(value)}",
        action="update", pick=_reservation(scope_id, kind, value), comment=body.comment,
    )  # fmt: skip
    return Reservation.model_validate(_changed(after, "reservation"))


@router.delete(BASE + "/scopes/{scope_id}/reservations/{kind}/{value}")
def delete_reservation(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    scope_id: ScopeId, kind: IdentifierKind, value: IdentifierValue, comment: DeleteComment,
) -> ChangeResult:  # fmt: skip
    result, _after = service.change(
        db, config, user, server, family,
        lambda agent, known: agent.delete_reservation(family, scope_id, kind, value,
                                                      known_hash=known),
        object_type="dhcp-reservation", object_id=f"{scope_id}:{normal_id(value)}",
        action="delete", pick=_reservation(scope_id, kind, value), comment=comment,
    )  # fmt: skip
    return result


# --- global reservations ---------------------------------------------------------------------
def _global_reservation(kind: str, value: str) -> service.Pick:
    def pick(objects: Mapping[str, Any]) -> Any:
        for item in objects["reservations"]:
            if item.get(kind) and normal_id(str(item[kind])) == normal_id(value):
                return item
        return None

    return pick


@router.get(BASE + "/reservations", response_model_exclude_none=True)
def list_global_reservations(
    db: DbSession, config: Config, _user: CurrentUser, server: DhcpServer, family: Family,
    params: ListQuery,
) -> Page[Reservation]:  # fmt: skip
    """The server's global reservations (Kea's top-level ``reservations``: a client is known
    in every scope by them)."""
    items = service.current_view(db, config, server, family)["reservations"]
    return service.listing(items, params, RESERVATION_FIELDS, RESERVATION_FIELDS, Reservation)


@router.put(BASE + "/reservations/{kind}/{value}", response_model_exclude_none=True)
def put_global_reservation(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    kind: IdentifierKind, value: IdentifierValue, body: ReservationBody,
) -> Reservation:  # fmt: skip
    """Replace the global reservation for this identifier (or add it)."""
    reservation = to_wire(body, Reservation)
    _result, after = service.change(
        db, config, user, server, family,
        lambda agent, known: agent.put_global_reservation(family, kind, value, reservation,
                                                          known_hash=known),
        object_type="dhcp-reservation", object_id=f"global:{normal_id(value)}",
        action="update", pick=_global_reservation(kind, value), comment=body.comment,
    )  # fmt: skip
    return Reservation.model_validate(_changed(after, "reservation"))


@router.delete(BASE + "/reservations/{kind}/{value}")
def delete_global_reservation(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    kind: IdentifierKind, value: IdentifierValue, comment: DeleteComment,
) -> ChangeResult:  # fmt: skip
    result, _after = service.change(
        db, config, user, server, family,
        lambda agent, known: agent.delete_global_reservation(family, kind, value,
                                                             known_hash=known),
        object_type="dhcp-reservation", object_id=f"global:{normal_id(value)}",
        action="delete", pick=_global_reservation(kind, value), comment=comment,
    )  # fmt: skip
    return result


# --- shared networks -------------------------------------------------------------------------
@router.get(BASE + "/shared-networks", response_model_exclude_none=True)
def list_shared_networks(
    db: DbSession, config: Config, _user: CurrentUser, server: DhcpServer, family: Family,
    params: ListQuery,
) -> Page[SharedNetwork]:  # fmt: skip
    items = service.current_view(db, config, server, family)["shared_networks"]
    return service.listing(items, params, ("name", "interface"), ("name",), SharedNetwork)


@router.put(BASE + "/shared-networks/{network_name}", response_model_exclude_none=True)
def put_shared_network(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    network_name: Name, body: SharedNetworkBody,
) -> SharedNetwork:  # fmt: skip
    _same_name(network_name, body.name)
    network = to_wire(body, SharedNetwork)
    _result, after = service.change(
        db, config, user, server, family,
        lambda agent, known: agent.put_shared_network(family, network, known_hash=known),
        object_type="dhcp-shared-network", object_id=network_name, action="update",
        pick=by_key("shared_networks", "name", network_name), comment=body.comment,
    )  # fmt: skip
    return SharedNetwork.model_validate(_changed(after, "shared network"))


@router.delete(BASE + "/shared-networks/{network_name}")
def delete_shared_network(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    network_name: Name, comment: DeleteComment,
) -> ChangeResult:  # fmt: skip
    result, _after = service.change(
        db, config, user, server, family,
        lambda agent, known: agent.delete_shared_network(family, network_name,
                                                         known_hash=known),
        object_type="dhcp-shared-network", object_id=network_name, action="delete",
        pick=by_key("shared_networks", "name", network_name), comment=comment,
    )  # fmt: skip
    return result


# --- options and option definitions ----------------------------------------------------------
@router.get(BASE + "/options", response_model_exclude_none=True)
def get_options(
    db: DbSession, config: Config, _user: CurrentUser, server: DhcpServer, family: Family
) -> list[OptionValue]:
    """Server-wide options (scope, pool and reservation options are part of those objects)."""
    options = service.current_view(db, config, server, family)["options"]
    return [OptionValue.model_validate(o) for o in options]


@router.put(BASE + "/options", response_model_exclude_none=True)
def put_options(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    body: OptionsBody,
) -> list[OptionValue]:  # fmt: skip
    options = to_wire(body, OptionsBody).options
    _result, after = service.change(
        db, config, user, server, family,
        lambda agent, known: agent.set_options(family, options, known_hash=known),
        object_type="dhcp-options", object_id="global", action="update",
        pick=section("options"), comment=body.comment,
    )  # fmt: skip
    return [OptionValue.model_validate(o) for o in after or []]


@router.get(BASE + "/option-definitions", response_model_exclude_none=True)
def list_option_definitions(
    db: DbSession, config: Config, _user: CurrentUser, server: DhcpServer, family: Family,
    params: ListQuery,
) -> Page[OptionDef]:  # fmt: skip
    items = service.current_view(db, config, server, family)["option_definitions"]
    fields = ("code", "name", "type", "space")
    return service.listing(items, params, fields, ("name",), OptionDef)


@router.post(BASE + "/option-definitions", status_code=201, response_model_exclude_none=True)
def add_option_definition(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    body: OptionDefBody,
) -> OptionDef:  # fmt: skip
    """A custom option definition; a taken or invalid code answers 422 naming ``code``."""
    definition = to_wire(body, OptionDef)
    _result, after = service.change(
        db, config, user, server, family,
        lambda agent, known: agent.add_option_definition(family, definition, known_hash=known),
        object_type="dhcp-option-def", object_id=f"{body.space or ''}:{body.code}",
        action="create", pick=by_key("option_definitions", "name", body.name),
        comment=body.comment,
    )  # fmt: skip
    return OptionDef.model_validate(_changed(after, "option definition"))


@router.delete(BASE + "/option-definitions/{space}/{code}")
def delete_option_definition(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    space: Name, code: Annotated[int, Path(ge=1, le=65535)], comment: DeleteComment,
) -> ChangeResult:  # fmt: skip
    result, _after = service.change(
        db, config, user, server, family,
        lambda agent, known: agent.delete_option_definition(family, space, code,
                                                            known_hash=known),
        object_type="dhcp-option-def", object_id=f"{space}:{code}", action="delete",
        pick=by_key("option_definitions", "code", code), comment=comment,
    )  # fmt: skip
    return result


# --- client classes --------------------------------------------------------------------------
@router.get(BASE + "/classes", response_model_exclude_none=True)
def list_classes(
    db: DbSession, config: Config, _user: CurrentUser, server: DhcpServer, family: Family,
    params: ListQuery,
) -> Page[ClassPublic]:  # fmt: skip
    """Client classes; ``global`` says whether Central keeps it on every DHCP server."""
    names = service.global_names(db, family)
    items = [
        {**c, "global": c["name"] in names}
        for c in service.current_view(db, config, server, family)["classes"]
    ]
    return service.listing(items, params, CLASS_FIELDS, ("name", "test"), ClassPublic)


@router.get(BASE + "/classes/{class_name}", response_model_exclude_none=True)
def get_class(
    db: DbSession, config: Config, _user: CurrentUser, server: DhcpServer, family: Family,
    class_name: Name,
) -> ClassPublic:  # fmt: skip
    found = find(
        service.current_view(db, config, server, family), "classes", "name", class_name,
        "class_name",
    )  # fmt: skip
    global_ = class_name in service.global_names(db, family)
    return ClassPublic.model_validate({**found, "global": global_})


@router.put(BASE + "/classes/{class_name}", response_model_exclude_none=True)
def put_class(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    class_name: Name, body: ClassBody,
) -> ClassReplicated:  # fmt: skip
    """Create or replace a class; with ``"global": true`` on every managed DHCP server."""
    _same_name(class_name, body.name)
    return service.put_class(
        db, config, user, server, family, to_wire(body, ClientClass), is_global=body.global_,
        comment=body.comment,
    )  # fmt: skip


@router.delete(BASE + "/classes/{class_name}")
def delete_class(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    class_name: Name, comment: DeleteComment,
) -> ClassDeleted:  # fmt: skip
    """Delete a class (a global class from every managed DHCP server)."""
    return service.delete_class(db, config, user, server, family, class_name, comment)


def _same_name(path: str, body: str) -> None:
    if path != body:
        raise ValidationError(f"the name in the body ({body}) differs from the path", field="name")


# --- server properties and the raw configuration --------------------------------------------
@router.get(BASE + "/properties", response_model_exclude_none=True)
def get_properties(
    db: DbSession, config: Config, _user: CurrentUser, server: DhcpServer, family: Family
) -> ServerProperties:
    properties = service.current_view(db, config, server, family)["properties"]
    return ServerProperties.model_validate(properties)


@router.patch(BASE + "/properties", response_model_exclude_none=True)
def patch_properties(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    body: PropertiesBody,
) -> ServerProperties:  # fmt: skip
    changes = to_wire(body, ServerProperties)
    _result, after = service.change(
        db, config, user, server, family,
        lambda agent, known: agent.set_properties(family, changes, known_hash=known),
        object_type="dhcp-properties", object_id="server", action="update",
        pick=section("properties"), comment=body.comment,
    )  # fmt: skip
    return ServerProperties.model_validate(after or {})


@router.get(BASE + "/config")
def get_config(
    config: Config, _user: CurrentUser, server: DhcpServer, family: Family
) -> ConfigState:
    """The daemon's configuration as Kea holds it now, with its hash (for ``expected_hash``);
    secrets shown as ``(hidden)`` (central.dhcp.redact)."""
    state = service.agent_for(config, server).config(family)
    return state.model_copy(update={"config": redacted(state.config)})


@router.put(BASE + "/config")
def put_config(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    body: ConfigBody,
) -> ChangeResult:  # fmt: skip
    """Replace the whole configuration (config-test first; ``expected_hash`` guards edits).
    A secret given as ``(hidden)`` keeps the server's value at that place."""
    whole = body.config
    if HIDDEN in str(whole):
        now = service.agent_for(config, server).config(family)
        whole = restored(whole, now.config or {})
    result, _after = service.change(
        db, config, user, server, family,
        lambda agent, known: agent.replace_config(
            family, whole, expected_hash=body.expected_hash, known_hash=known),
        object_type="dhcp-config", object_id="raw", action="update",
        pick=lambda objects: objects, comment=body.comment,
    )  # fmt: skip
    return result


# --- leases and utilisation ------------------------------------------------------------------
@router.get(BASE + "/leases", response_model_exclude_none=True)
def leases(
    config: Config, _user: CurrentUser, server: DhcpServer, family: Family,
    address: Annotated[str | None, Query(max_length=64)] = None,
    hw_address: Annotated[str | None, Query(max_length=64)] = None,
    client_id: Annotated[str | None, Query(max_length=400)] = None,
    duid: Annotated[str | None, Query(max_length=400)] = None,
    hostname: Annotated[str | None, Query(max_length=253)] = None,
    start: Annotated[str | None, Query(alias="from", max_length=64)] = None,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    count: bool = False,
) -> LeaseListing:  # fmt: skip
    """Search leases (address, hw_address, client_id, duid, hostname: ``items``, ``total``),
    or without a term page through all of them: ``from`` an address, ``next`` continues;
    with ``count=true``, every lease is read and the page at ``offset`` answered with the
    ``total`` (a page number to jump to)."""
    search = LeaseSearch(address=address, hw_address=hw_address, client_id=client_id,
                         duid=duid, hostname=hostname)  # fmt: skip
    agent = service.agent_for(config, server)
    if search.terms():
        found = agent.search_leases(family, search)
        return LeaseListing(items=found[offset : offset + limit], total=len(found),
                            offset=offset, limit=limit)  # fmt: skip
    if count:
        return _counted_leases(agent, family, offset, limit, server.id)
    page = agent.leases(family, start, limit)
    return LeaseListing(items=page.leases, next=page.next, limit=limit)


#: Leases read a page at a time from the agent when every lease is counted.
COUNT_PAGE = 1000
#: How long the addresses of a count serve the pages after it (seconds).
COUNT_KEPT = 30.0


@dataclass
class _Counted:
    """Every lease's address, in address order, as a count read them."""

    at: float
    addresses: list[str]


_COUNTS: dict[tuple[int, str], _Counted] = {}
_COUNTS_LOCK = threading.Lock()


def _addresses(agent: DhcpAgentClient, family: Family) -> list[str]:
    """Every lease's address in address order (the agent's pages read as plain JSON)."""
    found: list[str] = []
    start: str | None = None
    while True:
        query = {"from": start, "limit": COUNT_PAGE}
        page = agent.call("GET", agent_path(family, "leases", **query))
        found += [str(lease["address"]) for lease in page.get("leases", [])]
        start = page.get("next")
        if not start or not page.get("leases"):
            return found


def forget_count(server_id: int, family: str) -> None:
    """A lease was added or deleted through Central: the next count reads them again."""
    with _COUNTS_LOCK:
        _COUNTS.pop((server_id, family), None)


def _counted_leases(
    agent: DhcpAgentClient, family: Family, offset: int, limit: int, server_id: int = 0
) -> LeaseListing:
    """The page of ``limit`` leases at ``offset`` (address order) and how many there are.

    Counting reads every lease's address; the addresses then serve the pages for COUNT_KEPT
    seconds (a page jump reads only its page, from the address before it), so the total and
    the pages' starts may be that old; the leases shown are read when asked."""
    key = (server_id, family)
    with _COUNTS_LOCK:
        counted = _COUNTS.get(key)
    if counted is None or time.monotonic() - counted.at > COUNT_KEPT:
        counted = _Counted(time.monotonic(), _addresses(agent, family))
        with _COUNTS_LOCK:
            _COUNTS[key] = counted
    total = len(counted.addresses)
    if offset >= total:
        return LeaseListing(items=[], total=total, offset=offset, limit=limit)
    start = counted.addresses[offset - 1] if offset else None
    page = agent.leases(family, start, limit)
    return LeaseListing(items=page.leases, total=total, offset=offset, limit=limit)


@router.delete(BASE + "/leases/{address}")
def delete_lease(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    address: Annotated[str, Path(max_length=64)], comment: DeleteComment,
) -> LeaseDeleted:  # fmt: skip
    """Delete a lease (the address is free again)."""
    agent = service.agent_for(config, server)
    by_address = LeaseSearch(address=address)
    before = agent.search_leases(family, by_address)
    try:
        agent.delete_lease(family, address)
    except OutcomeUnknownError as lost:
        # The agent stopped answering: the lease is gone or not, as Kea says once it is back.
        still = service.read_back(lambda: agent.search_leases(family, by_address),
                                  what="deleting the lease")  # fmt: skip
        if still:
            raise UnavailableError(
                f"The dhcp-agent stopped before the lease of {address} was deleted; nothing "
                "was changed.", hint="repeat the deletion",
            ) from lost  # fmt: skip
    forget_count(server.id, family)
    record(
        db, user, "dhcp-lease", service.history_id(server, family, address), "delete",
        before=before[0].model_dump(mode="json") if before else None, comment=comment,
    )  # fmt: skip
    db.commit()
    return LeaseDeleted(address=address, deleted=True)


@router.get(BASE + "/statistics")
def statistics(
    config: Config, _user: CurrentUser, server: DhcpServer, family: Family, pools: bool = False
) -> UsageList:
    """Utilisation per scope (total, assigned, declined addresses; DHCPv6 delegated
    prefixes); with ``pools=true`` per pool and prefix pool too."""
    usage = service.agent_for(config, server).statistics(family, pools=pools)
    return UsageList(items=usage, total=len(usage))
