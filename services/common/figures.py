"""The figures an appliance is watched by: one model for SNMP (BURROW-MIB) and Prometheus.

The ``monitor`` program collects them every few seconds (services.monitor.collect), serves
them over SNMP and writes them to ``run/burrow/figures.json``; Central's ``/metrics`` renders
that file with ``prometheus_text``, so both show the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, Field

from services.common.dhcp.ha import HaState

#: supervisord's process states and their codes (supervisor manual, "Process States"); the
#: MIB's BurrowProgramState uses the same numbers.
PROGRAM_STATES = {
    "STOPPED": 0,
    "STARTING": 10,
    "RUNNING": 20,
    "BACKOFF": 30,
    "STOPPING": 40,
    "EXITED": 100,
    "FATAL": 200,
    "UNKNOWN": 1000,
}


class ProgramFigure(BaseModel):
    """One supervisord program."""

    name: str
    state: str = Field(description="supervisord's state name: RUNNING, FATAL, ...")
    pid: int = 0
    restarts: int = Field(default=0, description="unexpected exits recorded so far")
    uptime_seconds: int = 0

    @property
    def state_code(self) -> int:
        return PROGRAM_STATES.get(self.state, 1000)


class DnsFigures(BaseModel):
    """named's server counters (statistics channel, ``nsstats``)."""

    available: bool = False
    queries: int = Field(default=0, description="Requestv4 + Requestv6")
    success: int = 0
    failures: int = Field(default=0, description="QryFailure: queries that failed")
    servfail: int = 0
    nxdomain: int = 0
    refused: int = Field(default=0, description="queries answered REFUSED (QryRejected)")


class PoolFigure(BaseModel):
    """One DHCP scope's addresses (Kea ``stat-lease4-get`` / ``stat-lease6-get``)."""

    family: int = Field(description="4 or 6")
    subnet_id: int
    subnet: str = ""
    total: int = 0
    assigned: int = 0
    declined: int = 0

    @property
    def utilisation_percent(self) -> int:
        return (100 * self.assigned) // self.total if self.total else 0


class BackupFigures(BaseModel):
    """The backup to the peer (``backup-status.json``)."""

    paired: bool = False
    state: str = "unknown"
    last_stored_at: str | None = Field(default=None, description="when the peer last stored one")
    age_seconds: int | None = Field(default=None, description="seconds since last_stored_at")
    changes_not_at_peer: int = 0
    outbox: int = 0
    last_error: str | None = None


class CertificateFigure(BaseModel):
    """One certificate of the appliance's PKI."""

    name: str
    not_after: str
    days_left: int


class InterfaceFigure(BaseModel):
    """One network interface (MIB-II ifTable)."""

    index: int
    name: str
    mtu: int = 0
    mac: str = ""
    speed_mbps: int = 0
    admin_up: bool = False
    oper_up: bool = False
    in_octets: int = 0
    in_packets: int = 0
    in_errors: int = 0
    in_drops: int = 0
    out_octets: int = 0
    out_packets: int = 0
    out_errors: int = 0
    out_drops: int = 0


class TimeFigures(BaseModel):
    """The clock (chrony); ``configured`` is False until NTP servers are set."""

    configured: bool = False
    synchronised: bool = False
    offset_seconds: float = 0.0
    sources: int = 0
    reference: str = ""


class Figures(BaseModel):
    """Everything the monitor program collected at ``collected_at`` (UNIX time)."""

    collected_at: float = 0.0
    hostname: str = ""
    programs: list[ProgramFigure] = []
    dns: DnsFigures = DnsFigures()
    pools: list[PoolFigure] = []
    backup: BackupFigures = BackupFigures()
    certificates: list[CertificateFigure] = []
    interfaces: list[InterfaceFigure] = []
    time: TimeFigures = TimeFigures()
    ha: HaState = HaState()


# --- Prometheus text exposition format (version 0.0.4) ---------------------------------------
def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _metric(
    out: list[str],
    name: str,
    kind: str,
    help_text: str,
    samples: Iterable[tuple[dict[str, str], float | int]],
) -> None:
    out.append(f"# HELP {name} {help_text}")
    out.append(f"# TYPE {name} {kind}")
    for labels, value in samples:
        text = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
        out.append(f"{name}{{{text}}} {value}" if text else f"{name} {value}")


