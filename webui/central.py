"""The console's client of Central's API: every call carries the logged-in user's token.

Central is reached over HTTPS and its certificate is checked against the appliance CA
(``var/lib/burrow/pki/ca/ca.crt``). One connection pool is shared by all requests.

ApiError           Central answered an error (problem JSON: status, detail, the fields named)
SessionGoneError   Central does not know the session's token any more (expired, revoked)
CentralDownError   Central could not be reached at all
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

DEFAULT_URL = "https://127.0.0.1:1231"


class ApiError(Exception):
    """An error answer of Central, with the fields it names."""

    def __init__(
        self,
        status: int,
        detail: str,
        field: str | None = None,
        errors: dict[str, str] | None = None,
        fields: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.field = field
        #: form field -> message (the last name of the API's field path)
        self.errors = errors or {}
        #: the API's own field paths (``routes.0.gateway``) -> message
        self.fields = fields or {}


class SessionGoneError(Exception):
    """Central answered 401 to a call with a token: the session expired or was revoked.
    Not an ApiError, so that a page's form handling never takes it for a refusal."""


class CentralDownError(Exception):
    """Central did not answer."""


def form_field(api_field: str) -> str:
    """The form field an API field path names: ``changes[0].record.data`` -> ``data``."""
    last = re.split(r"[.\[\]]+", api_field.strip(".[]"))
    parts = [p for p in last if p and not p.isdigit()]
    return parts[-1] if parts else api_field


def problem_of(response: httpx.Response) -> ApiError:
    """The ApiError of an error answer (problem JSON, or anything else Central sent)."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    detail = str(body.get("detail") or f"Central answered HTTP {response.status_code}.")
    errors: dict[str, str] = {}
    fields: dict[str, str] = {}
    for item in body.get("errors") or []:
        if isinstance(item, dict) and item.get("field"):
            name, message = str(item["field"]), str(item.get("message", ""))
            message = message.removeprefix(f"{name}: ")
            errors.setdefault(form_field(name), message)
            fields.setdefault(name, message)
    field = body.get("field")
    if field and form_field(str(field)) not in errors:
        errors[form_field(str(field))] = detail.removeprefix(f"{field}: ")
    if field:
        fields.setdefault(str(field), detail.removeprefix(f"{field}: "))
        detail = detail.removeprefix(f"{field}: ")
    return ApiError(response.status_code, detail, str(field) if field else None, errors, fields)


class Central:
    """Central's API at ``url``, trusted through the appliance CA in ``ca_file``."""

    def __init__(
        self,
        url: str,
        ca_file: Path,
        timeout: float = 60,
        transport: httpx.BaseTransport | None = None,
        client_key: str | None = None,
    ) -> None:
        """``transport``: another way to Central (the unit tests' in-memory one).
        ``client_key``: the key shared with Central, to name the browser's address at login."""
        self._client_key = client_key
        verify: ssl.SSLContext | bool = True
        if transport is None:
            verify = ssl.create_default_context(cafile=str(ca_file))
        self._http = httpx.Client(
            base_url=url,
            verify=verify,
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        )

    def close(self) -> None:
        self._http.close()

    def call(
        self,
        method: str,
        path: str,
        token: str | None,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """The JSON answer of one call; ApiError for an error answer."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        try:
            response = self._http.request(
                method, "/api/v1" + path, params=clean, json=json, headers=headers
            )
        except httpx.HTTPError as exc:
            raise CentralDownError(f"Central cannot be reached: {exc}") from exc
        if response.status_code == 401 and token:
            raise SessionGoneError(response.text)
        if response.status_code >= 400:
            raise problem_of(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def download(self, path: str, token: str) -> tuple[Iterator[bytes], dict[str, str]]:
        """A file Central sends (a backup export): its bytes as they come, and its headers."""
        request = self._http.build_request(
            "GET", "/api/v1" + path, headers={"Authorization": f"Bearer {token}"}
        )
        try:
            response = self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise CentralDownError(f"Central cannot be reached: {exc}") from exc
        if response.status_code >= 400:
            response.read()
            response.close()
            if response.status_code == 401:
                raise SessionGoneError(response.text)
            raise problem_of(response)

        def body() -> Iterator[bytes]:
            try:
                yield from response.iter_bytes(65536)
            finally:
                response.close()

        keep = ("content-type", "content-disposition", "content-length")
        return body(), {k: v for k, v in response.headers.items() if k.lower() in keep}

    def login(self, username: str, password: str, client: str | None) -> Any:
        """Log a user in; Central counts failures against ``client`` (the browser's address)
        when this console holds the key it shares with Central, else against the console."""
        headers = {}
        if self._client_key and client:
            headers = {"X-Burrow-Console-Key": self._client_key, "X-Burrow-Client": client}
        try:
            response = self._http.post(
                "/api/v1/auth/login",
                json={"username": username, "password": password},
                headers=headers,
            )
        except httpx.HTTPError as exc:
            raise CentralDownError(f"Central cannot be reached: {exc}") from exc
        if response.status_code >= 400:
            raise problem_of(response)
        return response.json()

    def get(self, path: str, token: str, **params: Any) -> Any:
        return self.call("GET", path, token, params=params)

    def post(self, path: str, token: str, body: Any = None, **params: Any) -> Any:
        return self.call("POST", path, token, json=body, params=params)

    def put(self, path: str, token: str, body: Any) -> Any:
        return self.call("PUT", path, token, json=body)

    def patch(self, path: str, token: str, body: Any) -> Any:
        return self.call("PATCH", path, token, json=body)

    def delete(self, path: str, token: str, **params: Any) -> Any:
        return self.call("DELETE", path, token, params=params)
