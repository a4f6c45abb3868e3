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

_ZONES = TypeAdapter(list[ZonePublic])


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

    def import_zone(self, request: ZoneImport) -> ZoneImported:
        return self.model(ZoneImported, "POST", "/zones/import", request)

    def preview_import(self, request: ZoneImport) -> ImportPreview:
        return self.model(ImportPreview, "POST", "/zones/import/preview", request)

    def export(self, name: str) -> ZoneExport:
        return self.model(ZoneExport, "GET", f"/zones/{name}/export")

    def options(self) -> ServerOptions:
        return self.model(ServerOptions, "GET", "/options")

    def set_options(self, options: ServerOptions) -> ServerOptions:
        return self.model(ServerOptions, "PUT", "/options", options)