def prometheus_text(figures: Figures) -> str:
    """The figures as Prometheus metrics, named as BURROW-MIB's objects are."""
    out: list[str] = []
    progs = figures.programs
    _metric(out, "burrow_program_state", "gauge",
            "supervisord state code (20 RUNNING, 200 FATAL; BURROW-MIB BurrowProgramState)",
            (({"program": p.name}, p.state_code) for p in progs))  # fmt: skip
    _metric(out, "burrow_program_up", "gauge", "1 when the program is RUNNING",
            (({"program": p.name}, int(p.state == "RUNNING")) for p in progs))  # fmt: skip
    _metric(out, "burrow_program_restarts_total", "counter", "unexpected exits of the program",
            (({"program": p.name}, p.restarts) for p in progs))  # fmt: skip
    dns = figures.dns
    _metric(out, "burrow_dns_up", "gauge", "1 when named's statistics channel answered",
            [({}, int(dns.available))])  # fmt: skip
    for field, help_text in (
        ("queries", "queries received (IPv4 and IPv6)"),
        ("success", "queries answered successfully"),
        ("failures", "queries that failed"),
        ("servfail", "queries answered SERVFAIL"),
        ("nxdomain", "queries answered NXDOMAIN"),
        ("refused", "queries refused"),
    ):
        _metric(out, f"burrow_dns_{field}_total", "counter", help_text,
                [({}, getattr(dns, field))])  # fmt: skip
    for field, help_text in (
        ("total", "addresses in the scope's pools"),
        ("assigned", "addresses leased"),
        ("declined", "addresses declined by clients"),
    ):
        _metric(out, f"burrow_dhcp_pool_{field}", "gauge", help_text,
                ((_pool_labels(p), getattr(p, field)) for p in figures.pools))  # fmt: skip
    _metric(out, "burrow_dhcp_pool_utilisation_percent", "gauge", "assigned / total, percent",
            ((_pool_labels(p), p.utilisation_percent) for p in figures.pools))  # fmt: skip
    ha = figures.ha
    _metric(out, "burrow_dhcp_ha_configured", "gauge",
            "1 when the DHCPv4 server is a partner of a Kea HA pair",
            [({}, int(ha.configured))])  # fmt: skip
    if ha.configured:
        _metric(out, "burrow_dhcp_ha_state", "gauge", "1 for this server's HA state and role",
                [({"state": ha.state or "", "role": ha.local_role or "",
                   "partner_state": ha.partner_state or ""}, 1)])  # fmt: skip
        _metric(out, "burrow_dhcp_ha_unsent_updates", "gauge",
                "lease updates not sent to the partner yet",
                [({}, ha.unsent_updates or 0)])  # fmt: skip
    backup = figures.backup
    _metric(out, "burrow_backup_paired", "gauge", "1 when a backup peer is paired",
            [({}, int(backup.paired))])  # fmt: skip
    if backup.age_seconds is not None:
        _metric(out, "burrow_backup_age_seconds", "gauge",
                "seconds since the peer last stored a backup",
                [({}, backup.age_seconds)])  # fmt: skip
    _metric(out, "burrow_backup_changes_not_at_peer", "gauge",
            "Central's changes not yet stored at the peer",
            [({}, backup.changes_not_at_peer)])  # fmt: skip
    _metric(out, "burrow_backup_outbox", "gauge", "snapshots waiting to be sent",
            [({}, backup.outbox)])  # fmt: skip
    _metric(out, "burrow_certificate_days_left", "gauge", "days until the certificate expires",
            (({"certificate": c.name}, c.days_left) for c in figures.certificates))  # fmt: skip
    clock = figures.time
    _metric(out, "burrow_ntp_synchronised", "gauge", "1 when chrony is synchronised",
            [({}, int(clock.synchronised))])  # fmt: skip
    _metric(out, "burrow_ntp_offset_seconds", "gauge", "chrony's offset from its reference",
            [({}, clock.offset_seconds)])  # fmt: skip
    _metric(out, "burrow_ntp_sources", "gauge", "NTP sources chrony knows",
            [({}, clock.sources)])  # fmt: skip
    _metric(out, "burrow_figures_collected_timestamp_seconds", "gauge",
            "when the monitor program collected these figures",
            [({}, figures.collected_at)])  # fmt: skip
    return "\n".join(out) + "\n"


def _pool_labels(pool: PoolFigure) -> dict[str, str]:
    return {"family": f"ipv{pool.family}", "subnet_id": str(pool.subnet_id), "subnet": pool.subnet}
