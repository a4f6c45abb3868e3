"""A typed client of the dns-agent's API, for Central: contract models in, contract models out.

Problem JSON answers come back as the matching ``services.common.errors`` exception (422 as
``ValidationError`` with ``field`` and ``problems``, 404 ``NotFoundError``, 409
``ConflictError``, 502 and anything else ``DaemonError``), so Central can pass them on as they
are.
"""

from __future__ import annotations

import ssl
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter

from services.common.dns.contract import (
    ChangeResult,
    ChangeSet,
    ServerOptions,
    ZoneContent,
    ZoneCreate,
    ZoneExport,
    ZoneImport,
    ZonePublic,
    ZoneUpdate,
)
from services.common.errors import (
    BurrowError,
    ConflictError,
    DaemonError,
    NotFoundError,
    ValidationError,
)

M = TypeVar("M", bound=BaseModel)
_ERRORS: dict[int, type[BurrowError]] = {
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
}
_ZONES = TypeAdapter(list[ZonePublic])


def _error(response: httpx.Response) -> BurrowError:
    try:
        body = response.json()
    except ValueError:
        body = {"detail": response.text[:200]}
    kind = _ERRORS.get(response.status_code, DaemonError)
    error = kind(
        str(body.get("detail") or f"HTTP {response.status_code}"),
        field=body.get("field"),
        hint=body.get("hint"),
    )
    error.problems = list(body.get("errors") or [])  # type: ignore[attr-defined]
    return error


class DnsAgentClient:
    """The dns-agent of one appliance at ``base_url`` (``https://ADDRESS:1337``)."""

    def __init__(self, base_url: str, tls: ssl.SSLContext, timeout: float = 300.0) -> None:
        self.http = httpx.Client(base_url=base_url, verify=tls, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> DnsAgentClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: BaseModel | None = None) -> Any:
        payload = body.model_dump(mode="json", exclude_unset=True) if body is not None else None
        response = self.http.request(method, path, json=payload)
        if response.status_code >= 400:
            raise _error(response)
        return response.json() if response.content else None

    def _model(self, model: type[M], method: str, path: str, body: BaseModel | None = None) -> M:
        return model.model_validate(self._call(method, path, body))

    def zones(self) -> list[ZonePublic]:
        return _ZONES.validate_python(self._call("GET", "/zones"))

    def zone(self, name: str) -> ZonePublic:
        return self._model(ZonePublic, "GET", f"/zones/{name}")

    def create_zone(self, spec: ZoneCreate) -> ZonePublic:
        return self._model(ZonePublic, "POST", "/zones", spec)

    def update_zone(self, name: str, update: ZoneUpdate) -> ZonePublic:
        return self._model(ZonePublic, "PATCH", f"/zones/{name}", update)

    def delete_zone(self, name: str) -> None:
        self._call("DELETE", f"/zones/{name}")

    def set_enabled(self, name: str, enabled: bool) -> ZonePublic:
        action = "enable" if enabled else "disable"
        return self._model(ZonePublic, "POST", f"/zones/{name}/{action}")

    def records(self, name: str) -> ZoneContent:
        return self._model(ZoneContent, "GET", f"/zones/{name}/records")

    def apply(self, name: str, changes: ChangeSet) -> ChangeResult:
        return self._model(ChangeResult, "POST", f"/zones/{name}/changes", changes)

    def import_zone(self, request: ZoneImport) -> ZonePublic:
        return self._model(ZonePublic, "POST", "/zones/import", request)

    def export(self, name: str) -> ZoneExport:
        return self._model(ZoneExport, "GET", f"/zones/{name}/export")

    def options(self) -> ServerOptions:
        return self._model(ServerOptions, "GET", "/options")

    def set_options(self, options: ServerOptions) -> ServerOptions:
        return self._model(ServerOptions, "PUT", "/options", options)
