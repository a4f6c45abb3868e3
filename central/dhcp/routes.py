"""``/api/v1/dhcp``: scopes, reservations, options, classes, properties, configuration, leases.

Reads of configuration objects come from Central's snapshot of each Kea daemon (read from
the agent when Central has none yet); leases, utilisation and the raw configuration are read
live from the agent. Administrators and DHCP administrators change; every role reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from central.core.config import CentralConfig
from central.core.deps import CurrentUser, DbSession, DeleteComment, Principal, Role, require
from central.core.listing import ListQuery
from central.core.problems import RESPONSES
from central.dhcp import service
from central.dhcp.schemas import (
    ClassBody,
    ConfigBody,
    OptionDefBody,
    OptionsBody,
    PropertiesBody,
    ReservationBody,
    ScopeBody,
    SharedNetworkBody,
    wire,
)
from central.dhcp.service import Family, agent_path, by_key, find, section
from central.history.service import record
from central.registry.models import Server
from services.common.dhcp.contract import normal_hex
from services.common.errors import ValidationError

router = APIRouter(prefix="/api/v1/dhcp", tags=["dhcp"], responses=RESPONSES)

DhcpAdmin = Annotated[Principal, Depends(require(Role.DHCP_ADMIN))]
ServerId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ScopeId = Annotated[int, Path(ge=1, le=4294967294)]
Name = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]
Json = dict[str, Any]
BASE = "/servers/{dhcp_server_id}/{family}"

SCOPE_FIELDS = ("id", "subnet", "shared_network", "interface", "client_class", "valid_lifetime")
CLASS_FIELDS = ("name", "test", "global")


def _config(request: Request) -> CentralConfig:
    config: CentralConfig = request.app.state.config
    return config


Config = Annotated[CentralConfig, Depends(_config)]


def _server(db: DbSession, dhcp_server_id: ServerId) -> Server:
    return service.dhcp_server(db, dhcp_server_id)


DhcpServer = Annotated[Server, Depends(_server)]


# --- servers and sync -------------------------------------------------------------------------
@router.get("/servers")
def list_servers(db: DbSession, _user: CurrentUser, params: ListQuery) -> Json:
    """The registry's DHCP servers with the hash and time of Central's last snapshot."""
    items = [service.server_public(db, s) for s in service.dhcp_servers(db)]
    return service.listing(items, params, ("id", "name", "address", "state"), ("name",))


@router.post("/servers/{dhcp_server_id}/sync")
def sync_server(db: DbSession, config: Config, _user: DhcpAdmin, server: DhcpServer) -> Json:
    """Compare with the server now: changes made behind Central's back are taken in and
    recorded as ``external-change``; missing global classes are put on it."""
    return service.sync(db, config, server)


# --- scopes and reservations -----------------------------------------------------------------
@router.get(BASE + "/scopes")
def list_scopes(
    db: DbSession, config: Config, _user: CurrentUser, server: DhcpServer, family: Family,
    params: ListQuery,
) -> Json:  # fmt: skip
    """Scopes (Kea subnets); filter e.g. ``subnet~198.51`` or ``shared_network:lab``."""
    items = service.current_view(db, config, server, family)["scopes"]
    return service.listing(items, params, SCOPE_FIELDS, ("subnet", "shared_network"))


@router.post(BASE + "/scopes", status_code=201)
def create_scope(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    body: ScopeBody,
) -> Json:  # fmt: skip
    """A new scope; one whose subnet is on the server already answers 409."""
    _answer, after = service.change(
        db, config, user, server, family, "POST", agent_path(family, "scopes"), wire(body),
        object_type="dhcp-scope", object_id=None, action="create",
        pick=by_key("scopes", "subnet", body.subnet), comment=body.comment,
    )  # fmt: skip
    return dict(after or {})


@router.get(BASE + "/scopes/{scope_id}")
def get_scope(
    db: DbSession, config: Config, _user: CurrentUser, server: DhcpServer, family: Family,
    scope_id: ScopeId,
) -> Json:  # fmt: skip
    objects = service.current_view(db, config, server, family)
    return find(objects, "scopes", "id", scope_id, "scope_id")


@router.put(BASE + "/scopes/{scope_id}")
def update_scope(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    scope_id: ScopeId, body: ScopeBody,
) -> Json:  # fmt: skip
    """Replace a scope (its pools, relays, lifetimes, options, pool and reservation options)."""
    _answer, after = service.change(
        db, config, user, server, family, "PUT", agent_path(family, "scopes", scope_id),
        wire(body), object_type="dhcp-scope", object_id=str(scope_id), action="update",
        pick=by_key("scopes", "id", scope_id), comment=body.comment,
    )  # fmt: skip
    return after or {}


@router.delete(BASE + "/scopes/{scope_id}")
def delete_scope(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    scope_id: ScopeId, comment: DeleteComment,
) -> Json:  # fmt: skip
    """Delete a scope and its leases."""
    answer, _after = service.change(
        db, config, user, server, family, "DELETE", agent_path(family, "scopes", scope_id),
        None, object_type="dhcp-scope", object_id=str(scope_id), action="delete",
        pick=by_key("scopes", "id", scope_id), comment=comment,
    )  # fmt: skip
    return dict(answer)


def _reservation(scope_id: int, kind: str, value: str) -> service.Pick:
    def pick(objects: Mapping[str, Any]) -> Any:
        scope = by_key("scopes", "id", scope_id)(objects) or {}
        for item in scope.get("reservations", []):
            if item.get(kind) and normal_hex(str(item[kind])) == normal_hex(value):
                return item
        return None

    return pick


@router.get(BASE + "/scopes/{scope_id}/reservations")
def list_reservations(
    db: DbSession, config: Config, _user: CurrentUser, server: DhcpServer, family: Family,
    scope_id: ScopeId, params: ListQuery,
) -> Json:  # fmt: skip
    objects = service.current_view(db, config, server, family)
    items = find(objects, "scopes", "id", scope_id, "scope_id").get("reservations", [])
    fields = ("hw_address", "client_id", "duid", "hostname")
    return service.listing(items, params, fields, fields)


@router.post(BASE + "/scopes/{scope_id}/reservations", status_code=201)
def add_reservation(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    scope_id: ScopeId, body: ReservationBody,
) -> Json:  # fmt: skip
    """A reservation by hardware address, client id or (DHCPv6) DUID."""
    kind, value = body.identifier
    _answer, after = service.change(
        db, config, user, server, family, "POST",
        agent_path(family, "scopes", scope_id, "reservations"), wire(body),
        object_type="dhcp-reservation", object_id=f"{scope_id}:{value}", action="create",
        pick=_reservation(scope_id, kind, value), comment=body.comment,
    )  # fmt: skip
    return after or {}


@router.delete(BASE + "/scopes/{scope_id}/reservations/{kind}/{value}")
def delete_reservation(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    scope_id: ScopeId, kind: Literal["hw_address", "client_id", "duid"],
    value: Annotated[str, Path(pattern=r"^[0-9A-Fa-f:-]{2,400}$")], comment: DeleteComment,
) -> Json:  # fmt: skip
    answer, _after = service.change(
        db, config, user, server, family, "DELETE",
        agent_path(family, "scopes", scope_id, "reservations", kind, value), None,
        object_type="dhcp-reservation", object_id=f"{scope_id}:{normal_hex(value)}",
        action="delete", pick=_reservation(scope_id, kind, value), comment=comment,
    )  # fmt: skip
    return dict(answer)


# --- shared networks -------------------------------------------------------------------------
@router.get(BASE + "/shared-networks")
def list_shared_networks(
    db: DbSession, config: Config, _user: CurrentUser, server: DhcpServer, family: Family,
    params: ListQuery,
) -> Json:  # fmt: skip
    items = service.current_view(db, config, server, family)["shared_networks"]
    return service.listing(items, params, ("name", "interface"), ("name",))


@router.put(BASE + "/shared-networks/{network_name}")
def put_shared_network(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    network_name: Name, body: SharedNetworkBody,
) -> Json:  # fmt: skip
    _answer, after = service.change(
        db, config, user, server, family, "PUT",
        agent_path(family, "shared-networks", network_name), wire(body),
        object_type="dhcp-shared-network", object_id=network_name, action="update",
        pick=by_key("shared_networks", "name", network_name), comment=body.comment,
    )  # fmt: skip
    return after or {}


@router.delete(BASE + "/shared-networks/{network_name}")
def delete_shared_network(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    network_name: Name, comment: DeleteComment,
) -> Json:  # fmt: skip
    answer, _after = service.change(
        db, config, user, server, family, "DELETE",
        agent_path(family, "shared-networks", network_name), None,
        object_type="dhcp-shared-network", object_id=network_name, action="delete",
        pick=by_key("shared_networks", "name", network_name), comment=comment,
    )  # fmt: skip
    return dict(answer)


# --- options and option definitions ----------------------------------------------------------
@router.get(BASE + "/options")
def get_options(
    db: DbSession, config: Config, _user: CurrentUser, server: DhcpServer, family: Family
) -> list[Json]:
    """Server-wide options (scope, pool and reservation options are part of those objects)."""
    return list(service.current_view(db, config, server, family)["options"])


@router.put(BASE + "/options")
def put_options(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    body: OptionsBody,
) -> list[Json]:  # fmt: skip
    _answer, after = service.change(
        db, config, user, server, family, "PUT", agent_path(family, "options"),
        wire(body)["options"], object_type="dhcp-options", object_id="global",
        action="update", pick=section("options"), comment=body.comment,
    )  # fmt: skip
    return list(after or [])


@router.get(BASE + "/option-definitions")
def list_option_definitions(
    db: DbSession, config: Config, _user: CurrentUser, server: DhcpServer, family: Family,
    params: ListQuery,
) -> Json:  # fmt: skip
    items = service.current_view(db, config, server, family)["option_definitions"]
    return service.listing(items, params, ("code", "name", "type", "space"), ("name",))


@router.post(BASE + "/option-definitions", status_code=201)
def add_option_definition(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    body: OptionDefBody,
) -> Json:  # fmt: skip
    """A custom option definition; a taken or invalid code answers 422 naming ``code``."""
    _answer, after = service.change(
        db, config, user, server, family, "POST", agent_path(family, "option-definitions"),
        wire(body), object_type="dhcp-option-def", object_id=f"{body.space or ''}:{body.code}",
        action="create", pick=by_key("option_definitions", "name", body.name),
        comment=body.comment,
    )  # fmt: skip
    return after or {}


@router.delete(BASE + "/option-definitions/{space}/{code}")
def delete_option_definition(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    space: Name, code: Annotated[int, Path(ge=1, le=65535)], comment: DeleteComment,
) -> Json:  # fmt: skip
    answer, _after = service.change(
        db, config, user, server, family, "DELETE",
        agent_path(family, "option-definitions", space, code), None,
        object_type="dhcp-option-def", object_id=f"{space}:{code}", action="delete",
        pick=by_key("option_definitions", "code", code), comment=comment,
    )  # fmt: skip
    return dict(answer)


# --- client classes --------------------------------------------------------------------------
@router.get(BASE + "/classes")
def list_classes(
    db: DbSession, config: Config, _user: CurrentUser, server: DhcpServer, family: Family,
    params: ListQuery,
) -> Json:  # fmt: skip
    """Client classes; ``global`` says whether Central keeps it on every DHCP server."""
    names = service.global_names(db, family)
    items = [
        {**c, "global": c["name"] in names}
        for c in service.current_view(db, config, server, family)["classes"]
    ]
    return service.listing(items, params, CLASS_FIELDS, ("name", "test"))


@router.get(BASE + "/classes/{class_name}")
def get_class(
    db: DbSession, config: Config, _user: CurrentUser, server: DhcpServer, family: Family,
    class_name: Name,
) -> Json:  # fmt: skip
    found = find(
        service.current_view(db, config, server, family), "classes", "name", class_name,
        "class_name",
    )  # fmt: skip
    return {**found, "global": class_name in service.global_names(db, family)}


@router.put(BASE + "/classes/{class_name}")
def put_class(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    class_name: Name, body: ClassBody,
) -> Json:  # fmt: skip
    """Create or replace a class; with ``"global": true`` on every managed DHCP server."""
    if body.name != class_name:
        raise ValidationError(
            f"the name in the body ({body.name}) differs from the path", field="name"
        )
    return service.put_class(
        db, config, user, server, family, wire(body), is_global=body.global_,
        comment=body.comment,
    )  # fmt: skip


@router.delete(BASE + "/classes/{class_name}")
def delete_class(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    class_name: Name, comment: DeleteComment,
) -> Json:  # fmt: skip
    """Delete a class (a global class from every managed DHCP server)."""
    return service.delete_class(db, config, user, server, family, class_name, comment)


# --- server properties and the raw configuration --------------------------------------------
@router.get(BASE + "/properties")
def get_properties(
    db: DbSession, config: Config, _user: CurrentUser, server: DhcpServer, family: Family
) -> Json:
    return dict(service.current_view(db, config, server, family)["properties"])


@router.patch(BASE + "/properties")
def patch_properties(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    body: PropertiesBody,
) -> Json:  # fmt: skip
    changes = body.model_dump(mode="json", exclude={"comment"}, exclude_unset=True)
    _answer, after = service.change(
        db, config, user, server, family, "PATCH", agent_path(family, "properties"), changes,
        object_type="dhcp-properties", object_id="server", action="update",
        pick=section("properties"), comment=body.comment,
    )  # fmt: skip
    return dict(after or {})


@router.get(BASE + "/config")
def get_config(config: Config, _user: CurrentUser, server: DhcpServer, family: Family) -> Json:
    """The daemon's configuration as Kea holds it now, with its hash (for ``expected_hash``)."""
    return dict(service.call(config, server, "GET", agent_path(family, "config")))


