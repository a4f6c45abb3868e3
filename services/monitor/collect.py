"""Collects the figures (services.common.figures) from where each one lives.

- programs: supervisord's XML-RPC (state, pid, start) and supervisord's crash records (restarts);
- DNS: named's statistics channel, ``http://127.0.0.1:8053/json/v1/server`` (``nsstats``;
  counters still at zero are missing from it, so every one defaults to 0);
- DHCP: Kea's stat_cmds hook, ``stat-lease4-get`` / ``stat-lease6-get`` on each daemon's own
  control socket (Kea manual 16.17), the subnets' prefixes from the saved configuration;
  high availability: ``status-get`` and, when the HA hook runs, ``ha-heartbeat`` on kea-dhcp4's
  socket (services.common.dhcp.ha.HaState);
- backup: ``backup-status.json`` written by the appliance-agent's producer;
- certificates: the PEM files of ``var/lib/burrow/pki``;
- interfaces: ``/sys/class/net`` of the appliance's network namespace.

On a caching appliance (profile ``caching``) there is no named and no Kea: the DNS figures are
Unbound's counters (``unbound-control stats_noreset``, which leaves them as they are), and no
pool nor HA figure is asked.

Every source may be down: its figures then stay at their defaults and the rest is collected.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from cryptography import x509

from services.common import ntp
from services.common import profile as profiles
from services.common.backup.files import peer_file, status_file
from services.common.crash_records import restart_counts
from services.common.dhcp.ha import HaState
from services.common.figures import (
    BackupFigures,
    CertificateFigure,
    DnsFigures,
    Figures,
    InterfaceFigure,
    PoolFigure,
    ProgramFigure,
    TimeFigures,
)
from services.common.paths import StateRoot
from services.common.proc import CommandError, run
from services.common.supervisor import SupervisorView

log = logging.getLogger(__name__)

NAMED_STATS = "http://127.0.0.1:8053/json/v1/server"
#: Kea logs every command it receives at INFO: asked every collection (5 s) that would be
#: tens of thousands of lines a day in its log. Pool figures are refreshed this often instead.
POOL_SECONDS = 30.0
#: The HA state is asked this often: a failover shows within seconds, in few log lines.
HA_SECONDS = 10.0
SYS_NET = Path("/sys/class/net")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def unbound_stats(text: str) -> dict[str, float]:
    """``unbound-control stats`` output (``name=value`` lines) as numbers by name."""
    stats: dict[str, float] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if not sep:
            continue
        try:
            stats[key.strip()] = float(value)
        except ValueError:
            continue
    return stats


class Collector:
    """Collects one appliance's figures; ``collect()`` never raises for a source that is down."""

    def __init__(self, root: StateRoot, *, sys_net: Path = SYS_NET) -> None:
        self.root = root
        self.sys_net = sys_net
        self.supervisor = SupervisorView(root.supervisor_socket, timeout=2.0)
        self._subnets: dict[tuple[int, float], dict[int, str]] = {}
        self._pools: tuple[float, list[PoolFigure]] | None = None
        self._ha: tuple[float, HaState] | None = None
        try:
            self.caching = profiles.load(root) == "caching"
        except Exception as exc:  # launch refuses an unknown profile; collect what exists
            log.warning("profile: %s", exc)
            self.caching = False

    def collect(self) -> Figures:
        # The settings file as it is (launch validated it): the model would load the whole
        # network module into this small program for one string.
        settings = _read_json(self.root.appliance_settings) or {}
        hostname = str(settings.get("hostname", "burrow"))
        figures = Figures(collected_at=time.time(), hostname=hostname)
        steps = [
            ("programs", self.programs),
            ("dns", self.unbound_dns if self.caching else self.dns),
            ("pools", self.pools),
            ("ha", self.ha),
            ("backup", self.backup),
            ("certificates", self.certificates),
            ("interfaces", self.interfaces),
            ("time", self.clock),
        ]
        if self.caching:  # no Kea: no pools, no HA
            steps = [(name, step) for name, step in steps if name not in ("pools", "ha")]
        for name, step in steps:
            try:
                setattr(figures, name, step())
            except Exception as exc:  # one source down must not hide the others
                log.debug("could not collect %s: %s", name, exc)
        return figures

    # --- programs ----------------------------------------------------------------------------
    def restarts(self) -> dict[str, int]:
        return restart_counts(self.root)

    def programs(self) -> list[ProgramFigure]:
        restarts = self.restarts()
        out = []
        for info in sorted(self.supervisor.processes(), key=lambda p: str(p["name"])):
            name = str(info["name"])
            running = info["statename"] == "RUNNING"
            out.append(
                ProgramFigure(
                    name=name,
                    state=str(info["statename"]),
                    pid=int(info.get("pid") or 0),
                    restarts=restarts.get(name, 0),
                    uptime_seconds=max(0, int(info["now"]) - int(info["start"])) if running else 0,
                )
            )
        return out

    # --- DNS ---------------------------------------------------------------------------------
    def dns(self) -> DnsFigures:
        try:
            with urllib.request.urlopen(NAMED_STATS, timeout=2) as answer:
                stats = json.loads(answer.read())
        except (OSError, ValueError):
            return DnsFigures(available=False)
        ns: dict[str, int] = stats.get("nsstats") or {}
        return DnsFigures(
            available=True,
            queries=int(ns.get("Requestv4", 0)) + int(ns.get("Requestv6", 0)),
            success=int(ns.get("QrySuccess", 0)),
            failures=int(ns.get("QryFailure", 0)),
            servfail=int(ns.get("QrySERVFAIL", 0)),
            nxdomain=int(ns.get("QryNXDOMAIN", 0)),
            refused=int(ns.get("QryRejected", 0)),
        )

    def unbound_dns(self) -> DnsFigures:
        """Unbound's counters since its start (unbound.conf: ``statistics-cumulative: no`` and
        ``stats_noreset``, so asking does not reset them; ``extended-statistics`` gives the
        answers by rcode)."""
        try:
            out = run(
                ["unbound-control", "-c", str(self.root.unbound_conf), "stats_noreset"],
                timeout=3,
            ).stdout
        except (CommandError, OSError, subprocess.TimeoutExpired):
            return DnsFigures(available=False)
        stats = unbound_stats(out)

        def count(key: str) -> int:
            return int(stats.get(key, 0))

        servfail = count("num.answer.rcode.SERVFAIL")
        return DnsFigures(
            available=True,
            queries=count("total.num.queries"),
            success=count("num.answer.rcode.NOERROR"),
            failures=servfail + count("num.answer.rcode.FORMERR")
            + count("num.answer.rcode.NOTIMPL"),
            servfail=servfail,
            nxdomain=count("num.answer.rcode.NXDOMAIN"),
            refused=count("num.answer.rcode.REFUSED"),
        )  # fmt: skip

    # --- DHCP --------------------------------------------------------------------------------
    def _kea(self, daemon: str, command: str) -> dict[str, Any]:
        """One command on ``daemon``'s control socket; the socket closes after the answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(3)
            sock.connect(str(self.root.kea_socket(daemon)))
            sock.sendall(json.dumps({"command": command}).encode())
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                try:
                    answer = json.loads(b"".join(chunks))
                except ValueError:
                    continue
                if isinstance(answer, dict):
                    return answer
        answer = json.loads(b"".join(chunks))
        return answer if isinstance(answer, dict) else {}

    def _subnet_names(self, family: int) -> dict[int, str]:
        path = self.root.kea_conf(f"dhcp{family}")
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return {}
        cached = self._subnets.get((family, mtime))
        if cached is not None:
            return cached
        config = _read_json(path) or {}
        top = config.get(f"Dhcp{family}", {})
        names = {int(s["id"]): str(s.get("subnet", "")) for s in top.get(f"subnet{family}", [])
                 if "id" in s}  # fmt: skip
        for network in top.get("shared-networks", []):
            for s in network.get(f"subnet{family}", []):
                if "id" in s:
                    names[int(s["id"])] = str(s.get("subnet", ""))
        self._subnets = {k: v for k, v in self._subnets.items() if k[0] != family}
        self._subnets[(family, mtime)] = names
        return names

    def pools(self) -> list[PoolFigure]:
        """The scopes' figures, asked of Kea at most every ``POOL_SECONDS``."""
        now = time.monotonic()
        if self._pools is not None and now - self._pools[0] < POOL_SECONDS:
            return self._pools[1]
        found = self.ask_pools()
        self._pools = (now, found)
        return found

    def ask_pools(self) -> list[PoolFigure]:
        out: list[PoolFigure] = []
        for family in (4, 6):
            try:
                answer = self._kea(f"dhcp{family}", f"stat-lease{family}-get")
            except (OSError, ValueError) as exc:
                log.debug("kea-dhcp%d: %s", family, exc)
                continue
            if answer.get("result") not in (0, 3):
                continue
            result_set = (answer.get("arguments") or {}).get("result-set") or {}
            columns = result_set.get("columns", [])
            names = self._subnet_names(family)
            for row in result_set.get("rows", []):
                values: dict[str, int] = dict(zip(columns, row, strict=False))
                sid = int(values["subnet-id"])
                out.append(
                    PoolFigure(
                        family=family,
                        subnet_id=sid,
                        subnet=names.get(sid, ""),
                        total=int(values.get("total-addresses", values.get("total-nas", 0))),
                        assigned=int(
                            values.get("assigned-addresses", values.get("assigned-nas", 0))
                        ),
                        declined=int(
                            values.get("declined-addresses", values.get("declined-nas", 0))
                        ),
                    )
                )
        return out

    def ha(self) -> HaState:
        """kea-dhcp4's HA state, asked at most every ``HA_SECONDS``."""
        now = time.monotonic()
        if self._ha is not None and now - self._ha[0] < HA_SECONDS:
            return self._ha[1]
        status = self._kea("dhcp4", "status-get").get("arguments") or {}
        heartbeat: dict[str, Any] = {}
        if status.get("high-availability"):
            answer = self._kea("dhcp4", "ha-heartbeat")
            if answer.get("result") == 0:
                heartbeat = answer.get("arguments") or {}
        found = HaState.from_kea(status, heartbeat)
        self._ha = (now, found)
        return found

    # --- backup ------------------------------------------------------------------------------
    def backup(self) -> BackupFigures:
        status = _read_json(status_file(self.root)) or {}
        stored: list[str] = [
            str(entry["sent_at"])
            for entry in (status.get("last_full"), status.get("last_incremental"))
            if isinstance(entry, dict) and entry.get("sent_at")
        ]
        last = max(stored) if stored else None
        age = None
        if last is not None:
            try:
                when = dt.datetime.fromisoformat(str(last))
                if when.tzinfo is None:
                    when = when.replace(tzinfo=dt.UTC)
                age = max(0, int((dt.datetime.now(dt.UTC) - when).total_seconds()))
            except ValueError:
                age = None
        return BackupFigures(
            paired=peer_file(self.root).exists(),
            state=str(status.get("state", "unknown")),
            last_stored_at=last,
            age_seconds=age,
            changes_not_at_peer=int(status.get("changes_not_at_peer") or 0),
            outbox=int(status.get("outbox") or 0),
            last_error=status.get("last_error"),
        )

    # --- certificates ------------------------------------------------------------------------
    def certificates(self) -> list[CertificateFigure]:
        out = []
        now = dt.datetime.now(dt.UTC)
        for path in sorted(self.root.pki.rglob("*.crt")):
            try:
                cert = x509.load_pem_x509_certificate(path.read_bytes())
            except (OSError, ValueError):
                continue
            not_after = cert.not_valid_after_utc
            out.append(
                CertificateFigure(
                    name=str(path.relative_to(self.root.pki).with_suffix("")),
                    not_after=not_after.isoformat(),
                    days_left=(not_after - now).days,
                )
            )
        return out

    # --- time --------------------------------------------------------------------------------
    def clock(self) -> TimeFigures:
        return ntp.state(self.root)

    # --- interfaces --------------------------------------------------------------------------
    def interfaces(self) -> list[InterfaceFigure]:
        out = []
        for entry in sorted(self.sys_net.iterdir()):

            def read(name: str, entry: Path = entry) -> str:
                try:
                    return (entry / name).read_text().strip()
                except OSError:
                    return ""

            def number(name: str, read: Any = read) -> int:
                text = read(name)
                return int(text) if text.lstrip("-").isdigit() else 0

            flags = int(read("flags") or "0", 16)
            out.append(
                InterfaceFigure(
                    index=number("ifindex"),
                    name=entry.name,
                    mtu=number("mtu"),
                    mac=read("address"),
                    speed_mbps=max(0, number("speed")),
                    admin_up=bool(flags & 0x1),
                    oper_up=read("operstate") in ("up", "unknown") and bool(flags & 0x1),
                    in_octets=number("statistics/rx_bytes"),
                    in_packets=number("statistics/rx_packets"),
                    in_errors=number("statistics/rx_errors"),
                    in_drops=number("statistics/rx_dropped"),
                    out_octets=number("statistics/tx_bytes"),
                    out_packets=number("statistics/tx_packets"),
                    out_errors=number("statistics/tx_errors"),
                    out_drops=number("statistics/tx_dropped"),
                )
            )
        return sorted(out, key=lambda i: i.index)
