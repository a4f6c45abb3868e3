"""A fleet's rules on both sides (docs/fleet.md).

The managing Central gives a one-time join code (shown once, stored hashed). The joining
appliance's Central, told the managing Central's address, its CA fingerprint and the code,
fetches that CA, checks its fingerprint, and sends the code with a certificate request for
each of its agents (dns, dhcp, appliance); the managing Central registers them as its
servers, signs the requests with its CA and pins the certificates. The joining Central
stores what it got in ``pki/fleet`` (``services.common.enrolment.fleet_dir``), pins its own
server rows to the new certificates; from their next TLS handshake on, its agents show the
fleet's certificates and accept the managing Central's client certificate as well as their
own Central's (``services.common.agent.FleetContexts``; no restart). While
``pki/fleet/membership.json`` exists, the joined Central refuses DNS and DHCP writes
(``central.fleet.guard``) and keeps its users, settings and read-only view.

Leaving, from either side, removes the servers (their certificates revoked) from the
managing Central and the ``pki/fleet`` directory from the appliance; its Central pins its
agents' own certificates again, which they show again from their next handshake.
"""

from __future__ import annotations

import datetime as dt
import hmac
import ipaddress
import json
import logging
import shutil
import ssl
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pydantic import Field, field_validator
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from central.core.config import PORT, CentralConfig
from central.core.db import now
from central.core.deps import Principal, jsonable
from central.core.problems import ProblemError
from central.core.security import new_token, token_hash
from central.fleet.models import FleetJoinCode, FleetMember
from central.history.service import SYSTEM, record
from central.registry import service as registry
from central.registry.models import EnrolmentToken, Server
from services.common.agent import crl_file
from services.common.enrolment import (
    agent_cert,
    fleet_ca_file,
    fleet_cert,
    fleet_crl_file,
    fleet_dir,
)
from services.common.errors import BurrowError, ConflictError, NotFoundError, ValidationError
from services.common.files import write_atomic
from services.common.model import Input
from services.common.paths import StateRoot
from services.common.pki import (
    CertificateAuthority,
    CertificateRequestError,
    CertPaths,
    fingerprint,
    load_cert,
    make_request,
    new_key,
    write_key_and_cert,
)
from services.common.problems import error_from_answer
from services.common.settings import ApplianceSettings

log = logging.getLogger(__name__)

#: The kinds of server an appliance of each profile brings to a fleet (a DNS/DHCP appliance:
#: dns, dhcp, appliance; a caching appliance: caching, appliance).
KIND_SETS = tuple(registry.APPLIANCE_KINDS.values())
KINDS = tuple(dict.fromkeys(kind for kinds in KIND_SETS for kind in kinds))


def _one_appliance(kinds: Iterable[str]) -> tuple[str, ...] | None:
    """The kinds of server of one appliance, in their order, or None if they are no
    profile's."""
    given = sorted(kinds)
    return next((k for k in KIND_SETS if sorted(k) == given), None)


FINGERPRINT = r"^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$"
HOSTNAME = r"^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$"
#: Seconds a call to the other Central may take (a leave waits for the other side's agents).
CALL_TIMEOUT = 15.0
LEAVE_TIMEOUT = 90.0
#: Seconds the agents have to answer with their new certificates.
AGENT_WAIT = 30.0
Comment = Annotated[str, Field(max_length=1000, description="save comment")]


def _ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError("not an IPv4 or IPv6 address") from None


# --- requests ------------------------------------------------------------------------------
class JoinCodeRequest(Input):
    expires_in_seconds: int = Field(default=3600, ge=60, le=7 * 86400)
    comment: Comment = ""


class RedeemRequest(Input):
    """What a joining appliance's Central sends the managing Central."""

    code: str = Field(min_length=1, max_length=200)
    name: str = Field(pattern=HOSTNAME, description="the joining appliance's host name")
    address: str = Field(max_length=64, description="the joining appliance's IP address")
    central_ca: str = Field(min_length=1, max_length=20000, description="its appliance CA (PEM)")
    release_secret: str = Field(
        min_length=32, max_length=200, description="what the managing Central shows its Central "
        "when the appliance is removed from the fleet there",
    )  # fmt: skip
    requests: dict[str, str] = Field(description="a PEM certificate request per agent kind")

    _check_address = field_validator("address")(_ip)


class MemberLeave(Input):
    secret: str = Field(min_length=1, max_length=200)