@router.put(BASE + "/config")
def put_config(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    body: ConfigBody,
) -> Json:  # fmt: skip
    """Replace the whole configuration (config-test first; ``expected_hash`` guards edits)."""
    query = {"expected_hash": body.expected_hash}
    answer, _after = service.change(
        db, config, user, server, family, "PUT", agent_path(family, "config", query=query),
        body.config, object_type="dhcp-config", object_id="raw", action="update",
        pick=lambda objects: objects, comment=body.comment,
    )  # fmt: skip
    return dict(answer)


# --- leases and utilisation ------------------------------------------------------------------
@router.get(BASE + "/leases")
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
) -> Json:  # fmt: skip
    """Search leases (address, hw_address, client_id, duid, hostname: ``items``, ``total``),
    or without a term page through all of them: ``from`` an address, ``next`` continues."""
    terms = {"address": address, "hw_address": hw_address, "client_id": client_id,
             "duid": duid, "hostname": hostname}  # fmt: skip
    if any(v is not None for v in terms.values()):
        found = service.call(config, server, "GET", agent_path(family, "leases", "search",
                                                               query=terms))  # fmt: skip
        return {"items": found[offset : offset + limit], "total": len(found), "offset": offset,
                "limit": limit}  # fmt: skip
    page = service.call(
        config, server, "GET", agent_path(family, "leases", query={"from": start, "limit": limit})
    )
    return {"items": page["leases"], "next": page.get("next"), "limit": limit}


@router.delete(BASE + "/leases/{address}")
def delete_lease(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    address: Annotated[str, Path(max_length=64)], comment: DeleteComment,
) -> Json:  # fmt: skip
    """Delete a lease (the address is free again)."""
    path = agent_path(family, "leases", "search", query={"address": address})
    before = service.call(config, server, "GET", path)
    service.call(config, server, "DELETE", agent_path(family, "leases", address))
    record(
        db, user, "dhcp-lease", service.history_id(server, family, address), "delete",
        before=before[0] if before else None, comment=comment,
    )  # fmt: skip
    db.commit()
    return {"address": address, "deleted": True}


@router.get(BASE + "/statistics")
def statistics(config: Config, _user: CurrentUser, server: DhcpServer, family: Family) -> Json:
    """Utilisation per scope (total, assigned, declined addresses)."""
    usage = service.call(config, server, "GET", agent_path(family, "statistics"))
    return {"items": usage, "total": len(usage)}
