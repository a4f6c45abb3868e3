"""Notifications: SNMPv2c traps and SNMPv3 informs to the configured receivers.

Sent for (BURROW-MIB, burrowNotifications):

- ``burrowProgramFailed``: a program exited unexpectedly or went FATAL. Taken from the
  supervisord's crash records (``service-events.jsonl``) that appeared since the last look; the
  state sent is ``exited(100)`` for a crash (supervisord restarts it at once) or ``fatal(200)``.
- ``burrowPoolThresholdPassed``: a scope's utilisation rose to the threshold or above;
- ``burrowBackupOverdue``: the peer has stored no backup for longer than the set hours;
- ``burrowPeerUnreachable``: the producer's last sending failed;
- ``burrowCertificateExpiring``: a certificate expires within the set days;
- ``burrowHaDegraded``: kea-dhcp4, a Kea HA partner, serves alone or not at all
  (``partner-down``, ``terminated``, a maintenance state) or has lost the link to its partner.

The conditions are level-triggered: one notification when a condition starts to hold, another
only after it has stopped holding and starts again (and once after the monitor program starts,
for what holds then). Each condition is also written to ``service-events.jsonl``, the event
list Central serves at ``/api/v1/service-events`` and the console shows on its dashboard
(crashes are there already: supervisord wrote them).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import logging
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from services.common.figures import Figures
from services.common.monitoring import MonitoringSettings, Receiver
from services.common.paths import StateRoot
from services.monitor import mib
from services.monitor.agent import auth_protocol, priv_protocol

if TYPE_CHECKING:
    from services.monitor.agent import SnmpAgent

log = logging.getLogger(__name__)

PROGRAM_FAILED = (*mib.NOTIFICATIONS, 1)
POOL_THRESHOLD = (*mib.NOTIFICATIONS, 2)
BACKUP_OVERDUE = (*mib.NOTIFICATIONS, 3)
PEER_UNREACHABLE = (*mib.NOTIFICATIONS, 4)
CERT_EXPIRING = (*mib.NOTIFICATIONS, 5)
HA_DEGRADED = (*mib.NOTIFICATIONS, 6)
#: Kea HA states in which the pair no longer stands as two (Kea ARM, HA "Server States").
HA_ALONE = frozenset({"partner-down", "terminated", "in-maintenance", "partner-in-maintenance"})
#: What the service-event records of the conditions are called (kind).
KINDS: dict[tuple[int, ...], str] = {
    POOL_THRESHOLD: "pool-threshold",
    BACKUP_OVERDUE: "backup-overdue",
    PEER_UNREACHABLE: "peer-unreachable",
    CERT_EXPIRING: "certificate-expiring",
    HA_DEGRADED: "ha-degraded",
}
SEND_TIMEOUT = 2.0


@dataclass
class Alert:
    """One notification to send."""

    trap: tuple[int, ...]
    subject: str
    message: str
    var_binds: list[tuple[tuple[int, ...], Any]] = field(default_factory=list)


def conditions(figures: Figures, settings: MonitoringSettings) -> dict[tuple[str, str], Alert]:
    """Every alert condition that holds now, by (kind, subject)."""
    limits = settings.thresholds
    found: dict[tuple[str, str], Alert] = {}
    for pool in figures.pools:
        if pool.total and pool.utilisation_percent >= limits.pool_utilisation_percent:
            index = (pool.family, pool.subnet_id)
            subject = pool.subnet or f"ipv{pool.family} subnet {pool.subnet_id}"
            found[(KINDS[POOL_THRESHOLD], subject)] = Alert(
                POOL_THRESHOLD,
                subject,
                f"{subject}: {pool.assigned} of {pool.total} addresses leased "
                f"({pool.utilisation_percent}% >= {limits.pool_utilisation_percent}%)",
                [
                    ((*mib.POOL_ENTRY, 3, *index), mib.text(pool.subnet)),
                    ((*mib.POOL_ENTRY, 5, *index), mib.gauge(pool.assigned)),
                    ((*mib.POOL_ENTRY, 4, *index), mib.gauge(pool.total)),
                    ((*mib.POOL_ENTRY, 7, *index), mib.gauge(pool.utilisation_percent)),
                ],
            )
    backup = figures.backup
    if backup.paired:
        age = backup.age_seconds
        if age is not None and age > limits.backup_overdue_hours * 3600:
            found[(KINDS[BACKUP_OVERDUE], "backup")] = Alert(
                BACKUP_OVERDUE,
                "backup",
                f"no backup stored at the peer since {backup.last_stored_at} "
                f"(more than {limits.backup_overdue_hours} h)",
                [
                    ((*mib.BACKUP, 3, 0), mib.text(backup.last_stored_at)),
                    ((*mib.BACKUP, 4, 0), mib.integer(age)),
                ],
            )
        if backup.last_error:
            found[(KINDS[PEER_UNREACHABLE], "peer")] = Alert(
                PEER_UNREACHABLE,
                "peer",
                f"backups cannot be sent to the peer: {backup.last_error}",
                [
                    ((*mib.BACKUP, 7, 0), mib.text(backup.last_error)),
                    ((*mib.BACKUP, 6, 0), mib.gauge(backup.outbox)),
                ],
            )
    for x, cert in enumerate(figures.certificates, start=1):
        if cert.days_left <= limits.certificate_days:
            found[(KINDS[CERT_EXPIRING], cert.name)] = Alert(
                CERT_EXPIRING,
                cert.name,
                f"certificate {cert.name} expires on {cert.not_after} ({cert.days_left} days left)",
                [
                    ((*mib.CERT_ENTRY, 2, x), mib.text(cert.name)),
                    ((*mib.CERT_ENTRY, 3, x), mib.text(cert.not_after)),
                    ((*mib.CERT_ENTRY, 4, x), mib.integer(cert.days_left)),
                ],
            )
    ha = figures.ha
    if ha.configured and (ha.state in HA_ALONE or ha.communication_interrupted):
        link = ", link to the partner interrupted" if ha.communication_interrupted else ""
        found[(KINDS[HA_DEGRADED], "dhcp4")] = Alert(
            HA_DEGRADED,
            "dhcp4",
            f"dhcp4 high availability: state {ha.state}, partner {ha.partner_state or 'unheard'}"
            f"{link}",
            [
                ((*mib.HA, 4, 0), mib.text(ha.state)),
                ((*mib.HA, 6, 0), mib.text(ha.partner_state)),
                ((*mib.HA, 9, 0), mib.truth(bool(ha.communication_interrupted))),
            ],
        )
    return found


class Notifier:
    """Finds what to notify after each collection and sends it to every receiver."""

    def __init__(self, root: StateRoot) -> None:
        self.root = root
        self.active: set[tuple[str, str]] = set()
        try:
            # Crashes recorded before this start were notified (or not) by the previous run.
            self.events_offset = root.service_events.stat().st_size
        except OSError:
            self.events_offset = 0
        self.engine: Any = None  # pysnmp's SnmpEngine, made at the first notification sent
        self.sent = 0

    # --- what happened -----------------------------------------------------------------------
    def program_failures(self, figures: Figures) -> list[Alert]:
        try:
            with self.root.service_events.open("rb") as fh:
                fh.seek(self.events_offset)
                data = fh.read()
        except OSError:
            return []
        complete = data.rfind(b"\n") + 1  # a line still being written is read next time
        self.events_offset += complete
        rows = {p.name: x for x, p in enumerate(figures.programs, start=1)}
        alerts = []
        for line in data[:complete].splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if not isinstance(record, dict) or record.get("kind") not in ("crash", "fatal"):
                continue
            program = str(record.get("program", "?"))
            x = rows.get(program, 0)
            state = 200 if record["kind"] == "fatal" else 100
            how = "went FATAL" if record["kind"] == "fatal" else "crashed"
            alerts.append(
                Alert(
                    PROGRAM_FAILED,
                    program,
                    f"{program} {how}: {record.get('exit', 'unknown')}",
                    [
                        ((*mib.PROGRAM_ENTRY, 2, x), mib.text(program)),
                        ((*mib.PROGRAM_ENTRY, 3, x), mib.integer(state)),
                        ((*mib.PROGRAM_ENTRY, 4, x), mib.counter32(int(record.get("restarts", 0)))),
                    ],
                )
            )
        return alerts

    def new_conditions(self, figures: Figures, settings: MonitoringSettings) -> list[Alert]:
        now = conditions(figures, settings)
        started = [alert for key, alert in now.items() if key not in self.active]
        self.active = set(now)
        return started

    def record(self, alert: Alert) -> None:
        """Write a condition to the service-event list (one appended line, as the
        supervisord writes its crash records)."""
        event = {
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "program": "monitor",
            "kind": KINDS[alert.trap],
            "pid": 0,
            "exit": alert.message,
            "restarts": 0,
            "subject": alert.subject,
            "message": alert.message,
        }
        fd = os.open(self.root.service_events, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (json.dumps(event, sort_keys=True) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    # --- sending -----------------------------------------------------------------------------
    async def send(self, alert: Alert, settings: MonitoringSettings) -> None:
        if not settings.receivers:
            return
        # pysnmp's notification side is loaded only when there is someone to notify.
        from pysnmp.hlapi.v3arch.asyncio import NotificationType, ObjectIdentity, SnmpEngine

        if self.engine is None:
            self.engine = SnmpEngine()
        users = {u.name: u for u in settings.users}
        notification = NotificationType(ObjectIdentity(alert.trap)).add_varbinds(*alert.var_binds)
        results = await asyncio.gather(
            *(self._send_one(r, users, notification) for r in settings.receivers),
            return_exceptions=True,
        )
        for receiver, result in zip(settings.receivers, results, strict=True):
            where = f"{receiver.address} port {receiver.port}"
            if isinstance(result, BaseException) or result:
                log.warning("notification %s to %s failed: %s", alert.subject, where, result)
            else:
                self.sent += 1
                log.info("notified %s: %s", where, alert.message)

    async def _send_one(self, receiver: Receiver, users: dict[str, Any], notification: Any) -> Any:
        from pysnmp.hlapi.v3arch.asyncio import (
            CommunityData,
            ContextData,
            Udp6TransportTarget,
            UdpTransportTarget,
            UsmUserData,
            send_notification,
        )

        assert self.engine is not None
        address = (str(receiver.address), receiver.port)
        if isinstance(receiver.address, ipaddress.IPv6Address):
            target: Any = await Udp6TransportTarget.create(address, timeout=SEND_TIMEOUT, retries=1)
        else:
            target = await UdpTransportTarget.create(address, timeout=SEND_TIMEOUT, retries=1)
        if receiver.community is not None:
            # v2c because the issue asks for it; v3 informs are the secure choice.
            auth: Any = CommunityData(receiver.community, mpModel=1)  # noqa: S508
            kind = "trap"
        else:
            user = users[str(receiver.user)]
            auth = UsmUserData(
                user.name,
                user.auth_passphrase,
                user.priv_passphrase,
                authProtocol=auth_protocol(user.auth_protocol),
                privProtocol=priv_protocol(user.priv_protocol),
            )
            kind = "inform"
        error, status, _index, _binds = await send_notification(
            self.engine, auth, target, ContextData(), kind, notification
        )
        return error or (status if status else None)

    # --- the hook ----------------------------------------------------------------------------
    async def __call__(
        self, figures: Figures, settings: MonitoringSettings, _agent: SnmpAgent
    ) -> None:
        for alert in self.program_failures(figures):
            await self.send(alert, settings)
        for alert in self.new_conditions(figures, settings):
            self.record(alert)
            await self.send(alert, settings)
