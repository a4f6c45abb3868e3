"""The registry's rules: servers, one-time enrolment tokens, pinning, revocation and the CRL."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import threading
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from central.core.config import CentralConfig
from central.core.db import now
from central.core.deps import Principal, jsonable
from central.core.problems import ProblemError
from central.core.security import new_token, token_hash
from central.history.service import SYSTEM, record
from central.registry import agent_client
from central.registry.models import EnrolmentToken, RevokedCertificate, Server
from services.common.agent import agent_cert, crl_file, enrolment_token_file
from services.common.agent_client import AgentClient
from services.common.enrolment import listening_cert
from services.common.errors import BurrowError, ConflictError, NotFoundError, ValidationError
from services.common.files import write_atomic
from services.common.model import Input
from services.common.pki import (
    CertificateAuthority,
    CertificateRequestError,
    fingerprint,
    load_cert,
)
from services.common.settings import ApplianceSettings

log = logging.getLogger(__name__)

#: ``caching``: the dns-agent of a caching appliance, which drives Unbound (docs/caching.md):
#: no zones, no DHCP; its settings, statistics and cache flushes are under /api/v1/caching.
Kind = Literal["dns", "dhcp", "caching", "appliance"]
DEFAULT_PORTS = {"dns": 1337, "dhcp": 4151, "caching": 1337, "appliance": 4603}
#: The agent program that serves each kind (a caching appliance's is the dns-agent).
AGENTS = {"dns": "dns-agent", "dhcp": "dhcp-agent", "caching": "dns-agent",
          "appliance": "appliance-agent"}  # fmt: skip
#: The kinds of server one appliance brings, by its profile (services.common.profile).
APPLIANCE_KINDS = {"dns-dhcp": ("dns", "dhcp", "appliance"), "caching": ("caching", "appliance")}
NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
Comment = Annotated[str, Field(max_length=1000, description="save comment")]
#: Seconds a health check or a CRL push may take per agent.
HEALTH_TIMEOUT = 3.0
CRL_TIMEOUT = 5.0
#: supervisord programs whose service events belong to a server of each kind (the dns-agent
#: and the dhcp-agent run in one process, ``dns-dhcp-agent``; a caching appliance's dns-agent
#: is ``dns-agent``).
PROGRAMS = {
    "dns": ("named", "dns-dhcp-agent"),
    "dhcp": ("kea-dhcp4", "kea-dhcp6", "kea-ctrl-agent", "kea-dhcp-ddns", "dns-dhcp-agent"),
    "caching": ("unbound", "dns-agent"),
}


def _address(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError("not an IPv4 or IPv6 address") from None


class ServerCreate(Input):
    kind: Kind
    name: str = Field(pattern=NAME, max_length=128)
    address: str = Field(max_length=64, description="the agent's IP address")
    port: int | None = Field(default=None, ge=1, le=65535, description="default: the kind's")
    comment: Comment = ""

    _check_address = field_validator("address")(_address)


class ServerUpdate(Input):
    name: str | None = Field(default=None, pattern=NAME, max_length=128)
    address: str | None = Field(default=None, max_length=64)
    port: int | None = Field(default=None, ge=1, le=65535)
    comment: Comment = ""

    _check_address = field_validator("address")(_address)


class TokenRequest(Input):
    expires_in_seconds: int = Field(default=86400, ge=60, le=30 * 86400)
    comment: Comment = ""


class RevokeRequest(Input):
    reason: str = Field(default="", max_length=500)
    comment: Comment = ""


class CertificateRevoke(Input):
    serial: str = Field(pattern=r"^[0-9A-Fa-f]{1,64}$", description="hexadecimal serial number")
    reason: str = Field(default="", max_length=500)
    comment: Comment = ""


class EnrolRequest(Input):
    token: str = Field(min_length=1, max_length=200)
    csr: str = Field(min_length=1, max_length=20000, description="PEM certificate request")


def server_public(server: Server) -> dict[str, Any]:
    return {
        "id": server.id,
        "kind": server.kind,
        "name": server.name,
        "address": server.address,
        "port": server.port,
        "local": server.local,
        "state": server.state,
        "version": server.version,
        "last_seen": jsonable(server.last_seen),
        "last_error": server.last_error,
        "fingerprint": server.fingerprint,
        "cert_serial": server.cert_serial,
        "enrolled_at": jsonable(server.enrolled_at),
        "created_at": jsonable(server.created_at),
        "updated_at": jsonable(server.updated_at),
    }


def history_view(server: Server) -> dict[str, Any]:
    """What the history keeps of a server (not what is only observed: state, version...)."""
    view = server_public(server)
    for observed in ("state", "version", "last_seen", "last_error"):
        view.pop(observed)
    return view


def get_server(db: Session, server_id: int) -> Server:
    server = db.get(Server, server_id)
    if server is None:
        raise NotFoundError(f"There is no server {server_id}.", field="server_id")
    return server


def _unique_name(db: Session, name: str, server_id: int | None = None) -> None:
    other = db.scalar(select(Server.id).where(Server.name == name))
    if other is not None and other != server_id:
        raise ConflictError(f"A server named {name!r} exists already.", field="name")


def create_server(db: Session, actor: Principal, body: ServerCreate) -> dict[str, Any]:
    _unique_name(db, body.name)
    server = Server(
        kind=body.kind,
        name=body.name,
        address=body.address,
        port=body.port or DEFAULT_PORTS[body.kind],
    )
    db.add(server)
    db.flush()
    record(
        db, actor, "server", server.id, "create", after=history_view(server), comment=body.comment
    )
    db.commit()
    return server_public(server)


def update_server(
    db: Session, actor: Principal, server_id: int, body: ServerUpdate
) -> dict[str, Any]:
    server = get_server(db, server_id)
    before = history_view(server)
    changes = body.model_dump(exclude_unset=True, exclude={"comment"})
    for field, value in changes.items():
        if value is None:
            raise ValidationError(f"{field} cannot be null.", field=field)
    if server.local and changes:
        raise ConflictError(
            "The agents of Central's own appliance follow the appliance settings.", field="name"
        )
    if "name" in changes:
        _unique_name(db, changes["name"], server.id)
    for field, value in changes.items():
        setattr(server, field, value)
    server.updated_at = now()
    record(
        db,
        actor,
        "server",
        server.id,
        "update",
        before=before,
        after=history_view(server),
        comment=body.comment,
    )
    db.commit()
    return server_public(server)


# --- certificates ------------------------------------------------------------------------
def revoke_serial(db: Session, serial: str, subject: str, reason: str) -> bool:
    """Add ``serial`` to the revoked certificates (the caller commits and publishes the CRL);
    False if it is empty or revoked already."""
    if not serial or db.get(RevokedCertificate, serial) is not None:
        return False
    db.add(RevokedCertificate(serial=serial, subject=subject, reason=reason))
    return True


def agent_of(config: CentralConfig, server: Server, *, timeout: float | None = None) -> AgentClient:
    """A client of ``server``'s agent for what every agent serves (``/health``, ``/pki/crl``),
    over the pinned mutual TLS of the registry."""
    address = agent_client.AgentAddress(server.address, server.port, server.fingerprint)
    client = AgentClient(agent_client.PinnedTransport(config.root, address), timeout=timeout)
    client.agent = AGENTS.get(server.kind, f"{server.kind}-agent")
    return client


def publish_crl(db: Session, config: CentralConfig) -> None:
    """Write the CRL for the agents of this appliance and send it to the other agents."""
    serials = [int(s, 16) for s in db.scalars(select(RevokedCertificate.serial))]
    CertificateAuthority(config.ca_dir).write_crl(crl_file(config.root), serials)
    remote = [
        agent_of(config, s, timeout=CRL_TIMEOUT)
        for s in db.scalars(select(Server).where(Server.local.is_(False), Server.fingerprint != ""))
        if s.state != "revoked"
    ]
    if remote:
        data = crl_file(config.root).read_bytes()
        threading.Thread(
            target=_push_crl, args=(remote, data), name="crl-push", daemon=True
        ).start()


def _push_crl(agents: list[AgentClient], data: bytes) -> None:
    for agent in agents:
        try:
            agent.replace_crl(data)
        except BurrowError as exc:  # unreachable now: the next revocation or poll sends it
            log.warning("could not send the CRL: %s", exc)


def revoke_server(
    db: Session, actor: Principal, server_id: int, body: RevokeRequest, config: CentralConfig
) -> dict[str, Any]:
    server = get_server(db, server_id)
    if not server.cert_serial:
        raise ConflictError(f"Server {server.name!r} has no certificate to revoke.")
    before = history_view(server)
    revoke_serial(db, server.cert_serial, server.name, body.reason)
    server.state = "revoked"
    server.updated_at = now()
    after = {**history_view(server), "revoked": True}
    record(
        db, actor, "server", server.id, "revoke", before=before, after=after, comment=body.comment
    )
    secret = _new_enrolment_token(db, server, 7 * 86400)[0] if server.local else ""
    db.commit()
    publish_crl(db, config)
    if secret:
        # An agent of this appliance enrols again at its next start, with a new key.
        program = next(a.program for a in config.local_agents if a.kind == server.kind)
        write_atomic(enrolment_token_file(config.root, program), secret + "\n", mode=0o600)
    return server_public(server)


def revoke_certificate(
    db: Session, actor: Principal, body: CertificateRevoke, config: CentralConfig
) -> dict[str, Any]:
    serial = body.serial.upper().lstrip("0") or "0"
    if not revoke_serial(db, serial, "", body.reason):
        raise ConflictError(f"Certificate {serial} is revoked already.", field="serial")
    after = {"serial": serial, "reason": body.reason}
    record(db, actor, "certificate", serial, "revoke", after=after, comment=body.comment)
    for server in db.scalars(select(Server).where(Server.cert_serial == serial)):
        server.state = "revoked"
    db.commit()
    publish_crl(db, config)
    return revoked_public(db.get(RevokedCertificate, serial))


def revoked_public(row: RevokedCertificate | None) -> dict[str, Any]:
    assert row is not None
    return {
        "serial": row.serial,
        "subject": row.subject,
        "revoked_at": jsonable(row.revoked_at),
        "reason": row.reason,
    }


def delete_server(
    db: Session, actor: Principal, server_id: int, comment: str, config: CentralConfig
) -> None:
    server = get_server(db, server_id)
    if server.local:
        raise ConflictError("The agents of Central's own appliance cannot be removed.")
    before = history_view(server)
    revoked = revoke_serial(db, server.cert_serial, server.name, "server removed")
    db.execute(delete(EnrolmentToken).where(EnrolmentToken.server_id == server.id))
    db.delete(server)
    record(db, actor, "server", server_id, "delete", before=before, comment=comment)
    db.commit()
    if revoked:
        publish_crl(db, config)


# --- enrolment ---------------------------------------------------------------------------
def _new_enrolment_token(db: Session, server: Server, seconds: int) -> tuple[str, dt.datetime]:
    db.execute(delete(EnrolmentToken).where(EnrolmentToken.server_id == server.id))
    secret = new_token("bwe")
    expires = now() + dt.timedelta(seconds=seconds)
    db.add(EnrolmentToken(token_hash=token_hash(secret), server_id=server.id, expires_at=expires))
    return secret, expires


def issue_enrolment_token(
    db: Session, actor: Principal, server_id: int, body: TokenRequest
) -> dict[str, Any]:
    server = get_server(db, server_id)
    secret, expires = _new_enrolment_token(db, server, body.expires_in_seconds)
    record(
        db,
        actor,
        "server",
        server.id,
        "enrolment-token",
        after={"expires_at": jsonable(expires)},
        comment=body.comment,
    )
    db.commit()
    return {
        "token": secret,
        "expires_at": jsonable(expires),
        "server_id": server.id,
        "file": f"var/lib/burrow/secrets/enrol-{AGENTS.get(server.kind, server.kind)}.token",
    }


def enrol(db: Session, config: CentralConfig, body: EnrolRequest) -> dict[str, Any]:
    """Sign an agent's certificate request in exchange for a valid one-time token."""
    token = db.scalar(
        select(EnrolmentToken).where(EnrolmentToken.token_hash == token_hash(body.token))
    )
    if token is None or token.used_at is not None or token.expires_at <= now():
        raise ProblemError(
            403, "The enrolment token is not valid (unknown, used or expired).", field="token"
        )
    server = get_server(db, token.server_id)
    names = [server.address]
    if server.local:
        names += ["127.0.0.1", "localhost"]
    ca = CertificateAuthority(config.ca_dir)
    try:
        cert = ca.sign_request(body.csr.encode(), server.name, server_names=names)
    except CertificateRequestError as exc:
        raise ValidationError(
            f"The certificate request cannot be signed: {exc}.", field="csr"
        ) from exc
    before = history_view(server)
    old_serial = server.cert_serial
    replaced = revoke_serial(db, old_serial, server.name, "replaced by a new enrolment")
    token.used_at = now()
    pin(server, cert)
    record(
        db,
        SYSTEM,
        "server",
        server.id,
        "enrol",
        before=before,
        after=history_view(server),
        comment="agent enrolled with a one-time token",
    )
    db.commit()
    if replaced:
        publish_crl(db, config)
    from cryptography.hazmat.primitives import serialization

    return {
        "certificate": cert.public_bytes(serialization.Encoding.PEM).decode(),
        "ca_certificate": ca.paths.cert.read_text(),
        "server_id": server.id,
    }