class JoinRequest(Input):
    address: str = Field(max_length=64, description="the managing Central's IP address")
    port: int = Field(default=PORT, ge=1, le=65535, description="its API port")
    ca_fingerprint: str = Field(
        pattern=FINGERPRINT, description="SHA-256 fingerprint of its CA, AA:BB:...",
    )  # fmt: skip
    code: str = Field(min_length=1, max_length=200, description="the one-time join code")
    comment: Comment = ""

    _check_address = field_validator("address")(_ip)


class LeaveRequest(Input):
    force: bool = Field(
        default=False,
        description="leave even if the other side cannot be told (it keeps stale servers)",
    )
    comment: Comment = ""


class Release(Input):
    secret: str = Field(min_length=1, max_length=200)


# --- where things are ----------------------------------------------------------------------
def membership_file(root: StateRoot) -> Path:
    return fleet_dir(root) / "membership.json"


def membership(root: StateRoot) -> dict[str, Any] | None:
    """This appliance's membership of a fleet, or None."""
    try:
        data: dict[str, Any] = json.loads(membership_file(root).read_text())
    except FileNotFoundError:
        return None
    return data


def _settings(config: CentralConfig) -> ApplianceSettings:
    return ApplianceSettings.load(config.root.appliance_settings)


def _ca_fingerprint(config: CentralConfig) -> str:
    return fingerprint(load_cert(config.ca_dir / "ca.crt"))


# --- the managing Central ------------------------------------------------------------------
def issue_join_code(
    db: Session, actor: Principal, config: CentralConfig, body: JoinCodeRequest
) -> dict[str, Any]:
    current = membership(config.root)
    if current is not None:  # one level: a member manages no fleet of its own
        raise ConflictError(
            f"This appliance is in the fleet of the Central at {current['address']}: "
            "add appliances there."
        )
    secret = new_token("bwf")
    expires = now() + dt.timedelta(seconds=body.expires_in_seconds)
    row = FleetJoinCode(
        code_hash=token_hash(secret),
        comment=body.comment,
        created_by=actor.username,
        expires_at=expires,
    )
    db.add(row)
    db.flush()
    after = {"expires_at": jsonable(expires)}
    record(db, actor, "fleet-join-code", row.id, "create", after=after, comment=body.comment)
    db.commit()
    return {
        "id": row.id,
        "code": secret,
        "expires_at": jsonable(expires),
        # A Central on no appliance (a test's) knows no address of its own.
        "central_address": (
            _settings(config).ip if config.root.appliance_settings.exists() else ""
        ),
        "central_port": config.port,
        "ca_fingerprint": _ca_fingerprint(config),
    }


def _code(db: Session, code: str) -> FleetJoinCode:
    row = db.scalar(select(FleetJoinCode).where(FleetJoinCode.code_hash == token_hash(code)))
    if row is None:
        raise ProblemError(403, "The join code is not known here.", field="code")
    if row.used_at is not None:
        raise ProblemError(403, "The join code was used already.", field="code")
    if row.expires_at <= now():
        raise ProblemError(403, "The join code has expired.", field="code")
    return row


def redeem(db: Session, config: CentralConfig, body: RedeemRequest) -> dict[str, Any]:
    """Register the joining appliance's agents as servers and sign their certificates."""
    code = _code(db, body.code)
    kinds = _one_appliance(body.requests)
    if kinds is None:
        wanted = " or ".join(", ".join(k) for k in KIND_SETS)
        raise ValidationError(
            f"A certificate request is needed for each agent of the appliance: {wanted}.",
            field="requests",
        )
    if db.scalar(select(FleetMember.id).where(FleetMember.name == body.name)) is not None:
        raise ConflictError(
            f"An appliance named {body.name!r} is in the fleet already.", field="name"
        )
    names = {kind: f"{body.name}-{kind}" for kind in kinds}
    taken = db.scalars(select(Server.name).where(Server.name.in_(names.values()))).all()
    if taken:
        raise ConflictError(f"This Central has a server named {taken[0]!r} already.", field="name")
    try:
        central_ca = x509.load_pem_x509_certificate(body.central_ca.encode())
    except ValueError as exc:
        raise ValidationError("central_ca is not a PEM certificate.", field="central_ca") from exc
    ca = CertificateAuthority(config.ca_dir)
    signed = {}
    for kind in kinds:
        try:
            signed[kind] = ca.sign_request(
                body.requests[kind].encode(), names[kind], server_names=[body.address]
            )
        except CertificateRequestError as exc:
            raise ValidationError(
                f"The {kind} agent's certificate request cannot be signed: {exc}.",
                field=f"requests.{kind}",
            ) from exc
    servers = []
    for kind in kinds:
        server = Server(
            kind=kind, name=names[kind], address=body.address, port=registry.DEFAULT_PORTS[kind]
        )
        db.add(server)
        db.flush()
        registry.pin(server, signed[kind])
        record(
            db, SYSTEM, "server", server.id, "create", after=registry.history_view(server),
            comment=f"an agent of appliance {body.name}, joined to the fleet",
        )  # fmt: skip
        servers.append(server)
    secret = new_token("bwm")
    member = FleetMember(
        name=body.name,
        address=body.address,
        secret_hash=token_hash(secret),
        central_ca=central_ca.public_bytes(serialization.Encoding.PEM).decode(),
        server_ids=[s.id for s in servers],
    )
    db.add(member)
    db.flush()
    code.used_at = now()
    code.member_id = member.id
    record(
        db, SYSTEM, "fleet-member", member.id, "join", after=member_public(db, member),
        comment=f"appliance {body.name} joined with join code {code.id}",
    )  # fmt: skip
    db.commit()
    _store_release(config, member.id, body.release_secret)
    crl = crl_file(config.root)
    return {
        "member_id": member.id,
        "secret": secret,
        "ca_certificate": ca.paths.cert.read_text(),
        "crl": crl.read_text() if crl.exists() else "",
        "certificates": {
            kind: signed[kind].public_bytes(serialization.Encoding.PEM).decode() for kind in kinds
        },
        "server_ids": {s.kind: s.id for s in servers},
    }


