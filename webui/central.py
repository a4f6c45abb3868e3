"""The console's one client of Central's API: every call the console makes, typed.

Central is reached over HTTPS and its certificate is checked against the appliance CA
(``var/lib/burrow/pki/ca/ca.crt``). One connection pool is shared by all requests; every call
carries the logged-in user's token. Answers are read into the models of ``webui.models``;
error answers are read with the one problem schema of every Burrow program
(``services.common.problems.Problem``) and raised as:

ApiError           Central answered an error: its status and problem (``problems`` names
                   every wrong field, in the request's terms)
└── UnavailableError  503: Central or an agent behind it cannot serve now (``retry_after``)
SessionGoneError   Central does not know the session's token any more (expired, revoked)
CentralDownError   Central could not be reached at all, or did not answer in time

Numbers and booleans go to Central as JSON numbers and booleans, never as text: Central takes
no ``"60"`` for 60 (the pages turn form text into them first, see ``webui.forms``).
"""

from __future__ import annotations

import functools
import logging
import ssl
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter
from pydantic import ValidationError as ModelError

from services.common.dhcp.contract import ScopeUsage
from services.common.figures import Figures
from services.common.problems import TITLES, TYPE_PREFIX, Problem, ProblemItem
from webui.models import (
    ApplianceBackups,
    AppliancePeer,
    BackupPeer,
    BackupResult,
    BackupStatus,
    ClassAnswer,
    DhcpServer,
    DnssecPolicies,
    DnsServerOptions,
    FleetJoinCode,
    FleetMember,
    FleetMembership,
    FoundRecord,
    HaPair,
    HistoryEntry,
    ImportPreview,
    LeaseListing,
    Listing,
    LoginAnswer,
    Network,
    OptionAnswer,
    OptionDefAnswer,
    PairingToken,
    Record,
    Replacement,
    ScopeAnswer,
    Server,
    ServiceEvent,
    Snapshot,
    Total,
    TsigKey,
    TsigKeyCreated,
    User,
    Zone,
    ZoneDnssec,
    ZoneFile,
)

DEFAULT_URL = "https://127.0.0.1:1231"
log = logging.getLogger(__name__)
API = "/api/v1"
M = TypeVar("M")
Settings = dict[str, int | bool | str]


class ApiError(Exception):
    """An error answer of Central: its HTTP status and its problem."""

    def __init__(self, status: int, problem: Problem, retry_after: int | None = None) -> None:
        super().__init__(problem.detail)
        self.status = status
        self.problem = problem
        self.retry_after = retry_after

    @classmethod
    def plain(cls, status: int, detail: str, field: str | None = None) -> ApiError:
        """An error the console finds itself, in the same shape as Central's."""
        problems = [ProblemItem(field=field, message=detail)] if field else []
        return cls(status, _problem(status, detail, problems))

    @property
    def detail(self) -> str:
        return self.problem.detail

    @property
    def problems(self) -> list[ProblemItem]:
        return self.problem.problems

    @property
    def sentence(self) -> str:
        """The detail for people, with the hint and when to try again."""
        words = [self.problem.detail.rstrip(".") + "."]
        if self.problem.hint:
            words.append(self.problem.hint[:1].upper() + self.problem.hint[1:].rstrip(".") + ".")
        if self.retry_after:
            words.append(f"Try again in {self.retry_after} s.")
        return " ".join(words)


class UnavailableError(ApiError):
    """Central answered 503: it, or an agent it needs for this, cannot serve now."""


class SessionGoneError(Exception):
    """Central answered 401 to a call with a token: the session expired or was revoked.
    Not an ApiError, so that a page's form handling never takes it for a refusal."""


class CentralDownError(Exception):
    """Central did not answer: nothing listens, the connection broke, or it took too long."""


def _problem(status: int, detail: str, problems: list[ProblemItem] | None = None) -> Problem:
    code = "unavailable" if status == 503 else "error"
    return Problem(
        type=TYPE_PREFIX + code,
        title=TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        problems=problems or [],
    )


