"""Stored SNMP profiles: how Central reads the routers of one security realm (v1 or v2c with a
community, v3 as a user with authPriv: HMAC-SHA-2 and AES), kept as objects that discovery
schedules name (``central.ipam.schedules``).

The community and the passphrases are write-only: given when a profile is made or changed,
never answered (a profile shows ``community_set`` and the like), never written to the history
(an entry names the secrets that changed: ``"secrets_changed": ["auth_passphrase"]``) nor to
a log. History: ``ipam-snmp-profile`` by id.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.core.db import now
from central.core.deps import Principal
from central.discovery.snmp import SnmpProfile
from central.history.service import record
from central.ipam.models import IpamDiscoverySchedule, IpamSnmpProfile
from services.common.errors import ConflictError, FieldProblem, NotFoundError, ValidationError
from services.common.model import Input
from services.common.monitoring import AuthProtocol, PrivProtocol

OBJECT = "ipam-snmp-profile"
SECRETS = ("community", "auth_passphrase", "priv_passphrase")

Version = Literal["1", "2c", "3"]
ProfileName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
Community = Annotated[str, Field(min_length=1, max_length=64, description="write-only")]
User = Annotated[str, Field(min_length=1, max_length=32)]
Passphrase = Annotated[str, Field(min_length=8, max_length=128, description="write-only")]
Port = Annotated[int, Field(ge=1, le=65535)]
Timeout = Annotated[float, Field(gt=0, le=30, description="seconds per request")]
Retries = Annotated[int, Field(ge=0, le=5)]
Comment = Annotated[str, Field(max_length=1000, description="save comment")]


class ProfileBody(Input):
    """An SNMP profile to make: ``version`` 1 or 2c with ``community``, or 3 with ``user``,
    ``auth_passphrase`` and ``priv_passphrase`` (always authPriv)."""

    name: ProfileName
    description: Annotated[str, Field(max_length=2000)] = ""
    version: Version
    community: Community | None = None
    user: User | None = None
    auth_protocol: AuthProtocol = AuthProtocol.SHA256
    auth_passphrase: Passphrase | None = None
    priv_protocol: PrivProtocol = PrivProtocol.AES128
    priv_passphrase: Passphrase | None = None
    port: Port = 161
    timeout: Timeout = 2.0
    retries: Retries = 1
    comment: Comment = ""


class ProfileChange(Input):
    """Fields of a profile to change; the others keep their values (a secret not given stays
    as it is). Changing ``version`` drops the secrets the new version does not use."""

    name: ProfileName | None = None
    description: Annotated[str, Field(max_length=2000)] | None = None
    version: Version | None = None
    community: Community | None = None
    user: User | None = None
    auth_protocol: AuthProtocol | None = None
    auth_passphrase: Passphrase | None = None
    priv_protocol: PrivProtocol | None = None
    priv_passphrase: Passphrase | None = None
    port: Port | None = None
    timeout: Timeout | None = None
    retries: Retries | None = None
    comment: Comment = ""


class ProfilePublic(BaseModel):
    """An SNMP profile as the API shows it: its secrets only as whether they are set."""

    id: int
    name: str
    description: str
    version: str
    user: str | None = Field(description="v3: the USM user")
    auth_protocol: str | None = Field(description="v3: sha224, sha256, sha384 or sha512")
    priv_protocol: str | None = Field(description="v3: aes128, aes192 or aes256")
    community_set: bool
    auth_passphrase_set: bool
    priv_passphrase_set: bool
    port: int
    timeout: float
    retries: int
    created_at: dt.datetime
    updated_at: dt.datetime


def public(row: IpamSnmpProfile) -> ProfilePublic:
    v3 = row.version == "3"
    return ProfilePublic(
        id=row.id, name=row.name, description=row.description, version=row.version,
        user=row.user if v3 else None, auth_protocol=row.auth_protocol if v3 else None,
        priv_protocol=row.priv_protocol if v3 else None, community_set=bool(row.community),
        auth_passphrase_set=bool(row.auth_passphrase),
        priv_passphrase_set=bool(row.priv_passphrase), port=row.port, timeout=row.timeout,
        retries=row.retries, created_at=row.created_at, updated_at=row.updated_at,
    )  # fmt: skip


def _history(row: IpamSnmpProfile) -> dict[str, Any]:
    """What the history keeps of a profile: everything but the secrets' values."""
    return public(row).model_dump(mode="json", exclude={"created_at", "updated_at"})