def pin(server: Server, cert: Any) -> None:
    """Pin ``cert`` as the one ``server``'s agent must show; the server counts as enrolled."""
    server.fingerprint = fingerprint(cert)
    server.cert_serial = f"{cert.serial_number:X}"
    server.enrolled_at = now()
    server.state = "enrolled"
    server.updated_at = now()


def prepare_local_agents(db: Session, config: CentralConfig) -> None:
    """Register the agents of this appliance and let each enrol (token file) or adopt its cert."""
    if not config.root.appliance_settings.exists():
        return
    settings = ApplianceSettings.load(config.root.appliance_settings)
    revoked = set(db.scalars(select(RevokedCertificate.serial)))
    for agent in config.local_agents:
        server = db.scalar(select(Server).where(Server.local.is_(True), Server.kind == agent.kind))
        if server is None:
            server = Server(
                kind=agent.kind,
                name=f"{settings.hostname}-{agent.kind}",
                address=settings.ip,
                port=agent.port,
                local=True,
            )
            db.add(server)
            db.flush()
            record(
                db,
                SYSTEM,
                "server",
                server.id,
                "create",
                after=history_view(server),
                comment="an agent of this appliance",
            )
        elif server.address != settings.ip:
            before = history_view(server)
            server.address = settings.ip
            record(
                db,
                SYSTEM,
                "server",
                server.id,
                "update",
                before=before,
                after=history_view(server),
                comment="the appliance's address changed",
            )
        # In a fleet the agent shows the managing Central's certificate (central.fleet).
        paths = listening_cert(config.root, agent.program, agent_cert(config.root, agent.program))
        serial = f"{load_cert(paths.cert).serial_number:X}" if paths.cert.exists() else ""
        if serial and serial not in revoked:
            cert = load_cert(paths.cert)
            if server.cert_serial != serial:
                before = history_view(server)
                pin(server, cert)
                record(
                    db,
                    SYSTEM,
                    "server",
                    server.id,
                    "adopt",
                    before=before,
                    after=history_view(server),
                    comment="certificate found on this appliance",
                )
            continue
        secret, _expires = _new_enrolment_token(db, server, 7 * 86400)
        db.commit()
        write_atomic(enrolment_token_file(config.root, agent.program), secret + "\n", mode=0o600)
        log.info("wrote an enrolment token for %s", agent.program)
    db.commit()


def ensure_crl(db: Session, config: CentralConfig) -> None:
    if not crl_file(config.root).exists():
        publish_crl(db, config)


# --- reachability ------------------------------------------------------------------------
def check(db: Session, config: CentralConfig, server: Server) -> None:
    """Call the agent's health endpoint (pinned mTLS) and record what was seen: ``reachable``,
    ``untrusted`` (another certificate than the pinned one) or ``unreachable``."""
    if server.state == "revoked" or not server.fingerprint:
        return
    try:
        health = agent_of(config, server, timeout=HEALTH_TIMEOUT).health()
    except BurrowError as exc:
        mismatch = isinstance(exc.__cause__, agent_client.CertificateMismatchError)
        server.state = "untrusted" if mismatch else "unreachable"
        server.last_error = str(exc.__cause__) if mismatch else exc.message
    except Exception as exc:  # an answer that is not a health answer
        server.state, server.last_error = "unreachable", str(exc) or exc.__class__.__name__
    else:
        server.state, server.last_error = "reachable", ""
        server.version = health.version[:32]
        server.last_seen = now()
    db.commit()