def _release_file(config: CentralConfig, member_id: int) -> Path:
    return config.root.secrets / f"fleet-member-{member_id}.release"


def _store_release(config: CentralConfig, member_id: int, secret: str) -> None:
    """What this Central shows the member's Central when it removes the member (the member
    holds only its hash); a secret, so a file of the secrets directory, not the database."""
    write_atomic(_release_file(config, member_id), secret + "\n", mode=0o600)


def member_public(db: Session, member: FleetMember) -> dict[str, Any]:
    servers = [db.get(Server, i) for i in member.server_ids]
    return {
        "id": member.id,
        "name": member.name,
        "address": member.address,
        "joined_at": jsonable(member.joined_at),
        "servers": [
            {"id": s.id, "kind": s.kind, "name": s.name, "state": s.state,
             "last_seen": jsonable(s.last_seen)}
            for s in servers if s is not None
        ],
    }  # fmt: skip


def list_members(db: Session) -> list[dict[str, Any]]:
    return [member_public(db, m) for m in db.scalars(select(FleetMember).order_by(FleetMember.id))]


def get_member(db: Session, member_id: int) -> FleetMember:
    member = db.get(FleetMember, member_id)
    if member is None:
        raise NotFoundError(f"There is no fleet member {member_id}.", field="member_id")
    return member


def _drop_member(
    db: Session, actor: Principal | str, config: CentralConfig, member: FleetMember, comment: str
) -> None:
    """Remove the member's servers (certificates revoked) and the member; publish the CRL."""
    before = member_public(db, member)
    for server_id in member.server_ids:
        server = db.get(Server, server_id)
        if server is None:
            continue
        view = registry.history_view(server)
        registry.revoke_serial(db, server.cert_serial, server.name, "left the fleet")
        db.execute(delete(EnrolmentToken).where(EnrolmentToken.server_id == server.id))
        db.delete(server)
        record(db, actor, "server", server_id, "delete", before=view, comment=comment)
    db.delete(member)
    record(db, actor, "fleet-member", member.id, "leave", before=before, comment=comment)
    db.commit()
    _release_file(config, member.id).unlink(missing_ok=True)
    registry.publish_crl(db, config)


def member_leaves(db: Session, config: CentralConfig, member_id: int, body: MemberLeave) -> None:
    """The member's own Central says the appliance leaves."""
    member = get_member(db, member_id)
    if not hmac.compare_digest(member.secret_hash, token_hash(body.secret)):
        raise ProblemError(403, "The secret is not this member's.", field="secret")
    _drop_member(db, SYSTEM, config, member, f"appliance {member.name} left the fleet")


