"""The MIB view the SNMP agent serves: MIB-II system and interfaces, and BURROW-MIB.

``MibView.build`` turns one collection of figures into a sorted table of instances (OID →
value), replaced whole at each collection; GET and GETNEXT read it (``instrum.py``). The OIDs
below follow ``rootfs/usr/share/burrow/mibs/BURROW-MIB.txt`` (keep the two in step), RFC 3418
(SNMPv2-MIB system group) and RFC 2863 (IF-MIB ifTable, ifXTable).
"""

from __future__ import annotations

import bisect
import platform
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pysnmp.proto import rfc1902

from services.common.dhcp.ha import HaState
from services.common.figures import Figures, TimeFigures
from services.common.monitoring import ENTERPRISE_ARC, MonitoringSettings

OID = tuple[int, ...]

SYSTEM = (1, 3, 6, 1, 2, 1, 1)
INTERFACES = (1, 3, 6, 1, 2, 1, 2)
IF_X_ENTRY = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)
BURROW = ENTERPRISE_ARC
OBJECTS = (*BURROW, 1)
PROGRAM_ENTRY = (*OBJECTS, 1, 1, 1)
DNS = (*OBJECTS, 2)
POOL_ENTRY = (*OBJECTS, 3, 1, 1)
POOL_THRESHOLD = (*OBJECTS, 3, 2, 0)
HA = (*OBJECTS, 3, 3)
BACKUP = (*OBJECTS, 4)
CERT_ENTRY = (*OBJECTS, 5, 1, 1)
TIME = (*OBJECTS, 6)
NOTIFICATIONS = (*BURROW, 0)
#: sysObjectID: what kind of box this is (burrowMIB itself names the Burrow appliance).
SYS_OBJECT_ID = BURROW
#: sysServices: applications (layer 7, 64) and end-to-end (layer 4, 8): RFC 3418.
SYS_SERVICES = 72

U32 = 2**32


def truth(value: bool) -> rfc1902.Integer32:
    """SNMPv2-TC TruthValue: true(1), false(2)."""
    return rfc1902.Integer32(1 if value else 2)


def text(value: str | None) -> rfc1902.OctetString:
    return rfc1902.OctetString((value or "").encode()[:255])


def gauge(value: int) -> rfc1902.Gauge32:
    return rfc1902.Gauge32(max(0, min(int(value), U32 - 1)))


def counter32(value: int) -> rfc1902.Counter32:
    return rfc1902.Counter32(int(value) % U32)


def counter64(value: int) -> rfc1902.Counter64:
    return rfc1902.Counter64(int(value) % 2**64)


def integer(value: int) -> rfc1902.Integer32:
    return rfc1902.Integer32(max(-(2**31), min(int(value), 2**31 - 1)))


def _if_type(name: str) -> int:
    """IANAifType: softwareLoopback(24), bridge(209), ethernetCsmacd(6)."""
    if name == "lo":
        return 24
    if name.startswith("br"):
        return 209
    return 6


@dataclass
class MibView:
    """One consistent set of instances, sorted by OID."""

    values: dict[OID, Any] = field(default_factory=dict)
    order: list[OID] = field(default_factory=list)

    def get(self, oid: OID) -> Any:
        """The value at ``oid``, None when there is none."""
        return self.values.get(oid)

    def after(self, oid: OID) -> Iterator[tuple[OID, Any]]:
        """The instances after ``oid``, in order."""
        start = bisect.bisect_right(self.order, oid)
        for name in self.order[start:]:
            yield name, self.values[name]

    @classmethod
    def build(
        cls, figures: Figures, settings: MonitoringSettings, uptime_ticks: int, descr: str = ""
    ) -> MibView:
        values: dict[OID, Any] = {}
        system(values, figures, settings, uptime_ticks, descr)
        interfaces(values, figures)
        burrow(values, figures, settings)
        return cls(values=values, order=sorted(values))


def description() -> str:
    return f"Burrow DNS/DHCP appliance (Linux {platform.release()} {platform.machine()})"


def system(
    values: dict[OID, Any],
    figures: Figures,
    settings: MonitoringSettings,
    uptime_ticks: int,
    descr: str,
) -> None:
    values[(*SYSTEM, 1, 0)] = text(descr or description())
    values[(*SYSTEM, 2, 0)] = rfc1902.ObjectIdentifier(SYS_OBJECT_ID)
    values[(*SYSTEM, 3, 0)] = rfc1902.TimeTicks(uptime_ticks % U32)
    values[(*SYSTEM, 4, 0)] = text(settings.contact)
    values[(*SYSTEM, 5, 0)] = text(figures.hostname)
    values[(*SYSTEM, 6, 0)] = text(settings.location)
    values[(*SYSTEM, 7, 0)] = rfc1902.Integer32(SYS_SERVICES)


