"""Kea high availability between two DHCP servers of the registry, set up in one action.

Given two DHCP servers (a fleet's appliances, docs/fleet.md) and a mode, Central puts Kea's HA
hook (``libdhcp_ha.so``, with ``lease_cmds`` which the appliance loads always) into both
servers' DHCPv4 configuration: the same peers (each at its appliance's address), each its own
``this-server-name``, automatic failover, and Kea's multi-threaded HA (HA+MT) with a dedicated
HTTPS listener on the appliance's address, so the partners talk to each other directly and not
through the Control Agent (which listens on 127.0.0.1 only).

The partners' link is mutual TLS (Kea ARM, HA "HTTPS Support"; Kea 2.2's dedicated listener
checks no HTTP basic authentication, so certificates are the whole of it): each partner's key
is made on its appliance by its dhcp-agent, and its certificate (serverAuth and clientAuth,
the appliance's address as its name) is signed by the pair's CA, a CA of Central's only for
this (``pki/ha-ca``). Kea 2.2 cannot check a certificate's name, so its ``trust-anchor`` is the
whole filter: with a CA of their own, no other certificate of the fleet (Central's client
certificate, the agents') is accepted on the HA port. ``require-client-certs`` refuses a
caller without one; ``restrict-commands`` answers only the commands HA uses. The configuration
holds file paths, no secret.

The request is checked whole before anything changes: both DHCP servers, different, not in a
pair already, reachable, and serving the same scopes (or the partner none, when the primary's
scopes, shared networks and client classes are copied to it). If the second server refuses
its part, the first is put back. The pair is kept in Central's settings table (``dhcp-ha``);
while it exists, every DHCPv4 change made through Central on one partner (scopes, reservations,
shared networks, options, option definitions, classes, properties) is made on the other too
(``replicate``).
"""

from __future__ import annotations

import logging
from pathlib import PurePosixPath
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from pydantic import BaseModel, Field, model_validator
from sqlalchemy.orm import Session

from central.core.config import CentralConfig
from central.core.deps import Principal
from central.dhcp import service
from central.dhcp.redact import redacted
from central.history.service import record
from central.registry.models import Server
from central.settings.models import SettingRow
from services.common.dhcp.contract import ChangeResult
from services.common.dhcp.ha import HaState, HaTlsFiles
from services.common.errors import (
    BurrowError,
    ConflictError,
    DaemonError,
    FieldProblem,
    NotFoundError,
    ValidationError,
)
from services.common.model import Input
from services.common.pki import CertificateAuthority, CertificateRequestError, Purpose

log = logging.getLogger(__name__)

Json = dict[str, Any]
#: Where the pair is kept (Central's settings table: one JSON value, no secret).
SETTING = "dhcp-ha"
#: The pair's CA, in Central's pki directory (its key never leaves Central).
CA_DIR = "ha-ca"
CA_NAME = "Burrow Kea HA"
HOOK = "libdhcp_ha.so"
#: Object types of changes made on both partners (``service.change``'s ``object_type``).
REPLICATED = frozenset({
    "dhcp-scope", "dhcp-reservation", "dhcp-shared-network", "dhcp-options", "dhcp-option-def",
    "dhcp-class", "dhcp-properties",
})  # fmt: skip
#: Seconds a partner's state is waited for: a partner that is down must not hold up the
#: answer (nor the console's DHCP page that shows it) for the agents' usual 30 s.
STATE_TIMEOUT = 5.0
#: What the partner gets from the primary when it has no scope yet.
COPIED = ("subnet4", "shared-networks", "client-classes", "option-def")


class HaRequest(Input):
    """Two DHCP servers as one: ``primary`` and its ``partner`` (the standby in hot-standby,
    the secondary in load-balancing), with Kea's HA timers (milliseconds)."""

    mode: Literal["hot-standby", "load-balancing"] = "hot-standby"
    primary: int = Field(ge=1, le=2**31 - 1, description="DHCP server id")
    partner: int = Field(ge=1, le=2**31 - 1, description="DHCP server id: standby or secondary")
    port: int = Field(default=8005, ge=1024, le=65535, description="the partners' HA listener")
    heartbeat_delay: int = Field(default=1000, ge=500, le=60000)
    max_response_delay: int = Field(default=3000, ge=1000, le=600000)
    max_ack_delay: int = Field(default=2000, ge=100, le=60000)
    max_unacked_clients: int = Field(default=0, ge=0, le=1000)
    comment: str = Field(default="", max_length=1000, description="save comment")

    @model_validator(mode="after")
    def _timers(self) -> HaRequest:
        if self.max_response_delay <= self.heartbeat_delay:
            raise ValueError("max_response_delay must be longer than heartbeat_delay")
        return self


