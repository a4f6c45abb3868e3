"""The dhcp-agent's HTTP API: what Central stores and forwards, for DHCPv4 (``v4``) and v6.

Every path starts ``/dhcp/{family}``. Every change takes ``?known_hash=`` (the configuration
hash the caller last saw): if Kea's configuration has another, the change is refused with 409
naming ``known_hash`` and nothing is changed. Changes answer the configuration hash before
and after (``ChangeResult``); errors are the one problem format of
``services.common.problems``, every wrong field in ``problems`` in the request's terms
(``pools[0].start``), Kea's refusals among them (type ``refused-by-daemon``, see
``services.dhcp.refusals``). A refused change has changed nothing.

``services.common.dhcp.client.DhcpAgentClient`` is the typed client of these routes.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Response

from services.common.dhcp.contract import (
    ChangeResult,
    ClientClass,
    ConfigState,
    IdentifierKind,
    Lease,
    LeasePage,
    OptionDef,
    OptionValue,
    Reservation,
    Scope,
    ScopeCreated,
    ScopeUsage,
    ServerProperties,
    SharedNetwork,
)
from services.common.dhcp.lease_input import LeaseInput
from services.common.errors import ConflictError, ValidationError
from services.dhcp.changes import KNOWN_HASH, ConfigEditor
from services.dhcp.kea_client import KeaError
from services.dhcp.leases import LeaseBook
from services.dhcp.manage import DhcpServer

Json = dict[str, Any]
FamilyPath = Literal["v4", "v6"]
_ROOTS = ("body", "query", "path")


def dhcp_router(server: DhcpServer, leases: LeaseBook) -> APIRouter:
    """The routes of the dhcp-agent (mounted on the agent application)."""

    async def known_hash(
        known_hash: str | None = Query(default=None, max_length=64, pattern="^[0-9a-f]*$"),
    ) -> None:
        # An async dependency runs in the request's own context, which the (threaded)
        # endpoint inherits: the editor sees the value of this request only.
        KNOWN_HASH.set(known_hash)

    api = APIRouter(prefix="/dhcp/{family}", dependencies=[Depends(known_hash)])
    editor: ConfigEditor = server.editor

    # --- scopes and reservations ------------------------------------------------
    @api.get("/scopes")
    def list_scopes(family: FamilyPath) -> list[Scope]:
        return server.scopes(family)

    @api.post("/scopes", status_code=201)
    def create_scope(family: FamilyPath, scope: Scope) -> ScopeCreated:
        created, result = server.create_scope(family, scope)
        return ScopeCreated(scope=created, change=result)

    @api.get("/scopes/{scope_id}")
    def get_scope(family: FamilyPath, scope_id: int) -> Scope:
        return server.scope(family, scope_id)

    @api.put("/scopes/{scope_id}")
    def update_scope(family: FamilyPath, scope_id: int, scope: Scope) -> ChangeResult:
        return server.update_scope(family, scope_id, scope)

    @api.delete("/scopes/{scope_id}")
    def delete_scope(family: FamilyPath, scope_id: int) -> ChangeResult:
        return server.delete_scope(family, scope_id)

    @api.post("/scopes/{scope_id}/reservations", status_code=201)
    def add_reservation(family: FamilyPath, scope_id: int, body: Reservation) -> ChangeResult:
        return server.add_reservation(family, scope_id, body)

    @api.put("/scopes/{scope_id}/reservations/{kind}/{value}")
    def put_reservation(
        family: FamilyPath, scope_id: int, kind: IdentifierKind, value: str, body: Reservation
    ) -> ChangeResult:
        return server.put_reservation(family, scope_id, kind, value, body)

    @api.delete("/scopes/{scope_id}/reservations/{kind}/{value}")
    def delete_reservation(
        family: FamilyPath,
        scope_id: int,
        kind: IdentifierKind,
        value: str,
    ) -> ChangeResult:
        return server.delete_reservation(family, scope_id, kind, value)

    # --- global reservations ------------------------------------------------------
    @api.get("/reservations")
    def list_global_reservations(family: FamilyPath) -> list[Reservation]:
        return server.global_reservations(family)

    @api.put("/reservations/{kind}/{value}")
    def put_global_reservation(
        family: FamilyPath, kind: IdentifierKind, value: str, body: Reservation
    ) -> ChangeResult:
        return server.put_global_reservation(family, kind, value, body)

    @api.delete("/reservations/{kind}/{value}")
    def delete_global_reservation(
        family: FamilyPath, kind: IdentifierKind, value: str
    ) -> ChangeResult:
        return server.delete_global_reservation(family, kind, value)

    # --- shared networks ----------------------------------------------------------
    @api.get("/shared-networks")
    def list_shared_networks(family: FamilyPath) -> list[SharedNetwork]:
        return server.shared_networks(family)

    @api.put("/shared-networks/{name}")
    def put_shared_network(family: FamilyPath, name: str, body: SharedNetwork) -> ChangeResult:
        _same_name(name, body.name)
        return server.put_shared_network(family, body)

    @api.delete("/shared-networks/{name}")
    def delete_shared_network(family: FamilyPath, name: str) -> ChangeResult:
        return server.delete_shared_network(family, name)

    # --- options and definitions --------------------------------------------------
    @api.get("/options")
    def get_options(family: FamilyPath) -> list[OptionValue]:
        return server.options(family)

    @api.put("/options")
    def put_options(family: FamilyPath, body: list[OptionValue]) -> ChangeResult:
        return server.set_options(family, body)

    @api.get("/option-definitions")
    def list_option_defs(family: FamilyPath) -> list[OptionDef]:
        return server.option_defs(family)

    @api.post("/option-definitions", status_code=201)
    def add_option_def(family: FamilyPath, body: OptionDef) -> ChangeResult:
        return server.add_option_def(family, body)

    @api.delete("/option-definitions/{space}/{code}")
    def delete_option_def(family: FamilyPath, space: str, code: int) -> ChangeResult:
        return server.delete_option_def(family, space, code)

    # --- client classes -----------------------------------------------------------
    @api.get("/classes")
    def list_classes(family: FamilyPath) -> list[ClientClass]:
        return server.classes(family)

    @api.put("/classes/{name}")
    def put_class(family: FamilyPath, name: str, body: ClientClass) -> ChangeResult:
        _same_name(name, body.name)
        return server.put_class(family, body)

    @api.delete("/classes/{name}")
    def delete_class(family: FamilyPath, name: str) -> ChangeResult:
        return server.delete_class(family, name)

    # --- server properties and raw configuration ----------------------------------
    @api.get("/properties")
    def get_properties(family: FamilyPath) -> ServerProperties:
        return server.properties(family)

    @api.patch("/properties")
    def patch_properties(family: FamilyPath, body: ServerProperties) -> ChangeResult:
        return server.set_properties(family, body)

    @api.get("/config", response_model=ConfigState)
    def get_config(
        family: FamilyPath,
        digest: str | None = Query(default=None, max_length=64, alias="hash"),
    ) -> Response:
        """Kea's configuration and its hash; with ``hash``, the configuration of that hash
        if the agent still holds it (as after the change that answered it), without asking
        Kea again: equal hashes, equal configurations."""
        now = editor.last(family)
        if now is None or digest is None or now.hash != digest:
            now = editor.snapshot(family)
        # Written straight from the bytes the editor keeps: a configuration of 1,000 scopes
        # is some 470 kB, which a model would validate and serialise again at every read.
        head = orjson.dumps({"family": family, "hash": now.hash})
        body = head[:-1] + b',"config":' + now.config_json + b"}"
        return Response(body, media_type="application/json")

    @api.get("/ha")
    def ha_status(family: FamilyPath) -> Json:
        """The high-availability part of Kea's ``status-get`` (``high-availability``: each
        relationship's mode and the local and remote servers' roles and states) and the
        local state from ``ha-heartbeat``; both empty when the HA hook is not loaded."""
        kea = editor.kea
        status = kea.command("status-get", family).arguments
        found: Json = {"high-availability": status.get("high-availability") or []}
        try:
            beat = kea.command("ha-heartbeat", family).arguments
        except KeaError:  # no HA hook: the command is unknown
            beat = {}
        found["heartbeat"] = beat
        return found

    @api.get("/config/hash")
    def get_config_hash(family: FamilyPath) -> ConfigState:
        _config, digest = editor.state(family)
        return ConfigState(family=family, hash=digest)

    @api.put("/config")
    def put_config(
        family: FamilyPath,
        body: Json,
        expected_hash: str | None = Query(default=None, max_length=64),
    ) -> ChangeResult:
        if expected_hash is not None:
            _config, digest = editor.state(family)
            if digest != expected_hash:
                raise ConflictError(
                    "The configuration on the server changed since it was read.",
                    field="expected_hash",
                    hint="read it again and repeat the edit",
                )
        return editor.replace(family, body)

    # --- leases and statistics ----------------------------------------------------
    @api.get("/leases")
    def list_leases(
        family: FamilyPath,
        start: str | None = Query(default=None, alias="from"),
        limit: int = 100,
    ) -> LeasePage:
        return leases.page(family, start, limit)

    @api.get("/leases/search")
    def search_leases(
        family: FamilyPath,
        address: str | None = None,
        hw_address: str | None = None,
        client_id: str | None = None,
        duid: str | None = None,
        hostname: str | None = None,
        limit: int = 1000,
    ) -> list[Lease]:
        """By address, network (``198.51.100.0/25``) or start of addresses
        (``198.51.100.``); hardware address or its first octets; hostname, exact or a
        pattern with ``*``; client id; DUID. At most ``limit`` leases."""
        return leases.search(
            family,
            address=address,
            hw_address=hw_address,
            client_id=client_id,
            duid=duid,
            hostname=hostname,
            limit=limit,
        )

    @api.post("/leases", status_code=201)
    def add_lease(family: FamilyPath, body: LeaseInput) -> Lease:
        """Add a lease (``lease4-add`` / ``lease6-add``); 409 if the address has one."""
        return leases.add(family, body, lambda: server.scopes(family))

    @api.patch("/leases/{address}")
    def update_lease(family: FamilyPath, address: str, body: LeaseInput) -> Lease:
        """Change a lease's fields given (``lease4-update`` / ``lease6-update``)."""
        return leases.update(family, address, body)

    @api.delete("/leases/{address}", status_code=204)
    def delete_lease(family: FamilyPath, address: str) -> Response:
        leases.delete(family, address)
        return Response(status_code=204)

    @api.get("/statistics")
    def statistics(family: FamilyPath, pools: bool = False) -> list[ScopeUsage]:
        """Utilisation per scope; with ``pools=true`` per pool and prefix pool too."""
        scopes = [s for s in server.scopes(family) if s.id is not None]
        subnets = {s.id: str(s.subnet) for s in scopes if s.id is not None}
        by_id = {s.id: s for s in scopes if s.id is not None} if pools else None
        return leases.usage(family, subnets, by_id)

    return api


def _same_name(path: str, body: str) -> None:
    if path != body:
        raise ValidationError(f"the name in the body ({body}) differs from the path", field="name")