def problem_of(response: httpx.Response) -> ApiError:
    """The ApiError of an error answer: Central's problem, or a plain description of an answer
    that is none (a proxy's page, an empty body)."""
    status = response.status_code
    try:
        problem = Problem.model_validate_json(response.content)
    except ModelError:
        if status == 503:
            detail = "Central is not ready to answer (it may be starting)."
        else:
            detail = f"Central answered {status} {TITLES.get(status, 'Error')} with no explanation."
        problem = _problem(status, detail)
    retry = response.headers.get("retry-after", "")
    retry_after = int(retry) if retry.isdigit() else None
    kind = UnavailableError if status == 503 else ApiError
    return kind(status, problem, retry_after)


def _down(url: str, exc: httpx.HTTPError) -> CentralDownError:
    if isinstance(exc, httpx.TimeoutException):
        why = "it did not answer in time"
    elif isinstance(exc, httpx.ConnectError):
        why = f"nothing answers at {url}"
    else:
        why = "the connection to it broke"
    return CentralDownError(
        f"Central cannot be reached: {why}. It may be restarting; try again in a moment."
    )


@functools.cache
def _adapter(model: Any) -> TypeAdapter[Any]:
    return TypeAdapter(model)


def _read(model: Any, data: Any) -> Any:
    """``data`` read into ``model``; an answer that does not fit is Central's fault (502)."""
    try:
        return _adapter(model).validate_python(data)
    except ModelError as exc:
        log.warning("an answer of Central does not fit %s: %s", model, exc)
        raise ApiError.plain(
            502, f"Central's answer is not what the console expects ({exc.error_count()} "
            "differences); the console and Central may be of different versions.",
        ) from None  # fmt: skip