def interfaces(values: dict[OID, Any], figures: Figures) -> None:
    values[(*INTERFACES, 1, 0)] = rfc1902.Integer32(len(figures.interfaces))
    entry = (*INTERFACES, 2, 1)
    for i in figures.interfaces:
        x = i.index
        mac = bytes.fromhex(i.mac.replace(":", "")) if i.mac else b""
        speed = i.speed_mbps * 1_000_000
        columns: dict[int, Any] = {
            1: rfc1902.Integer32(x),
            2: text(i.name),
            3: rfc1902.Integer32(_if_type(i.name)),
            4: rfc1902.Integer32(i.mtu),
            5: gauge(speed),
            6: rfc1902.OctetString(mac),
            7: rfc1902.Integer32(1 if i.admin_up else 2),
            8: rfc1902.Integer32(1 if i.oper_up else 2),
            9: rfc1902.TimeTicks(0),
            10: counter32(i.in_octets),
            11: counter32(i.in_packets),
            13: counter32(i.in_drops),
            14: counter32(i.in_errors),
            16: counter32(i.out_octets),
            17: counter32(i.out_packets),
            19: counter32(i.out_drops),
            20: counter32(i.out_errors),
        }
        for column, value in columns.items():
            values[(*entry, column, x)] = value
        values[(*IF_X_ENTRY, 1, x)] = text(i.name)
        values[(*IF_X_ENTRY, 6, x)] = counter64(i.in_octets)
        values[(*IF_X_ENTRY, 10, x)] = counter64(i.out_octets)
        values[(*IF_X_ENTRY, 15, x)] = gauge(i.speed_mbps)


def burrow(values: dict[OID, Any], figures: Figures, settings: MonitoringSettings) -> None:
    for x, p in enumerate(figures.programs, start=1):
        values[(*PROGRAM_ENTRY, 2, x)] = text(p.name)
        values[(*PROGRAM_ENTRY, 3, x)] = rfc1902.Integer32(p.state_code)
        values[(*PROGRAM_ENTRY, 4, x)] = counter32(p.restarts)
        values[(*PROGRAM_ENTRY, 5, x)] = integer(p.pid)
        values[(*PROGRAM_ENTRY, 6, x)] = gauge(p.uptime_seconds)
    d = figures.dns
    values[(*DNS, 1, 0)] = truth(d.available)
    for n, number in enumerate(
        (d.queries, d.success, d.failures, d.servfail, d.nxdomain, d.refused), start=2
    ):
        values[(*DNS, n, 0)] = counter64(number)
    for pool in figures.pools:
        index = (pool.family, pool.subnet_id)
        values[(*POOL_ENTRY, 3, *index)] = text(pool.subnet)
        values[(*POOL_ENTRY, 4, *index)] = gauge(pool.total)
        values[(*POOL_ENTRY, 5, *index)] = gauge(pool.assigned)
        values[(*POOL_ENTRY, 6, *index)] = gauge(pool.declined)
        values[(*POOL_ENTRY, 7, *index)] = gauge(pool.utilisation_percent)
    values[POOL_THRESHOLD] = gauge(settings.thresholds.pool_utilisation_percent)
    high_availability(values, figures.ha)
    b = figures.backup
    values[(*BACKUP, 1, 0)] = truth(b.paired)
    values[(*BACKUP, 2, 0)] = text(b.state)
    values[(*BACKUP, 3, 0)] = text(b.last_stored_at)
    values[(*BACKUP, 4, 0)] = integer(-1 if b.age_seconds is None else b.age_seconds)
    values[(*BACKUP, 5, 0)] = gauge(b.changes_not_at_peer)
    values[(*BACKUP, 6, 0)] = gauge(b.outbox)
    values[(*BACKUP, 7, 0)] = text(b.last_error)
    for x, c in enumerate(figures.certificates, start=1):
        values[(*CERT_ENTRY, 2, x)] = text(c.name)
        values[(*CERT_ENTRY, 3, x)] = text(c.not_after)
        values[(*CERT_ENTRY, 4, x)] = integer(c.days_left)
    clock(values, figures.time)


def high_availability(values: dict[OID, Any], h: HaState) -> None:
    values[(*HA, 1, 0)] = truth(h.configured)
    values[(*HA, 2, 0)] = text(h.mode)
    values[(*HA, 3, 0)] = text(h.local_role)
    values[(*HA, 4, 0)] = text(h.state)
    values[(*HA, 5, 0)] = text(h.partner_role)
    values[(*HA, 6, 0)] = text(h.partner_state)
    values[(*HA, 7, 0)] = truth(bool(h.in_touch))
    values[(*HA, 8, 0)] = integer(-1 if h.age_seconds is None else h.age_seconds)
    values[(*HA, 9, 0)] = truth(bool(h.communication_interrupted))
    values[(*HA, 10, 0)] = gauge(h.unacked_clients or 0)
    values[(*HA, 11, 0)] = gauge(h.unsent_updates or 0)


def clock(values: dict[OID, Any], t: TimeFigures) -> None:
    values[(*TIME, 1, 0)] = truth(t.configured)
    values[(*TIME, 2, 0)] = truth(t.synchronised)
    values[(*TIME, 3, 0)] = integer(round(t.offset_seconds * 1_000_000))
    values[(*TIME, 4, 0)] = gauge(t.sources)
    values[(*TIME, 5, 0)] = text(t.reference)