def remove_member(
    db: Session, actor: Principal, config: CentralConfig, member_id: int, body: LeaveRequest
) -> None:
    """Remove an appliance from the fleet here; its own Central is told to manage it again."""
    member = get_member(db, member_id)
    try:
        secret = _release_file(config, member.id).read_text().strip()
    except FileNotFoundError:
        secret = ""
    try:
        _call(
            "POST", member.address, PORT, "/api/v1/fleet/membership/release",
            {"secret": secret}, _verify_pem(member.central_ca), who=f"{member.name}'s Central",
            timeout=LEAVE_TIMEOUT,
        )  # fmt: skip
    except BurrowError as exc:
        if not body.force:
            raise
        log.warning("fleet member %s not told it left: %s", member.name, exc)
    comment = body.comment or f"appliance {member.name} removed from the fleet"
    _drop_member(db, actor, config, member, comment)


# --- calls to the other Central ------------------------------------------------------------
def _verify_pem(pem: str) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=pem)


def _url(address: str, port: int, path: str) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"https://{host}:{port}{path}"


def _call(
    method: str,
    address: str,
    port: int,
    path: str,
    body: dict[str, Any] | None,
    verify: ssl.SSLContext | bool,
    *,
    who: str,
    timeout: float = CALL_TIMEOUT,
) -> Any:
    """One call to the other Central; its problems come back as they are, an unreachable
    Central is a 502 naming ``address``."""
    try:
        answer = httpx.request(
            method, _url(address, port, path), json=body, verify=verify, timeout=timeout
        )
    except httpx.HTTPError as exc:
        raise ProblemError(
            502, f"{who} at {address}:{port} cannot be reached: {exc or type(exc).__name__}.",
            field="address",
        ) from exc  # fmt: skip
    if answer.status_code >= 400:
        try:
            content = answer.json()
        except ValueError:
            content = answer.text
        raise error_from_answer(answer.status_code, content, who=who)
    return answer.json() if answer.content else None


# --- the joining appliance -----------------------------------------------------------------
def _local_servers(db: Session) -> dict[str, Server]:
    rows = db.scalars(select(Server).where(Server.local.is_(True))).all()
    return {s.kind: s for s in rows}


def membership_public(root: StateRoot) -> dict[str, Any]:
    data = membership(root)
    if data is None:
        return {"joined": False}
    return {"joined": True, **{k: v for k, v in data.items() if k not in SECRET_KEYS}}


SECRET_KEYS = ("secret", "release_hash")


def join(
    db: Session, actor: Principal | str, config: CentralConfig, body: JoinRequest
) -> dict[str, Any]:
    """Join the fleet of the Central at ``body.address``."""
    root = config.root
    current = membership(root)
    if current is not None:
        raise ConflictError(
            f"This appliance is in the fleet of the Central at {current['address']} already.",
            field="address",
        )
    if db.scalar(select(FleetMember.id).limit(1)) is not None:
        raise ConflictError(
            "This Central manages a fleet: remove its members before it joins another.",
            field="address",
        )
    local = _local_servers(db)
    kinds = _one_appliance(local)
    if kinds is None:
        raise ConflictError("This appliance's agents are not all registered yet.")
    who = "the managing Central"
    try:
        ca_pem = _call("GET", body.address, body.port, "/api/v1/fleet/ca", None, False, who=who)[
            "certificate"
        ]
        ca = x509.load_pem_x509_certificate(ca_pem.encode())
    except (KeyError, TypeError, ValueError) as exc:
        raise ProblemError(
            502, f"The Central at {body.address}:{body.port} did not send its CA.", field="address"
        ) from exc
    wanted = body.ca_fingerprint.upper()
    if fingerprint(ca) != wanted:
        raise ValidationError(
            f"The Central at {body.address}:{body.port} has a CA with another fingerprint "
            f"({fingerprint(ca)}).",
            field="ca_fingerprint",
        )
    settings = _settings(config)
    keys = {kind: new_key() for kind in kinds}
    programs = {a.kind: a.program for a in config.local_agents}
    release = new_token("bwr")
    request = RedeemRequest(
        code=body.code,
        name=settings.hostname,
        address=settings.ip,
        central_ca=(config.ca_dir / "ca.crt").read_text(),
        release_secret=release,
        requests={k: make_request(keys[k], programs[k]).decode() for k in kinds},
    )
    verify = _verify_pem(ca_pem)
    answer = _call(
        "POST", body.address, body.port, "/api/v1/fleet/members",
        request.model_dump(), verify, who=who,
    )  # fmt: skip
    try:
        directory = fleet_dir(root)
        directory.mkdir(mode=0o755, exist_ok=True)
        for kind in kinds:
            write_key_and_cert(
                fleet_cert(root, programs[kind]), keys[kind],
                answer["certificates"][kind].encode(),
            )  # fmt: skip
        write_atomic(fleet_ca_file(root), ca_pem, mode=0o644)
        if answer.get("crl"):
            write_atomic(fleet_crl_file(root), answer["crl"], mode=0o644)
        data = {
            "address": body.address,
            "port": body.port,
            "ca_fingerprint": wanted,
            "member_id": answer["member_id"],
            "server_ids": answer["server_ids"],
            "joined_at": jsonable(now()),
            "secret": answer["secret"],
            "release_hash": token_hash(release),
        }
        write_atomic(membership_file(root), json.dumps(data, indent=1) + "\n", mode=0o600)
    except Exception:
        shutil.rmtree(fleet_dir(root), ignore_errors=True)
        try:  # the managing Central forgets the servers it registered
            _call(
                "POST", body.address, body.port,
                f"/api/v1/fleet/members/{answer['member_id']}/leave",
                {"secret": answer["secret"]}, verify, who=who,
            )  # fmt: skip
        except BurrowError as exc:
            log.warning("the managing Central could not be told the join failed: %s", exc)
        raise
    _repin(db, actor, config, local, fleet=True, comment=body.comment)
    record(
        db, actor, "fleet", "membership", "join", after=membership_public(root),
        comment=body.comment,
    )  # fmt: skip
    db.commit()
    _wait_agents(db, config, local)
    return membership_public(root)