def _segment(value: str | int) -> str:
    """One path segment, quoted (a class name or a hardware address goes in a path)."""
    return quote(str(value), safe="")


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
        self._url = url
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

    # --- the one way to Central -------------------------------------------------------------
    def _send(
        self,
        method: str,
        path: str,
        token: str | None,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        try:
            response = self._http.request(method, API + path, params=clean, json=body, headers=sent)
        except httpx.HTTPError as exc:
            raise _down(self._url, exc) from exc
        if response.status_code == 401 and token:
            raise SessionGoneError(response.text)
        if response.status_code >= 400:
            raise problem_of(response)
        return response

    def _call(
        self,
        method: str,
        path: str,
        token: str | None,
        answer: type[M] | Any = None,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> Any:
        """One call; its answer read into ``answer`` (None: the answer is not used)."""
        response = self._send(method, path, token, params=params, body=body)
        if answer is None or response.status_code == 204 or not response.content:
            return None
        try:
            data = response.json()
        except ValueError:
            raise ApiError.plain(502, "Central's answer is not JSON.") from None
        return _read(answer, data)

    def api(
        self,
        method: str,
        path: str,
        token: str,
        answer: type[M] | Any = None,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> Any:
        """One call of the API at ``path`` (below ``/api/v1``), for a part of the console that
        keeps its calls in a module of its own (``webui.ipam``)."""
        return self._call(method, path, token, answer, params=params, body=body)

    def _download(self, path: str, token: str) -> tuple[Iterator[bytes], dict[str, str]]:
        """A file Central sends (a backup export): its bytes as they come, and its headers."""
        request = self._http.build_request(
            "GET", API + path, headers={"Authorization": f"Bearer {token}"}
        )
        try:
            response = self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise _down(self._url, exc) from exc
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

    # --- sessions and users -----------------------------------------------------------------
    def login(self, username: str, password: str, client: str | None) -> LoginAnswer:
        """Log a user in; Central counts failures against ``client`` (the browser's address)
        when this console holds the key it shares with Central, else against the console."""
        headers = {}
        if self._client_key and client:
            headers = {"X-Burrow-Console-Key": self._client_key, "X-Burrow-Client": client}
        body = {"username": username, "password": password}
        response = self._send("POST", "/auth/login", None, body=body, headers=headers)
        answer: LoginAnswer = _read(LoginAnswer, response.json())
        return answer

    def me(self, token: str) -> User:
        """The user of ``token`` as Central knows them now (their role may have changed)."""
        found: User = self._call("GET", "/me", token, User)
        return found

    def logout(self, token: str) -> None:
        self._call("POST", "/auth/logout", token)

    def users(self, token: str, **params: Any) -> Listing[User]:
        found: Listing[User] = self._call("GET", "/users", token, Listing[User], params=params)
        return found

    def create_user(self, token: str, body: dict[str, Any]) -> None:
        self._call("POST", "/users", token, body=body)

    def update_user(self, token: str, user_id: int, body: dict[str, Any]) -> None:
        self._call("PATCH", f"/users/{user_id}", token, body=body)

    def delete_user(self, token: str, user_id: int, comment: str) -> None:
        self._call("DELETE", f"/users/{user_id}", token, params={"comment": comment})

    def total(self, token: str, path: str) -> int:
        """How many items the list at ``path`` holds."""
        found: Total = self._call("GET", path, token, Total, params={"limit": 1})
        return found.total

    # --- settings, servers, events, history ------------------------------------------------
    def settings(self, token: str) -> Settings:
        found: Settings = self._call("GET", "/settings", token, Settings)
        return found

    def change_settings(self, token: str, body: dict[str, Any]) -> None:
        self._call("PATCH", "/settings", token, body=body)

    def servers(self, token: str, **params: Any) -> list[Server]:
        found: Listing[Server] = self._call(
            "GET", "/servers", token, Listing[Server], params={"limit": 1000, **params}
        )
        return found.items

    def sync(self, token: str, kind: str, server_id: int) -> None:
        self._call("POST", f"/{kind}/servers/{server_id}/sync", token)

    def service_events(self, token: str, limit: int = 200) -> list[ServiceEvent]:
        found: Listing[ServiceEvent] = self._call(
            "GET", "/service-events", token, Listing[ServiceEvent], params={"limit": limit}
        )
        return found.items

    def monitoring(self, token: str) -> dict[str, Any]:
        """The monitoring settings, secrets shown as ********."""
        found: dict[str, Any] = self._call("GET", "/monitoring", token, dict[str, Any])
        return found

    def change_monitoring(self, token: str, body: dict[str, Any]) -> None:
        self._call("PUT", "/monitoring", token, body=body)

    def figures(self, token: str) -> Figures:
        """What the monitor program last collected (SNMP's and /metrics' figures)."""
        found: Figures = self._call("GET", "/monitoring/figures", token, Figures)
        return found

    def history(self, token: str, **params: Any) -> Listing[HistoryEntry]:
        found: Listing[HistoryEntry] = self._call(
            "GET", "/history", token, Listing[HistoryEntry], params=params
        )
        return found

    # --- DNS -------------------------------------------------------------------------------
    def zones(self, token: str, **params: Any) -> Listing[Zone]:
        found: Listing[Zone] = self._call("GET", "/dns/zones", token, Listing[Zone], params=params)
        return found

    def zone(self, token: str, zone_id: int) -> Zone:
        found: Zone = self._call("GET", f"/dns/zones/{zone_id}", token, Zone)
        return found

    def create_zone(self, token: str, body: dict[str, Any]) -> Zone:
        made: Zone = self._call("POST", "/dns/zones", token, Zone, body=body)
        return made

    def import_zone(self, token: str, body: dict[str, Any]) -> Zone:
        made: Zone = self._call("POST", "/dns/zones/import", token, Zone, body=body)
        return made

    def preview_import(self, token: str, body: dict[str, Any]) -> ImportPreview:
        found: ImportPreview = self._call(
            "POST", "/dns/zones/import/preview", token, ImportPreview, body=body
        )
        return found

    def delete_zone(self, token: str, zone_id: int, comment: str) -> None:
        self._call("DELETE", f"/dns/zones/{zone_id}", token, params={"comment": comment})

    def records(self, token: str, zone_id: int, **params: Any) -> Listing[Record]:
        found: Listing[Record] = self._call(
            "GET", f"/dns/zones/{zone_id}/records", token, Listing[Record], params=params
        )
        return found

    def change_records(
        self, token: str, zone_id: int, changes: list[dict[str, Any]], comment: str
    ) -> None:
        """Apply record changes to one zone, all or nothing (Central's ``ChangeSet``)."""
        body = {"changes": changes, "comment": comment}
        self._call("POST", f"/dns/zones/{zone_id}/changes", token, body=body)

    def update_zone(self, token: str, zone_id: int, body: dict[str, Any]) -> Zone:
        """Change a zone's SOA fields, default TTL or options (Central's ``ZoneUpdate``)."""
        changed: Zone = self._call("PATCH", f"/dns/zones/{zone_id}", token, Zone, body=body)
        return changed

    def export_zone(self, token: str, zone_id: int) -> ZoneFile:
        found: ZoneFile = self._call("GET", f"/dns/zones/{zone_id}/export", token, ZoneFile)
        return found

    def search_records(self, token: str, **params: Any) -> Listing[FoundRecord]:
        """Records across every zone (``filter``, ``name`` glob, ``type``, ``data``, paging)."""
        found: Listing[FoundRecord] = self._call(
            "GET", "/dns/records", token, Listing[FoundRecord], params=params
        )
        return found

    def dns_options(self, token: str, server_id: int) -> DnsServerOptions:
        path = f"/dns/servers/{server_id}/options"
        found: DnsServerOptions = self._call("GET", path, token, DnsServerOptions)
        return found

    def set_dns_options(
        self, token: str, server_id: int, options: dict[str, Any], comment: str
    ) -> None:
        """Set a DNS server's whole option set (what is left out takes its default)."""
        body = {"options": options, "comment": comment}
        self._call("PUT", f"/dns/servers/{server_id}/options", token, body=body)

    def zone_dnssec(self, token: str, zone_id: int) -> ZoneDnssec:
        found: ZoneDnssec = self._call("GET", f"/dns/zones/{zone_id}/dnssec", token, ZoneDnssec)
        return found

    def dnssec_policies(self, token: str, server_id: int) -> DnssecPolicies:
        path = f"/dns/servers/{server_id}/dnssec-policies"
        found: DnssecPolicies = self._call("GET", path, token, DnssecPolicies)
        return found

    def sign_zone(self, token: str, zone_id: int, policy: str | None, comment: str) -> None:
        """Sign a zone with ``policy``, or unsign it (None)."""
        body = {"dnssec_policy": policy, "comment": comment}
        self._call("PATCH", f"/dns/zones/{zone_id}", token, body=body)

    def tsig_keys(self, token: str) -> list[TsigKey]:
        found: Listing[TsigKey] = self._call("GET", "/dns/tsig-keys", token, Listing[TsigKey])
        return found.items

    def create_tsig_key(self, token: str, body: dict[str, Any]) -> TsigKeyCreated:
        made: TsigKeyCreated = self._call("POST", "/dns/tsig-keys", token, TsigKeyCreated,
                                          body=body)  # fmt: skip
        return made

    def delete_tsig_key(self, token: str, key_id: int, comment: str) -> None:
        self._call("DELETE", f"/dns/tsig-keys/{key_id}", token, params={"comment": comment})

    # --- DHCP ------------------------------------------------------------------------------
    def dhcp_servers(self, token: str) -> list[DhcpServer]:
        found: Listing[DhcpServer] = self._call("GET", "/dhcp/servers", token, Listing[DhcpServer])
        return found.items

    def ha_pair(self, token: str) -> HaPair | None:
        """Central's Kea HA pair with each partner's state asked now; None when there is none."""
        try:
            found: HaPair = self._call("GET", "/dhcp/ha", token, HaPair)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return found

    def scopes(self, token: str, base: str) -> list[ScopeAnswer]:
        found: Listing[ScopeAnswer] = self._call(
            "GET", f"{base}/scopes", token, Listing[ScopeAnswer], params={"limit": 1000}
        )
        return found.items

    def scope(self, token: str, base: str, scope_id: int) -> ScopeAnswer:
        found: ScopeAnswer = self._call("GET", f"{base}/scopes/{scope_id}", token, ScopeAnswer)
        return found

    def create_scope(self, token: str, base: str, body: dict[str, Any]) -> ScopeAnswer:
        made: ScopeAnswer = self._call("POST", f"{base}/scopes", token, ScopeAnswer, body=body)
        return made

    def replace_scope(self, token: str, base: str, scope_id: int, body: dict[str, Any]) -> None:
        self._call("PUT", f"{base}/scopes/{scope_id}", token, body=body)

    def delete_scope(self, token: str, base: str, scope_id: int, comment: str) -> None:
        self._call("DELETE", f"{base}/scopes/{scope_id}", token, params={"comment": comment})

    def add_reservation(self, token: str, base: str, scope_id: int, body: dict[str, Any]) -> None:
        self._call("POST", f"{base}/scopes/{scope_id}/reservations", token, body=body)

    def delete_reservation(
        self, token: str, base: str, scope_id: int, kind: str, value: str, comment: str
    ) -> None:
        path = f"{base}/scopes/{scope_id}/reservations/{kind}/{_segment(value)}"
        self._call("DELETE", path, token, params={"comment": comment})

    def replace_reservation(
        self, token: str, base: str, scope_id: int, kind: str, value: str, body: dict[str, Any]
    ) -> None:
        path = f"{base}/scopes/{scope_id}/reservations/{kind}/{_segment(value)}"
        self._call("PUT", path, token, body=body)

    def statistics(self, token: str, base: str) -> list[ScopeUsage]:
        found: Listing[ScopeUsage] = self._call(
            "GET", f"{base}/statistics", token, Listing[ScopeUsage]
        )
        return found.items

    def options(self, token: str, base: str) -> list[OptionAnswer]:
        """The server-wide options (Central answers the list itself, or a listing of it)."""
        found: list[OptionAnswer] | Listing[OptionAnswer] = self._call(
            "GET", f"{base}/options", token, list[OptionAnswer] | Listing[OptionAnswer]
        )
        return found.items if isinstance(found, Listing) else found

    def replace_options(
        self, token: str, base: str, options: list[dict[str, Any]], comment: str
    ) -> None:
        body = {"options": options, "comment": comment}
        self._call("PUT", f"{base}/options", token, body=body)

    def option_definitions(self, token: str, base: str) -> list[OptionDefAnswer]:
        found: Listing[OptionDefAnswer] = self._call(
            "GET", f"{base}/option-definitions", token, Listing[OptionDefAnswer],
            params={"limit": 1000},
        )  # fmt: skip
        return found.items

    def add_option_definition(self, token: str, base: str, body: dict[str, Any]) -> None:
        self._call("POST", f"{base}/option-definitions", token, body=body)

    def delete_option_definition(
        self, token: str, base: str, space: str, code: int, comment: str
    ) -> None:
        path = f"{base}/option-definitions/{_segment(space)}/{code}"
        self._call("DELETE", path, token, params={"comment": comment})

    def classes(self, token: str, base: str) -> list[ClassAnswer]:
        found: Listing[ClassAnswer] = self._call(
            "GET", f"{base}/classes", token, Listing[ClassAnswer], params={"limit": 1000}
        )
        return found.items

    def put_class(self, token: str, base: str, name: str, body: dict[str, Any]) -> None:
        self._call("PUT", f"{base}/classes/{_segment(name)}", token, body=body)

    def delete_class(self, token: str, base: str, name: str, comment: str) -> None:
        path = f"{base}/classes/{_segment(name)}"
        self._call("DELETE", path, token, params={"comment": comment})

    def leases(self, token: str, base: str, **params: Any) -> LeaseListing:
        found: LeaseListing = self._call(
            "GET", f"{base}/leases", token, LeaseListing, params=params
        )
        return found

    def properties(self, token: str, base: str) -> dict[str, Any]:
        """The server's properties (lease times and the rest) as Central answers them."""
        found: dict[str, Any] = self._call("GET", f"{base}/properties", token, dict[str, Any])
        return found

    def change_properties(self, token: str, base: str, body: dict[str, Any]) -> None:
        self._call("PATCH", f"{base}/properties", token, body=body)

    def delete_lease(self, token: str, base: str, address: str, comment: str) -> None:
        path = f"{base}/leases/{_segment(address)}"
        self._call("DELETE", path, token, params={"comment": comment})

    # --- this appliance ----------------------------------------------------------------------
    def network(self, token: str) -> Network:
        found: Network = self._call("GET", "/appliance/network", token, Network)
        return found

    def change_network(self, token: str, body: dict[str, Any]) -> None:
        self._call("PUT", "/appliance/network", token, body=body)

    def backup_status(self, token: str) -> BackupStatus:
        found: BackupStatus = self._call("GET", "/appliance/backup-status", token, BackupStatus)
        return found

    def appliance_peer(self, token: str) -> AppliancePeer:
        found: AppliancePeer = self._call("GET", "/appliance/peer", token, AppliancePeer)
        return found

    def pair(self, token: str, body: dict[str, Any]) -> None:
        self._call("PUT", "/appliance/peer", token, body=body)

    def unpair(self, token: str, comment: str) -> None:
        self._call("DELETE", "/appliance/peer", token, params={"comment": comment})

    def appliance_backups(self, token: str) -> ApplianceBackups:
        found: ApplianceBackups = self._call("GET", "/appliance/backups", token, ApplianceBackups)
        return found

    def back_up(self, token: str, kind: str, comment: str) -> BackupResult:
        body = {"kind": kind, "comment": comment}
        done: BackupResult = self._call("POST", "/appliance/backups", token, BackupResult,
                                        body=body)  # fmt: skip
        return done

    def export_backup(self, token: str, backup_id: int) -> tuple[Iterator[bytes], dict[str, str]]:
        """One of this appliance's backups as one file, streamed from its peer."""
        return self._download(f"/appliance/backups/{backup_id}/export", token)

    def initialize(self, token: str, comment: str) -> None:
        self._call("POST", "/appliance/initialize", token, body={"comment": comment})

    # --- the fleet (docs/fleet.md) ----------------------------------------------------------
    def fleet_membership(self, token: str) -> FleetMembership:
        found: FleetMembership = self._call("GET", "/fleet/membership", token, FleetMembership)
        return found

    def join_fleet(self, token: str, body: dict[str, Any]) -> FleetMembership:
        joined: FleetMembership = self._call(
            "POST", "/fleet/membership", token, FleetMembership, body=body
        )
        return joined

    def leave_fleet(self, token: str, comment: str, force: bool = False) -> None:
        params = {"comment": comment, "force": "true" if force else None}
        self._call("DELETE", "/fleet/membership", token, params=params)

    def fleet_members(self, token: str) -> list[FleetMember]:
        found: Listing[FleetMember] = self._call(
            "GET", "/fleet/members", token, Listing[FleetMember]
        )
        return found.items

    def make_join_code(self, token: str, body: dict[str, Any]) -> FleetJoinCode:
        made: FleetJoinCode = self._call("POST", "/fleet/joins", token, FleetJoinCode, body=body)
        return made

    def remove_fleet_member(
        self, token: str, member_id: int, comment: str, force: bool = False
    ) -> None:
        params = {"comment": comment, "force": "true" if force else None}
        self._call("DELETE", f"/fleet/members/{member_id}", token, params=params)

    # --- backups kept here for other appliances ---------------------------------------------
    def backup_peers(self, token: str) -> list[BackupPeer]:
        found: Listing[BackupPeer] = self._call("GET", "/backup-peers", token, Listing[BackupPeer])
        return found.items

    def backup_peer(self, token: str, peer_id: int) -> BackupPeer:
        found: BackupPeer = self._call("GET", f"/backup-peers/{peer_id}", token, BackupPeer)
        return found

    def snapshots(self, token: str, peer_id: int) -> list[Snapshot]:
        found: Listing[Snapshot] = self._call(
            "GET", f"/backup-peers/{peer_id}/snapshots", token, Listing[Snapshot]
        )
        return found.items

    def snapshot_bundle(
        self, token: str, peer_id: int, snapshot_id: int
    ) -> tuple[Iterator[bytes], dict[str, str]]:
        """A backup kept here for another appliance, as one file."""
        return self._download(f"/backup-peers/{peer_id}/snapshots/{snapshot_id}/bundle", token)

    def make_pairing_token(self, token: str, address: str, comment: str) -> PairingToken:
        body = {"address": address, "comment": comment}
        made: PairingToken = self._call(
            "POST", "/backup-peers/pairing-tokens", token, PairingToken, body=body
        )
        return made

    def check_backup_peer(self, token: str, peer_id: int) -> None:
        self._call("POST", f"/backup-peers/{peer_id}/check", token)

    def delete_backup_peer(self, token: str, peer_id: int, comment: str) -> None:
        self._call("DELETE", f"/backup-peers/{peer_id}", token, params={"comment": comment})

    def replacements(self, token: str) -> list[Replacement]:
        found: Listing[Replacement] = self._call(
            "GET", "/replacements", token, Listing[Replacement]
        )
        return found.items

    def decide_replacement(
        self, token: str, replacement_id: int, decision: str, body: dict[str, Any]
    ) -> None:
        """``decision``: approve (restore onto it) or dismiss (use it as a new appliance)."""
        assert decision in ("approve", "dismiss")
        self._call("POST", f"/replacements/{replacement_id}/{decision}", token, body=body)