def snmp_profile(row: IpamSnmpProfile) -> SnmpProfile:
    """The profile as discovery takes it (``central.discovery.snmp``)."""
    if row.version == "3":
        return SnmpProfile(
            version="3", user=row.user, auth_protocol=AuthProtocol(row.auth_protocol),
            auth_passphrase=row.auth_passphrase, priv_protocol=PrivProtocol(row.priv_protocol),
            priv_passphrase=row.priv_passphrase, port=row.port, timeout=row.timeout,
            retries=row.retries,
        )  # fmt: skip
    return SnmpProfile(version=row.version, community=row.community,  # type: ignore[arg-type]
                       port=row.port, timeout=row.timeout, retries=row.retries)  # fmt: skip


def get(db: Session, profile_id: int, field: str = "profile_id") -> IpamSnmpProfile:
    row = db.get(IpamSnmpProfile, profile_id)
    if row is None:
        raise NotFoundError(f"There is no SNMP profile {profile_id}.", field=field)
    return row


#: What each version uses besides port, timeout and retries.
USES = {
    "1": {"community"},
    "2c": {"community"},
    "3": {"user", "auth_protocol", "auth_passphrase", "priv_protocol", "priv_passphrase"},
}
VERSIONED = set().union(*USES.values())


def _check(db: Session, row: IpamSnmpProfile, given: set[str]) -> None:
    """Every field the profile's version needs and lacks, every field ``given`` that it does
    not use, and a name taken, as problems."""
    problems = [FieldProblem(field, f"SNMP v{row.version} takes no {field}")
                for field in sorted(given & (VERSIONED - USES[row.version]))]  # fmt: skip
    taken = select(IpamSnmpProfile.id).where(IpamSnmpProfile.name == row.name)
    if row.id is not None:
        taken = taken.where(IpamSnmpProfile.id != row.id)
    with db.no_autoflush:  # the changed row is not written before it is checked
        clash = db.scalar(taken)
    if clash is not None:
        problems.append(FieldProblem("name", f"a profile named {row.name!r} exists already"))
    if row.version in ("1", "2c"):
        if not row.community:
            problems.append(FieldProblem("community", f"SNMP v{row.version} needs a community"))
    else:
        for field in ("user", "auth_passphrase", "priv_passphrase"):
            if not getattr(row, field):
                problems.append(FieldProblem(field, f"SNMPv3 (authPriv) needs {field}"))
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise ValidationError(f"{problems[0].field}: {problems[0].message}{more}",
                              problems=problems)  # fmt: skip


def _drop_unused_secrets(row: IpamSnmpProfile) -> None:
    if row.version == "3":
        row.community = ""
    else:
        row.user = row.auth_passphrase = row.priv_passphrase = ""


def create(db: Session, user: Principal, body: ProfileBody) -> IpamSnmpProfile:
    moment = now()
    row = IpamSnmpProfile(
        name=body.name, description=body.description, version=body.version,
        community=body.community or "", user=body.user or "",
        auth_protocol=str(body.auth_protocol), auth_passphrase=body.auth_passphrase or "",
        priv_protocol=str(body.priv_protocol), priv_passphrase=body.priv_passphrase or "",
        port=body.port, timeout=body.timeout, retries=body.retries, created_at=moment,
        updated_at=moment,
    )  # fmt: skip
    _drop_unused_secrets(row)
    _check(db, row, body.model_fields_set)
    db.add(row)
    db.flush()
    after = _history(row)
    record(db, user, OBJECT, row.id, "create", after=after, comment=body.comment)
    db.commit()
    return row


def change(
    db: Session, user: Principal, row: IpamSnmpProfile, body: ProfileChange
) -> IpamSnmpProfile:
    before = _history(row)
    secrets_before = {name: getattr(row, name) for name in SECRETS}
    given = body.model_dump(exclude_unset=True, exclude={"comment"})
    for name, value in given.items():
        if value is not None:
            setattr(row, name, str(value) if name.endswith("_protocol") else value)
    _drop_unused_secrets(row)
    try:
        _check(db, row, {name for name, value in given.items() if value is not None})
    except ValidationError:
        db.rollback()  # nothing half-applied: the session forgets the changed fields
        raise
    row.updated_at = now()
    after = _history(row)
    changed = [name for name in SECRETS if getattr(row, name) != secrets_before[name]]
    if changed:
        after["secrets_changed"] = changed
    record(db, user, OBJECT, row.id, "update", before=before, after=after,
           comment=body.comment)  # fmt: skip
    db.commit()
    return row


def delete(db: Session, user: Principal, row: IpamSnmpProfile, comment: str) -> None:
    used = db.scalar(select(func.count()).where(IpamDiscoverySchedule.profile_id == row.id)) or 0
    if used:
        raise ConflictError(f"{used} discovery schedules use SNMP profile {row.id} "
                            f"({row.name}): change or delete them first.",
                            field="profile_id")  # fmt: skip
    before = _history(row)
    db.delete(row)
    record(db, user, OBJECT, row.id, "delete", before=before, comment=comment)
    db.commit()
