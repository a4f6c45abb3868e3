"""Discovery as a source of the address space: what a ping sweep of a range or a router's
neighbour table found in use is kept (table ``ipam_seen``: the address, its MAC address when
a router gave one, who saw it, first and last seen) and joined with every other source
(``central.ipam.usage``): next free skips it, the address view shows it, and an address that
discovery alone knows is a disagreement (``discovered-unknown``: a host nobody claimed).

Both run on demand, on the appliance Central runs on (the sweep from its own address): the
sweep of one range (IPv4, at most ``MAX_SWEEP`` addresses, at a bounded rate), and the read of
one router with an SNMP profile given in the request, which is used once and kept nowhere;
and on a schedule with stored profiles (``central.ipam.schedules``). Next free can ping its
candidates first (``PingCheck``): one that answers is kept as discovered and passed over.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from typing import Annotated

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.core.db import now
from central.core.deps import Principal
from central.discovery import snmp, sweep
from central.history import service as history
from central.ipam import addresses as ad
from central.ipam.models import IpamRange, IpamSeen
from central.ipam.service import range_span
from services.common.errors import ConflictError, DaemonError, ValidationError
from services.common.model import Input

log = logging.getLogger(__name__)

#: The largest range swept in one request (a /20; about 20 s at the default rate).
MAX_SWEEP = 4096


class SweepRequest(Input):
    rate: Annotated[float, Field(ge=1, le=2000, description="echo requests per second")] = 200
    timeout: Annotated[float, Field(ge=0.1, le=10, description="seconds for late replies")] = 1
    comment: str = Field(default="", max_length=1000)


class RouterRequest(Input):
    address: str = Field(description="the router's address")
    profile: snmp.SnmpProfile
    comment: str = Field(default="", max_length=1000)


class DiscoveryResult(BaseModel):
    found: int = Field(description="addresses found in use")
    new: int = Field(description="of which discovery had not seen before")
    seconds: float


def _record(db: Session, found: dict[str, str], seen_by: str) -> int:
    """Keep ``found`` (address -> MAC or ""): new addresses added, known ones seen again;
    how many were new."""
    stamp = now()
    new = 0
    for text, mac in found.items():
        value = ipaddress.ip_address(text)
        key = ad.key(int(value))
        row = db.scalar(select(IpamSeen).where(IpamSeen.key == key))
        if row is None:
            db.add(IpamSeen(family=value.version, address=str(value), key=key, mac=mac,
                            seen_by=seen_by, first_seen=stamp, last_seen=stamp))  # fmt: skip
            new += 1
        else:
            row.last_seen, row.seen_by = stamp, seen_by
            if mac:
                row.mac = mac
    return new


def sweep_targets(rng: IpamRange) -> list[ipaddress.IPv4Address]:
    """The addresses a sweep of ``rng`` pings; 422 naming ``range_id`` for an IPv6 range or
    one too large."""
    span = range_span(rng)
    if span.family != 4:
        raise ValidationError("Only IPv4 ranges are swept; IPv6 hosts are found in routers' "
                              "neighbour tables.", field="range_id")  # fmt: skip
    if span.size > MAX_SWEEP:
        raise ValidationError(f"The range has {span.size:,} addresses; a sweep takes at most "
                              f"{MAX_SWEEP:,}.", field="range_id")  # fmt: skip
    return [ipaddress.IPv4Address(v) for v in range(span.first, span.last + 1)]


def sweep_and_keep(db: Session, rng: IpamRange, rate: float, timeout: float) -> DiscoveryResult:
    """Sweep ``rng`` and keep what answered (the caller commits)."""
    targets = sweep_targets(rng)
    started = time.monotonic()
    try:
        answered = sweep.sweep(targets, rate=rate, timeout=timeout)
    except PermissionError as exc:
        raise DaemonError("The sweep needs a raw socket: Central does not run as root here.",
                          hint="run the sweep on the appliance") from exc  # fmt: skip
    took = time.monotonic() - started
    new = _record(db, dict.fromkeys(answered, ""), "ping")
    return DiscoveryResult(found=len(answered), new=new, seconds=round(took, 3))


def sweep_range(
    db: Session, actor: Principal, rng: IpamRange, body: SweepRequest
) -> DiscoveryResult:
    result = sweep_and_keep(db, rng, body.rate, body.timeout)
    history.record(
        db, actor, "ipam-range", rng.id, "sweep",
        after={"range": f"{rng.start}-{rng.end}", "found": result.found, "new": result.new},
        comment=body.comment,
    )  # fmt: skip
    db.commit()
    return result


def router_address(text: str, field: str = "address") -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError as exc:
        raise ValidationError("not an IP address", field=field) from exc


def read_and_keep(db: Session, router: str, profile: snmp.SnmpProfile) -> DiscoveryResult:
    """Read ``router``'s neighbour table and keep its addresses (the caller commits); 502
    naming ``address`` when the router answers nothing usable."""
    started = time.monotonic()
    try:
        entries = asyncio.run(snmp.neighbours(router, profile))
    except snmp.SnmpError as exc:
        raise DaemonError(f"The router {router} answered nothing usable: {exc}.",
                          field="address") from exc  # fmt: skip
    took = time.monotonic() - started
    found = {entry.address: entry.mac for entry in entries}
    new = _record(db, found, f"snmp {router}")
    return DiscoveryResult(found=len(found), new=new, seconds=round(took, 3))


def read_router(db: Session, actor: Principal, body: RouterRequest) -> DiscoveryResult:
    router = router_address(body.address)
    result = read_and_keep(db, router, body.profile)
    history.record(
        db, actor, "ipam-discovery", router, "read-router",
        after={"router": router, "version": body.profile.version, "found": result.found,
               "new": result.new},
        comment=body.comment,
    )  # fmt: skip
    db.commit()
    return result


# --- the ping check of next free ---------------------------------------------------------------
#: The most candidates one next-free request pings before it gives up.
PING_CANDIDATES = 16


class PingCheck:
    """Pings a candidate of next free (one echo request, ``timeout`` seconds for the reply)
    and, when it answers, keeps it as discovered (``seen_by`` ``ping``, committed at once) so
    that next free passes over it from then on; ``skipped`` lists those that answered."""

    def __init__(self, db: Session, family: int, timeout: float) -> None:
        if family != 4:
            raise ValidationError("The ping check is for IPv4 ranges only.", field="ping")
        self.db, self.timeout = db, timeout
        self.skipped: list[str] = []
        self.pinged = 0

    def __call__(self, value: int) -> bool:
        """Whether the address ``value`` answers (and is to be passed over)."""
        if self.pinged >= PING_CANDIDATES:
            raise ConflictError(f"The first {PING_CANDIDATES} free addresses all answered a "
                                "ping; they are kept as discovered: ask again.",
                                field="ping")  # fmt: skip
        self.pinged += 1
        address = ipaddress.IPv4Address(value)
        try:
            answered = sweep.sweep([address], rate=1000, timeout=self.timeout)
        except PermissionError as exc:
            raise DaemonError("The ping check needs a raw socket: Central does not run as "
                              "root here.", field="ping") from exc  # fmt: skip
        if not answered:
            return False
        log.info("next free: %s answered a ping; kept as discovered and passed over", address)
        _record(self.db, {str(address): ""}, "ping")
        self.db.commit()
        self.skipped.append(str(address))
        return True
