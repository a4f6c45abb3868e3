"""DNS updates from DHCP, set through Central (``/api/v1/dhcp/servers/{id}/ddns``).

The DHCP server's DHCP-DDNS server (services.common.dhcp.ddns) updates zones of the DNS
server on the same appliance (the registry's DNS server of the same address): every zone named
must be a primary zone Central manages there, every key a TSIG key made through Central for
that server. A zone that does not yet let the key update it gets the key in its
``update_keys`` (a zone change of its own in the history). Administrators only: the setting
reaches into DNS as much as into DHCP.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.core.config import CentralConfig
from central.core.deps import Principal
from central.dhcp.service import agent_for
from central.dns import lock
from central.dns import service as dns_service
from central.dns.models import DnsTsigKey, DnsZone
from central.dns.schemas import ZoneUpdateRequest
from central.history.service import record
from central.registry.models import Server
from services.common.dhcp.ddns import DdnsSettings
from services.common.errors import FieldProblem, ValidationError


class DdnsBody(DdnsSettings):
    """The zones the DHCP server's DNS updates go to, with a save comment."""

    comment: str = ""


def dns_server_of(db: Session, server: Server) -> Server | None:
    """The DNS server on the same appliance as DHCP server ``server``."""
    return db.scalar(select(Server).where(Server.kind == "dns", Server.address == server.address))


def get(config: CentralConfig, server: Server) -> DdnsSettings:
    return agent_for(config, server).ddns()


def put(
    db: Session, config: CentralConfig, actor: Principal, server: Server, body: DdnsBody
) -> DdnsSettings:
    settings = DdnsSettings.model_validate(body.model_dump(exclude={"comment"}))
    dns = dns_server_of(db, server)
    if dns is None and settings.enabled:
        raise ValidationError(
            f"There is no DNS server on this DHCP server's appliance ({server.address}).",
            field="forward",
        )
    zones: dict[str, DnsZone] = {}
    problems: list[FieldProblem] = []
    for side in ("forward", "reverse"):
        for index, item in enumerate(getattr(settings, side)):
            assert dns is not None
            zone = db.scalar(
                select(DnsZone).where(
                    DnsZone.server_id == dns.id, DnsZone.name == item.zone,
                    dns_service.shown_zones(),
                )
            )  # fmt: skip
            if zone is None or zone.kind != "primary":
                problems.append(FieldProblem(
                    f"{side}[{index}].zone",
                    f"no primary zone {item.zone} on DNS server {dns.name}",
                ))  # fmt: skip
            else:
                zones[item.zone] = zone
            key = db.scalar(
                select(DnsTsigKey.id).where(
                    DnsTsigKey.server_id == dns.id, DnsTsigKey.name == item.key
                )
            )
            if key is None:
                problems.append(FieldProblem(
                    f"{side}[{index}].key", f"no TSIG key {item.key} on DNS server {dns.name}"
                ))  # fmt: skip
    if problems:
        raise ValidationError(f"{problems[0].field}: {problems[0].message}", problems=problems)
    client = agent_for(config, server)
    before = client.ddns()
    for item in (*settings.forward, *settings.reverse):
        zone = zones[item.zone]
        granted = list((zone.spec or {}).get("update_keys") or [])
        if item.key in granted:
            continue
        with lock.zone(zone.server_id, zone.name):
            dns_service.update_zone(
                db, config, actor, zone.id,
                ZoneUpdateRequest(
                    update_keys=[*granted, item.key],
                    comment=f"DNS updates from DHCP server {server.name} sign with {item.key}",
                ),
            )  # fmt: skip
    after = client.set_ddns(settings)
    record(
        db, actor, "dhcp-ddns", server.id, "update",
        before=before.model_dump(mode="json"), after=after.model_dump(mode="json"),
        comment=body.comment,
    )  # fmt: skip
    db.commit()
    return after