class Partner(HaState):
    """A partner of the pair and its HA state, asked of its Kea now (``HaState``: all None
    when its server does not answer; ``state`` is Kea's ``ha-heartbeat`` state)."""

    server_id: int
    server: str
    address: str
    role: str
    url: str
    reachable: bool = Field(description="its dhcp-agent and Kea answered")
    status: Json = Field(default={}, description="status-get's high-availability section")


class HaRemoved(BaseModel):
    primary: int
    partner: int
    kept_hook: list[int] = Field(description="servers that did not answer (force): their "
                                 "HA hook is still in their configuration")  # fmt: skip


class HaPair(BaseModel):
    mode: str
    port: int
    heartbeat_delay: int
    max_response_delay: int
    max_ack_delay: int
    max_unacked_clients: int
    comment: str
    tls: bool = Field(description="the partners' link is mutual TLS (false: a pair made "
                      "before, plain HTTP; remove it and make it again)")  # fmt: skip
    partners: list[Partner]


# --- the stored pair ------------------------------------------------------------------------
def stored(db: Session) -> Json | None:
    row = db.get(SettingRow, SETTING)
    return dict(row.value) if row is not None and row.value else None


def partner_of(db: Session, server_id: int) -> int | None:
    """The other server of the HA pair ``server_id`` is in, if any."""
    pair = stored(db)
    if pair is None:
        return None
    ids = [int(pair["primary"]), int(pair["partner"])]
    if server_id not in ids:
        return None
    return ids[1] if server_id == ids[0] else ids[0]


# --- setting up -------------------------------------------------------------------------------
def _subnets(top: Json) -> dict[int, str]:
    found = {int(s["id"]): str(s["subnet"]) for s in top.get("subnet4") or []}
    for network in top.get("shared-networks") or []:
        found.update({int(s["id"]): str(s["subnet"]) for s in network.get("subnet4") or []})
    return found


def _hooks_dir(top: Json) -> str:
    for hook in top.get("hooks-libraries") or []:
        library = str(hook.get("library", ""))
        if library.endswith("libdhcp_lease_cmds.so"):
            return str(PurePosixPath(library).parent)
    raise ConflictError("The DHCP server does not load libdhcp_lease_cmds.so.", field="primary")


def _has_ha(top: Json) -> bool:
    return any(str(h.get("library", "")).endswith(HOOK) for h in top.get("hooks-libraries") or [])


def _url(address: str, port: int, tls: bool = True) -> str:
    return f"{'https' if tls else 'http'}://{address}:{port}/"


def _peer(server: Server, role: str, port: int) -> Json:
    return {
        "name": server.name, "url": _url(server.address, port), "role": role,
        "auto-failover": True,
    }  # fmt: skip


def _certify(config: CentralConfig, server: Server, field: str) -> HaTlsFiles:
    """A key made on ``server``'s appliance, its certificate signed by the pair's CA and put
    there: the files its Kea's HA hook loads."""
    ca = CertificateAuthority(config.root.pki / CA_DIR)
    ca.create(CA_NAME)
    agent = service.agent_for(config, server)
    try:
        signing = agent.ha_tls_request(server.name)
        cert = ca.sign_request(
            signing.csr.encode(), server.name, server_names=[server.address],
            purpose=Purpose.PEER,
        )  # fmt: skip
        pem = cert.public_bytes(serialization.Encoding.PEM).decode()
        return agent.ha_tls_install(pem, ca.paths.cert.read_text())
    except CertificateRequestError as exc:
        raise DaemonError(f"{field}: {server.name} sent a bad certificate request: {exc}",
                          field=field) from exc  # fmt: skip
    except BurrowError as exc:
        raise ConflictError(f"{field}: {server.name} did not take its HA certificate: "
                            f"{exc.message}", field=field) from exc  # fmt: skip


def _with_ha(top: Json, this: Server, peers: list[Json], body: HaRequest, tls: HaTlsFiles) -> Json:
    """``top`` (inside ``Dhcp4``) with the HA hook for ``this`` and Kea's multi-threading."""
    config = _copy(top)
    hooks = [
        h
        for h in config.get("hooks-libraries") or []
        if not str(h.get("library", "")).endswith(HOOK)
    ]
    hooks.append({
        "library": f"{_hooks_dir(top)}/{HOOK}",
        "parameters": {"high-availability": [{
            "this-server-name": this.name,
            "mode": body.mode,
            "heartbeat-delay": body.heartbeat_delay,
            "max-response-delay": body.max_response_delay,
            "max-ack-delay": body.max_ack_delay,
            "max-unacked-clients": body.max_unacked_clients,
            # This server's own certificate: its listener's, and the one it shows its partner.
            "trust-anchor": tls.trust_anchor,
            "cert-file": tls.cert_file,
            "key-file": tls.key_file,
            "require-client-certs": True,
            "restrict-commands": True,
            "multi-threading": {
                "enable-multi-threading": True,
                "http-dedicated-listener": True,
                "http-listener-threads": 2,
                "http-client-threads": 2,
            },
            "peers": peers,
        }]},
    })  # fmt: skip
    config["hooks-libraries"] = hooks
    threads = dict(config.get("multi-threading") or {})
    threads["enable-multi-threading"] = True
    threads.setdefault("thread-pool-size", 2)
    threads.setdefault("packet-queue-size", 16)
    config["multi-threading"] = threads
    return config


