"""A typed client of the dhcp-agent's API, for Central: contract models in, contract models out.

One method per route of ``services.dhcp.api``; the request and answer models are those of
``services.common.dhcp.contract``, which the agent's routes take and answer. Every change takes
``known_hash`` (the configuration hash the caller last saw: the agent refuses the change with
409 naming ``known_hash`` when Kea's configuration has another).

Answers are mapped by ``services.common.agent_client``, the same way for every agent: a 4xx
keeps its status and every problem; an agent that cannot be reached is 503 with Retry-After;
a change whose answer was lost is ``OutcomeUnknownError`` for the caller to settle.
"""

from __future__ import annotations

import ssl
import urllib.parse
from typing import Any

from pydantic import TypeAdapter

from services.common.agent_client import AgentClient, HttpxTransport
from services.common.dhcp.contract import (
    ChangeResult,
    ClientClass,
    ConfigState,
    IdentifierKind,
    Lease,
    LeasePage,
    LeaseSearch,
    OptionDef,
    OptionValue,
    Reservation,
    Scope,
    ScopeCreated,
    ScopeUsage,
    ServerProperties,
    SharedNetwork,
)
from services.common.dhcp.ddns import DdnsSettings
from services.common.dhcp.ha import (
    HaCertificate,
    HaCertificateRequest,
    HaCertificateSigning,
    HaTlsFiles,
)
from services.common.dhcp.lease_input import LeaseInput
from services.common.dhcp.options import Family

_SCOPES = TypeAdapter(list[Scope])
_NETWORKS = TypeAdapter(list[SharedNetwork])
_OPTIONS = TypeAdapter(list[OptionValue])
_DEFINITIONS = TypeAdapter(list[OptionDef])
_CLASSES = TypeAdapter(list[ClientClass])
_RESERVATIONS = TypeAdapter(list[Reservation])
_LEASES = TypeAdapter(list[Lease])
_USAGE = TypeAdapter(list[ScopeUsage])


def agent_path(family: Family, *parts: object, **query: Any) -> str:
    """``/dhcp/v4/scopes/7?known_hash=…``: parts quoted, query terms that are None left out."""
    path = f"/dhcp/{family}" + "".join("/" + urllib.parse.quote(str(p), safe="") for p in parts)
    given = {k: v for k, v in query.items() if v is not None}
    return path + ("?" + urllib.parse.urlencode(given) if given else "")


