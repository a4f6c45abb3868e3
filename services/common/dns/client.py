"""A typed client of the dns-agent's API, for Central: contract models in, contract models out.

Answers are mapped by ``services.common.agent_client``, the same way for every agent: a
4xx keeps its status and every problem, so Central can pass them on as they are.
"""

from __future__ import annotations

import ssl

from pydantic import TypeAdapter

from services.common.agent_client import AgentClient, HttpxTransport
from services.common.dns.contract import (
    ChangeResult,
    ChangeSet,
    ImportPreview,
    ServerOptions,
    ZoneContent,
    ZoneCreate,
    ZoneExport,
    ZoneImport,
    ZoneImported,
    ZonePublic,
    ZoneUpdate,
)
from services.common.dns.dnssec import DnssecPolicy, DsChange, Rollover, ZoneDnssec
from services.common.dns.tsig import TsigKeyInstall, TsigKeyPublic

_ZONES = TypeAdapter(list[ZonePublic])
_KEYS = TypeAdapter(list[TsigKeyPublic])
_POLICIES = TypeAdapter(list[DnssecPolicy])


class DnsAgentClient(AgentClient):
    """The dns-agent of one appliance, over any ``Transport``."""

    agent = "dns-agent"
    #: A large zone import or export takes its time.
    timeout = 300.0

    @classmethod
    def over_https(cls, base_url: str, tls: ssl.SSLContext) -> DnsAgentClient:
        """A client of the dns-agent at ``base_url`` (``https://ADDRESS:1337``)."""
        return cls(HttpxTransport(base_url, tls))

    def zones(self) -> list[ZonePublic]:
        return _ZONES.validate_python(self.call("GET", "/zones"))

    def zone(self, name: str) -> ZonePublic:
        return self.model(ZonePublic, "GET", f"/zones/{name}")

    def create_zone(self, spec: ZoneCreate) -> ZonePublic:
        return self.model(ZonePublic, "POST", "/zones", spec)

    def update_zone(self, name: str, update: ZoneUpdate) -> ZonePublic:
        return self.model(ZonePublic, "PATCH", f"/zones/{name}", update)

    def delete_zone(self, name: str) -> None:
        self.call("DELETE", f"/zones/{name}")

    def set_enabled(self, name: str, enabled: bool) -> ZonePublic:
        action = "enable" if enabled else "disable"
        return self.model(ZonePublic, "POST", f"/zones/{name}/{action}")

    def records(self, name: str) -> ZoneContent:
        return self.model(ZoneContent, "GET", f"/zones/{name}/records")

    def apply(self, name: str, changes: ChangeSet) -> ChangeResult:
        return self.model(ChangeResult, "POST", f"/zones/{name}/changes", changes)

    def import_zone(self, request: ZoneImport, *, records: bool = False) -> ZoneImported:
        """Import a zone file; ``records``: the answer holds the zone's records as named
        serves them (``ZoneImported.content``)."""
        path = "/zones/import?records=true" if records else "/zones/import"
        return self.model(ZoneImported, "POST", path, request)

    def preview_import(self, request: ZoneImport) -> ImportPreview:
        return self.model(ImportPreview, "POST", "/zones/import/preview", request)

    def export(self, name: str) -> ZoneExport:
        return self.model(ZoneExport, "GET", f"/zones/{name}/export")

    def options(self) -> ServerOptions:
        return self.model(ServerOptions, "GET", "/options")

    def set_options(self, options: ServerOptions) -> ServerOptions:
        return self.model(ServerOptions, "PUT", "/options", options)

    def keys(self) -> list[TsigKeyPublic]:
        return _KEYS.validate_python(self.call("GET", "/keys"))

    def add_key(self, key: TsigKeyInstall) -> TsigKeyPublic:
        return self.model(TsigKeyPublic, "POST", "/keys", key)

    def delete_key(self, name: str) -> None:
        self.call("DELETE", f"/keys/{name}")

    def policies(self) -> list[DnssecPolicy]:
        return _POLICIES.validate_python(self.call("GET", "/dnssec/policies"))

    def put_policy(self, policy: DnssecPolicy) -> DnssecPolicy:
        return self.model(DnssecPolicy, "PUT", f"/dnssec/policies/{policy.name}", policy)

    def delete_policy(self, name: str) -> None:
        self.call("DELETE", f"/dnssec/policies/{name}")

    def dnssec(self, zone: str) -> ZoneDnssec:
        return self.model(ZoneDnssec, "GET", f"/zones/{zone}/dnssec")

    def rollover(self, zone: str, key_id: int) -> ZoneDnssec:
        return self.model(
            ZoneDnssec, "POST", f"/zones/{zone}/dnssec/rollover", Rollover(key_id=key_id)
        )

    def checkds(self, zone: str, change: DsChange) -> ZoneDnssec:
        return self.model(ZoneDnssec, "POST", f"/zones/{zone}/dnssec/checkds", change)