def _without_ha(top: Json) -> Json:
    config = _copy(top)
    config["hooks-libraries"] = [
        h
        for h in config.get("hooks-libraries") or []
        if not str(h.get("library", "")).endswith(HOOK)
    ]
    return config


def _copy(value: Json) -> Json:
    import orjson

    copied: Json = orjson.loads(orjson.dumps(value))
    return copied


def _summary(top: Json) -> Json:
    """The HA hook's parameters (what the history keeps; a password of a pair made by hand
    is hidden)."""
    for hook in top.get("hooks-libraries") or []:
        if str(hook.get("library", "")).endswith(HOOK):
            params: Json = redacted(hook.get("parameters") or {})
            return params
    return {}


def _put(
    db: Session, config: CentralConfig, actor: Principal | str, server: Server, top: Json,
    action: str, comment: str,
) -> ChangeResult:  # fmt: skip
    whole = {"Dhcp4": top}
    result, _after = service.change(
        db, config, actor, server, "v4",
        lambda agent, known: agent.replace_config("v4", whole, known_hash=known),
        object_type="dhcp-ha", object_id="hook", action=action,
        pick=_summary_of,
        comment=comment, replicate=False,
    )  # fmt: skip
    return result


def _summary_of(objects: Any) -> Json:
    """The HA hook's parameters (no password) out of a view of the snapshot."""
    top = getattr(objects, "_top", None)
    return _summary(top) if isinstance(top, dict) else {}


def _checked(
    db: Session, config: CentralConfig, body: HaRequest
) -> tuple[Server, Server, Json, Json]:
    problems: list[FieldProblem] = []
    servers: dict[str, Server] = {}
    for field in ("primary", "partner"):
        server_id = getattr(body, field)
        server = db.get(Server, server_id)
        if server is None or server.kind != "dhcp":
            problems.append(FieldProblem(field, f"there is no DHCP server {server_id}"))
        elif server.state == "revoked":
            problems.append(FieldProblem(field, f"server {server_id} is revoked"))
        else:
            servers[field] = server
    if body.primary == body.partner:
        problems.append(FieldProblem("partner", "the primary itself: give another DHCP server"))
    if problems:
        raise ValidationError(f"{problems[0].field}: {problems[0].message}", problems=problems)
    if stored(db) is not None:
        raise ConflictError("There is an HA pair already; remove it first (DELETE).",
                            field="primary")  # fmt: skip
    tops: dict[str, Json] = {}
    for field, server in servers.items():
        try:
            state = service.agent_for(config, server).config("v4")
        except BurrowError as exc:
            raise ConflictError(f"{field}: {server.name} cannot be reached: {exc.message}",
                                field=field) from exc  # fmt: skip
        tops[field] = dict((state.config or {}).get("Dhcp4") or {})
        if _has_ha(tops[field]):
            problems.append(FieldProblem(field, f"{server.name} has an HA hook already"))
    if problems:
        raise ConflictError(f"{problems[0].field}: {problems[0].message}", problems=problems)
    mine, theirs = _subnets(tops["primary"]), _subnets(tops["partner"])
    if not mine:
        raise ConflictError(f"{servers['primary'].name} has no DHCPv4 scope.", field="primary")
    if theirs and theirs != mine:
        raise ConflictError(
            f"{servers['partner'].name} serves other scopes than {servers['primary'].name} "
            f"({sorted(theirs.values())} against {sorted(mine.values())}); partners serve "
            "the same scopes with the same ids (a partner without scopes gets the primary's)",
            field="partner",
        )  # fmt: skip
    return servers["primary"], servers["partner"], tops["primary"], tops["partner"]