class DhcpAgentClient(AgentClient):
    """The dhcp-agent of one appliance, over any ``Transport``."""

    agent = "dhcp-agent"
    #: Kea answers config-test and config-set within its control channel's 10 s; a margin on
    #: top (a configuration of thousands of scopes takes seconds to test and set).
    timeout = 30.0

    @classmethod
    def over_https(cls, base_url: str, tls: ssl.SSLContext) -> DhcpAgentClient:
        """A client of the dhcp-agent at ``base_url`` (``https://ADDRESS:4151``)."""
        return cls(HttpxTransport(base_url, tls))

    # --- scopes and reservations -------------------------------------------------------
    def scopes(self, family: Family) -> list[Scope]:
        return _SCOPES.validate_python(self.call("GET", agent_path(family, "scopes")))

    def scope(self, family: Family, scope_id: int) -> Scope:
        return self.model(Scope, "GET", agent_path(family, "scopes", scope_id))

    def create_scope(
        self, family: Family, scope: Scope, *, known_hash: str | None = None
    ) -> ScopeCreated:
        path = agent_path(family, "scopes", known_hash=known_hash)
        return self.model(ScopeCreated, "POST", path, scope)

    def update_scope(
        self, family: Family, scope_id: int, scope: Scope, *, known_hash: str | None = None
    ) -> ChangeResult:
        path = agent_path(family, "scopes", scope_id, known_hash=known_hash)
        return self.model(ChangeResult, "PUT", path, scope)

    def delete_scope(
        self, family: Family, scope_id: int, *, known_hash: str | None = None
    ) -> ChangeResult:
        path = agent_path(family, "scopes", scope_id, known_hash=known_hash)
        return self.model(ChangeResult, "DELETE", path)

    def add_reservation(
        self,
        family: Family,
        scope_id: int,
        reservation: Reservation,
        *,
        known_hash: str | None = None,
    ) -> ChangeResult:
        path = agent_path(family, "scopes", scope_id, "reservations", known_hash=known_hash)
        return self.model(ChangeResult, "POST", path, reservation)

    def delete_reservation(
        self,
        family: Family,
        scope_id: int,
        kind: IdentifierKind,
        value: str,
        *,
        known_hash: str | None = None,
    ) -> ChangeResult:
        path = agent_path(
            family, "scopes", scope_id, "reservations", kind, value, known_hash=known_hash
        )
        return self.model(ChangeResult, "DELETE", path)

    def put_reservation(
        self,
        family: Family,
        scope_id: int,
        kind: IdentifierKind,
        value: str,
        reservation: Reservation,
        *,
        known_hash: str | None = None,
    ) -> ChangeResult:
        path = agent_path(
            family, "scopes", scope_id, "reservations", kind, value, known_hash=known_hash
        )
        return self.model(ChangeResult, "PUT", path, reservation)

    # --- global reservations -------------------------------------------------------------
    def global_reservations(self, family: Family) -> list[Reservation]:
        return _RESERVATIONS.validate_python(self.call("GET", agent_path(family, "reservations")))

    def put_global_reservation(
        self,
        family: Family,
        kind: IdentifierKind,
        value: str,
        reservation: Reservation,
        *,
        known_hash: str | None = None,
    ) -> ChangeResult:
        path = agent_path(family, "reservations", kind, value, known_hash=known_hash)
        return self.model(ChangeResult, "PUT", path, reservation)

    def delete_global_reservation(
        self, family: Family, kind: IdentifierKind, value: str, *, known_hash: str | None = None
    ) -> ChangeResult:
        path = agent_path(family, "reservations", kind, value, known_hash=known_hash)
        return self.model(ChangeResult, "DELETE", path)

    # --- shared networks -----------------------------------------------------------------
    def shared_networks(self, family: Family) -> list[SharedNetwork]:
        return _NETWORKS.validate_python(self.call("GET", agent_path(family, "shared-networks")))

    def put_shared_network(
        self, family: Family, network: SharedNetwork, *, known_hash: str | None = None
    ) -> ChangeResult:
        path = agent_path(family, "shared-networks", network.name, known_hash=known_hash)
        return self.model(ChangeResult, "PUT", path, network)

    def delete_shared_network(
        self, family: Family, name: str, *, known_hash: str | None = None
    ) -> ChangeResult:
        path = agent_path(family, "shared-networks", name, known_hash=known_hash)
        return self.model(ChangeResult, "DELETE", path)

    # --- options and option definitions -------------------------------------------------
    def options(self, family: Family) -> list[OptionValue]:
        return _OPTIONS.validate_python(self.call("GET", agent_path(family, "options")))

    def set_options(
        self, family: Family, options: list[OptionValue], *, known_hash: str | None = None
    ) -> ChangeResult:
        path = agent_path(family, "options", known_hash=known_hash)
        body = _OPTIONS.dump_json(options, exclude_unset=True)
        return ChangeResult.model_validate(self.call("PUT", path, raw=body))

    def option_definitions(self, family: Family) -> list[OptionDef]:
        answer = self.call("GET", agent_path(family, "option-definitions"))
        return _DEFINITIONS.validate_python(answer)

    def add_option_definition(
        self, family: Family, definition: OptionDef, *, known_hash: str | None = None
    ) -> ChangeResult:
        path = agent_path(family, "option-definitions", known_hash=known_hash)
        return self.model(ChangeResult, "POST", path, definition)

    def delete_option_definition(
        self, family: Family, space: str, code: int, *, known_hash: str | None = None
    ) -> ChangeResult:
        path = agent_path(family, "option-definitions", space, code, known_hash=known_hash)
        return self.model(ChangeResult, "DELETE", path)

    # --- client classes ------------------------------------------------------------------
    def classes(self, family: Family) -> list[ClientClass]:
        return _CLASSES.validate_python(self.call("GET", agent_path(family, "classes")))

    def put_class(
        self, family: Family, cls: ClientClass, *, known_hash: str | None = None
    ) -> ChangeResult:
        path = agent_path(family, "classes", cls.name, known_hash=known_hash)
        return self.model(ChangeResult, "PUT", path, cls)

    def delete_class(
        self, family: Family, name: str, *, known_hash: str | None = None
    ) -> ChangeResult:
        path = agent_path(family, "classes", name, known_hash=known_hash)
        return self.model(ChangeResult, "DELETE", path)

    # --- DNS updates (services.common.dhcp.ddns) ------------------------------------------
    def ddns(self) -> DdnsSettings:
        return self.model(DdnsSettings, "GET", "/dhcp/ddns")

    def set_ddns(self, settings: DdnsSettings) -> DdnsSettings:
        return self.model(DdnsSettings, "PUT", "/dhcp/ddns", settings)

    # --- server properties and the configuration ----------------------------------------
    def properties(self, family: Family) -> ServerProperties:
        return self.model(ServerProperties, "GET", agent_path(family, "properties"))

    def set_properties(
        self, family: Family, properties: ServerProperties, *, known_hash: str | None = None
    ) -> ChangeResult:
        """Change the properties that are set in ``properties`` (the others stay)."""
        path = agent_path(family, "properties", known_hash=known_hash)
        return self.model(ChangeResult, "PATCH", path, properties)

    def config(self, family: Family, digest: str | None = None) -> ConfigState:
        """Kea's configuration and its hash; with ``digest`` (the hash a change answered) the
        agent answers the configuration it read after that change without asking Kea."""
        return self.model(ConfigState, "GET", agent_path(family, "config", hash=digest))

    def config_hash(self, family: Family) -> ConfigState:
        """The hash of Kea's configuration now (``config`` left out)."""
        return self.model(ConfigState, "GET", agent_path(family, "config", "hash"))

    def replace_config(
        self,
        family: Family,
        config: dict[str, Any],
        *,
        expected_hash: str | None = None,
        known_hash: str | None = None,
    ) -> ChangeResult:
        """Set a whole configuration (``{"Dhcp4": {...}}``) after Kea's config-test;
        ``expected_hash``: refused (409) when Kea's configuration has another hash."""
        path = agent_path(family, "config", expected_hash=expected_hash, known_hash=known_hash)
        return self.model(ChangeResult, "PUT", path, config)

    def ha_status(self, family: Family, *, timeout: float | None = None) -> dict[str, Any]:
        """Kea's high-availability status (``status-get``) and ``ha-heartbeat`` answer."""
        found: dict[str, Any] = self.call("GET", agent_path(family, "ha"), timeout=timeout)
        return found

    def ha_tls_request(self, name: str) -> HaCertificateSigning:
        """A new key for Kea's HA listener, made on the appliance: its certificate request."""
        body = HaCertificateRequest(name=name)
        return self.model(HaCertificateSigning, "POST", "/dhcp/ha/tls/request", body)

    def ha_tls_install(self, cert: str, ca: str) -> HaTlsFiles:
        """The signed certificate of that key and the pair's CA: where Kea finds the files."""
        return self.model(HaTlsFiles, "PUT", "/dhcp/ha/tls", HaCertificate(cert=cert, ca=ca))

    # --- leases and statistics ---------------------------------------------------------
    def leases(self, family: Family, start: str | None = None, limit: int = 100) -> LeasePage:
        """A page of leases from the address after ``start`` (None: the first)."""
        path = agent_path(family, "leases", **{"from": start, "limit": limit})
        return self.model(LeasePage, "GET", path)

    def search_leases(self, family: Family, search: LeaseSearch) -> list[Lease]:
        path = agent_path(family, "leases", "search", **search.terms())
        return _LEASES.validate_python(self.call("GET", path))

    def delete_lease(self, family: Family, address: str) -> None:
        self.call("DELETE", agent_path(family, "leases", address))

    def add_lease(self, family: Family, lease: LeaseInput) -> Lease:
        """Add a lease (Kea ``lease4-add`` / ``lease6-add``)."""
        return self.model(Lease, "POST", agent_path(family, "leases"), lease)

    def update_lease(self, family: Family, address: str, changes: LeaseInput) -> Lease:
        """Change the fields given of the lease of ``address`` (``lease4/6-update``)."""
        return self.model(Lease, "PATCH", agent_path(family, "leases", address), changes)

    def statistics(self, family: Family, *, pools: bool = False) -> list[ScopeUsage]:
        """Utilisation per scope; with ``pools``, per pool and prefix pool too."""
        path = agent_path(family, "statistics", pools="true" if pools else None)
        return _USAGE.validate_python(self.call("GET", path))
