"""DNSSEC through Central: the policies of a DNS server and the signing state of a zone.

Policies live where named uses them, on the server (the dns-agent renders each as a
``dnssec-policy`` statement, checked by named-checkconf before named loads it): Central reads
them from the agent, sends a new or changed one there and records it in the history. A zone is
signed by setting its ``dnssec_policy`` (``PATCH /zones/{id}``, or when it is created); its
keys, DNSKEY and DS records and ``rndc dnssec -status`` are read from the agent on demand, so
they are what named does now.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from central.core.config import CentralConfig
from central.core.deps import Principal
from central.dns.agent import client_for
from central.dns.keys import server_lock
from central.dns.models import DnsZone
from central.dns.settle import settle
from central.history import service as history
from services.common.dns.dnssec import DnssecPolicy, DsChange, ZoneDnssec
from services.common.errors import ValidationError
from services.common.model import Input

OBJECT_TYPE = "dns-dnssec-policy"


class PolicyRequest(Input):
    """A DNSSEC policy to define or change on a server, with a save comment."""

    policy: DnssecPolicy
    comment: str = Field(default="", max_length=1000, description="save comment")


class PolicyList(BaseModel):
    """The policies of a server: BIND's own (``default``, ``insecure``) and those defined."""

    model_config = ConfigDict(extra="ignore")

    server_id: int
    builtin: list[str]
    items: list[DnssecPolicy]


class ZoneDnssecView(ZoneDnssec):
    """The DNSSEC state of a zone of Central, as named has it now."""

    zone_id: int


class DsChangeRequest(DsChange):
    """The parent zone now publishes (or no longer publishes) the zone's DS records."""

    comment: str = Field(default="", max_length=1000, description="save comment")


class RolloverRequest(Input):
    """Start a rollover of one of the zone's keys now."""

    key_id: int = Field(ge=0, le=65535)
    comment: str = Field(default="", max_length=1000, description="save comment")


def list_policies(db: Session, config: CentralConfig, server_id: int) -> PolicyList:
    client = client_for(db, config, server_id)
    return PolicyList(server_id=server_id, builtin=["default", "insecure"], items=client.policies())


def put_policy(
    db: Session,
    config: CentralConfig,
    actor: Principal,
    server_id: int,
    name: str,
    body: PolicyRequest,
) -> DnssecPolicy:
    if body.policy.name != name:
        raise ValidationError(
            f"The policy is named {body.policy.name} but the path names {name}.",
            field="policy.name",
        )
    with server_lock(server_id):
        return _put_policy(db, config, actor, server_id, name, body)


def _put_policy(
    db: Session,
    config: CentralConfig,
    actor: Principal,
    server_id: int,
    name: str,
    body: PolicyRequest,
) -> DnssecPolicy:
    client = client_for(db, config, server_id)
    before = next((p for p in client.policies() if p.name == name), None)

    def check() -> DnssecPolicy | None:
        return next((p for p in client.policies() if p == body.policy), None)

    policy = settle(
        lambda: client.put_policy(body.policy), check, what=f"Setting dnssec-policy {name}"
    )
    history.record(
        db, actor, OBJECT_TYPE, f"{server_id}/{name}", "update" if before else "create",
        before=before.model_dump(mode="json") if before else None,
        after=policy.model_dump(mode="json"), comment=body.comment,
    )  # fmt: skip
    db.commit()
    return policy


def delete_policy(
    db: Session, config: CentralConfig, actor: Principal, server_id: int, name: str, comment: str
) -> None:
    with server_lock(server_id):
        _delete_policy(db, config, actor, server_id, name, comment)


def _delete_policy(
    db: Session, config: CentralConfig, actor: Principal, server_id: int, name: str, comment: str
) -> None:
    client = client_for(db, config, server_id)
    before = next((p for p in client.policies() if p.name == name), None)

    def delete() -> bool:
        client.delete_policy(name)
        return True

    settle(
        delete,
        lambda: True if all(p.name != name for p in client.policies()) else None,
        what=f"Deleting dnssec-policy {name}",
    )
    history.record(
        db, actor, OBJECT_TYPE, f"{server_id}/{name}", "delete",
        before=before.model_dump(mode="json") if before else None, comment=comment,
    )  # fmt: skip
    db.commit()


def zone_dnssec(db: Session, config: CentralConfig, zone: DnsZone) -> ZoneDnssecView:
    client = client_for(db, config, zone.server_id)
    state = client.dnssec(zone.name)
    return ZoneDnssecView(zone_id=zone.id, **state.model_dump())


def rollover(
    db: Session, config: CentralConfig, actor: Principal, zone: DnsZone, body: RolloverRequest
) -> ZoneDnssecView:
    client = client_for(db, config, zone.server_id)
    state = client.rollover(zone.name, body.key_id)
    history.record(
        db, actor, "dns-zone", zone.id, "dnssec-rollover",
        after={"zone": zone.name, "key_id": body.key_id}, comment=body.comment,
    )  # fmt: skip
    db.commit()
    return ZoneDnssecView(zone_id=zone.id, **state.model_dump())


def checkds(
    db: Session, config: CentralConfig, actor: Principal, zone: DnsZone, body: DsChangeRequest
) -> ZoneDnssecView:
    client = client_for(db, config, zone.server_id)
    change = DsChange(state=body.state, key_id=body.key_id)
    state = client.checkds(zone.name, change)
    history.record(
        db, actor, "dns-zone", zone.id, f"dnssec-ds-{body.state}",
        after={"zone": zone.name, "key_id": body.key_id, "ds": state.ds}, comment=body.comment,
    )  # fmt: skip
    db.commit()
    return ZoneDnssecView(zone_id=zone.id, **state.model_dump())