def set_up(db: Session, config: CentralConfig, actor: Principal, body: HaRequest) -> HaPair:
    primary, partner, top_p, top_s = _checked(db, config, body)
    tls_p = _certify(config, primary, "primary")
    tls_s = _certify(config, partner, "partner")
    role = "standby" if body.mode == "hot-standby" else "secondary"
    peers = [_peer(primary, "primary", body.port), _peer(partner, role, body.port)]
    comment = body.comment or f"DHCP high availability ({body.mode})"
    new_s = _copy(top_s)
    if not _subnets(top_s):
        for key in COPIED:
            if key in top_p:
                new_s[key] = _copy(top_p[key]) if isinstance(top_p[key], dict) else list(top_p[key])
        context = dict(new_s.get("user-context") or {})
        for key, value in (top_p.get("user-context") or {}).items():
            context.setdefault(key, value)
        new_s["user-context"] = context
    done: list[tuple[Server, Json]] = []
    try:
        new_p = _with_ha(top_p, primary, peers, body, tls_p)
        _put(db, config, actor, primary, new_p, "create", comment)
        done.append((primary, top_p))
        new_s = _with_ha(new_s, partner, peers, body, tls_s)
        _put(db, config, actor, partner, new_s, "create", comment)
        done.append((partner, top_s))
    except BurrowError:
        db.rollback()
        for server, before in done:
            try:
                _put(db, config, actor, server, before, "undo", "undone: the HA setup failed")
            except BurrowError as exc:
                log.error("server %s: the HA hook not taken out again: %s", server.id, exc.message)
        raise
    value = {
        "mode": body.mode, "primary": primary.id, "partner": partner.id, "port": body.port,
        "heartbeat_delay": body.heartbeat_delay, "max_response_delay": body.max_response_delay,
        "max_ack_delay": body.max_ack_delay, "max_unacked_clients": body.max_unacked_clients,
        "comment": body.comment, "tls": True,
    }  # fmt: skip
    db.add(SettingRow(key=SETTING, value=value))
    record(db, actor, "dhcp-ha-pair", f"{primary.id}:{partner.id}", "create",
           after=value, comment=comment)  # fmt: skip
    db.commit()
    return show(db, config)


def remove(
    db: Session, config: CentralConfig, actor: Principal, comment: str, force: bool = False
) -> HaRemoved:
    """Take the HA hook out of both partners and forget the pair. A partner that does not
    answer: 502 naming it and nothing changed, unless ``force`` (it keeps its hook then)."""
    pair = stored(db)
    if pair is None:
        raise NotFoundError("There is no HA pair.", field="primary")
    comment = comment or "DHCP high availability removed"
    found: list[tuple[Server, Json]] = []
    kept: list[int] = []
    for key in ("primary", "partner"):
        server = db.get(Server, int(pair[key]))
        if server is None:
            continue
        try:
            state = service.agent_for(config, server).config("v4")
        except BurrowError as exc:
            if force:
                log.warning("server %s keeps its HA hook: %s", server.id, exc.message)
                kept.append(server.id)
                continue
            raise DaemonError(
                f"{server.name} cannot be reached: {exc.message}", field=key,
                hint="repeat when it answers, or give force=true (it keeps its HA hook; "
                "take it out with its raw configuration later)",
            ) from exc  # fmt: skip
        found.append((server, dict((state.config or {}).get("Dhcp4") or {})))
    for server, top in found:
        if _has_ha(top):
            _put(db, config, actor, server, _without_ha(top), "delete", comment)
    row = db.get(SettingRow, SETTING)
    if row is not None:
        db.delete(row)
    record(db, actor, "dhcp-ha-pair", f"{pair['primary']}:{pair['partner']}", "delete",
           before=pair, comment=comment)  # fmt: skip
    db.commit()
    return HaRemoved(primary=int(pair["primary"]), partner=int(pair["partner"]), kept_hook=kept)


def show(db: Session, config: CentralConfig) -> HaPair:
    """The pair and each partner's HA state, asked now (None when its server does not answer)."""
    pair = stored(db)
    if pair is None:
        raise NotFoundError("There is no HA pair.", field="primary")
    partners: list[Partner] = []
    for key in ("primary", "partner"):
        server = db.get(Server, int(pair[key]))
        if server is None:
            continue
        role = "primary" if key == "primary" else (
            "standby" if pair["mode"] == "hot-standby" else "secondary")  # fmt: skip
        state = HaState()
        status: Json = {}
        reachable = False
        try:
            found = service.agent_for(config, server).ha_status("v4", timeout=STATE_TIMEOUT)
            state = HaState.from_kea(found, found.get("heartbeat") or {})
            relations = found.get("high-availability") or []
            status = dict(relations[0]) if relations else {}
            reachable = True
        except BurrowError as exc:
            log.info("HA state of server %s not read: %s", server.id, exc.message)
        partners.append(Partner(
            server_id=server.id, server=server.name, address=server.address, role=role,
            url=_url(server.address, int(pair["port"]), bool(pair.get("tls"))),
            reachable=reachable, status=status,
            **state.model_dump(),
        ))  # fmt: skip
    return HaPair(partners=partners, tls=bool(pair.get("tls")), **{k: pair[k] for k in (
        "mode", "port", "heartbeat_delay", "max_response_delay", "max_ack_delay",
        "max_unacked_clients", "comment")})  # fmt: skip