def _repin(
    db: Session,
    actor: Principal | str,
    config: CentralConfig,
    local: dict[str, Server],
    *,
    fleet: bool,
    comment: str,
) -> None:
    """Pin this Central's rows of its own agents to the certificates they show from now."""
    programs = {a.kind: a.program for a in config.local_agents}
    for kind, server in local.items():
        paths: CertPaths = (fleet_cert if fleet else agent_cert)(config.root, programs[kind])
        if not paths.cert.exists():
            continue
        before = registry.history_view(server)
        registry.pin(server, load_cert(paths.cert))
        action = "fleet-join" if fleet else "fleet-leave"
        record(
            db, actor, "server", server.id, action, before=before,
            after=registry.history_view(server), comment=comment,
        )  # fmt: skip


def _wait_agents(db: Session, config: CentralConfig, local: dict[str, Server]) -> None:
    """Wait until each agent answers with the certificate pinned now (or ``AGENT_WAIT``):
    the agents take up the fleet's certificate (or their own again) at their next TLS
    handshake (``services.common.agent.FleetContexts``)."""
    deadline = time.monotonic() + AGENT_WAIT
    for server in local.values():
        while True:
            registry.check(db, config, server)
            if server.state == "reachable" or time.monotonic() > deadline:
                break
            time.sleep(0.25)


def _step_back(db: Session, actor: Principal | str, config: CentralConfig, comment: str) -> None:
    """Manage this appliance's agents alone again."""
    root = config.root
    before = membership_public(root)
    local = _local_servers(db)
    shutil.rmtree(fleet_dir(root), ignore_errors=True)
    _repin(db, actor, config, local, fleet=False, comment=comment)
    record(db, actor, "fleet", "membership", "leave", before=before, comment=comment)
    db.commit()
    _wait_agents(db, config, local)


def _joined(root: StateRoot) -> dict[str, Any]:
    data = membership(root)
    if data is None:
        raise ConflictError("This appliance is in no fleet.")
    return data


def leave(db: Session, actor: Principal, config: CentralConfig, body: LeaveRequest) -> None:
    """Leave the fleet: the managing Central forgets the servers, this one manages them."""
    data = _joined(config.root)
    try:
        _call(
            "POST", data["address"], int(data["port"]),
            f"/api/v1/fleet/members/{data['member_id']}/leave", {"secret": data["secret"]},
            _verify_pem(fleet_ca_file(config.root).read_text()), who="the managing Central",
        )  # fmt: skip
    except BurrowError as exc:
        if not body.force:
            raise
        log.warning("the managing Central was not told this appliance left: %s", exc)
    _step_back(db, actor, config, body.comment or "left the fleet")


def released(db: Session, config: CentralConfig, body: Release) -> None:
    """The managing Central removed this appliance from its fleet."""
    data = _joined(config.root)
    if not hmac.compare_digest(str(data.get("release_hash", "")), token_hash(body.secret)):
        raise ProblemError(403, "The secret is not the managing Central's.", field="secret")
    _step_back(db, SYSTEM, config, f"removed from the fleet by the Central at {data['address']}")


def ca_certificate(config: CentralConfig) -> dict[str, Any]:
    pem = (config.ca_dir / "ca.crt").read_text()
    return {"certificate": pem, "fingerprint": _ca_fingerprint(config)}
