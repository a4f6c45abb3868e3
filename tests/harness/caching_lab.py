"""A small network for the caching DNS server: Unbound in one namespace, a stock named
serving a small zone in another, and two clients, one inside the networks Unbound allows and
one outside them.

The namespaces are joined to each other only (a bridge in Unbound's namespace), never to this
machine, so the 198.51.100.0/24 inside them clashes with nothing outside. Unbound and named
are children of the test, started and stopped by their pids.
"""

from __future__ import annotations

import ipaddress
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import dns.message
import dns.query
import dns.rdatatype
import dns.update

from services.caching.control import UnboundControl
from services.common.paths import StateRoot
from services.common.proc import run
from services.sandbox import netns
from tests.harness.netns import call_in, plug
from tests.harness.wait import wait_for

NETWORK = ipaddress.IPv4Network("198.51.100.0/24")
UNBOUND = NETWORK[1]
NAMED = NETWORK[53]
#: Allowed by the lab's access rules (198.51.100.0/28 and the named's own address).
ALLOWED = NETWORK[10]
#: Outside the allowed networks.
OUTSIDER = NETWORK[100]
ZONE = "fwd.example."
#: A second zone at named, reached through a forward zone (under test., a zone Unbound
#: answers itself by default).
TEST_ZONE = "lab.test."

ZONE_FILE = """$TTL 300
@   IN SOA ns hostmaster 1 3600 600 86400 300
@   IN NS  ns
ns  IN A   {named}
www IN A   198.51.100.80
txt IN TXT "first"
"""


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    """End a daemon this lab started (``ip netns exec`` execs it: the pid is the daemon's)."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


class CachingLab:
    """``start_named()``, ``start_unbound()``; ``query()`` from a client namespace."""

    def __init__(self, prefix: str) -> None:
        self.server = f"{prefix}ubs"
        self.named_ns = f"{prefix}ubn"
        self.client = f"{prefix}ubc"
        self.outsider = f"{prefix}ubx"
        self.tmp = Path(tempfile.mkdtemp(prefix="bw-caching-"))
        self.root = StateRoot.at(self.tmp / "root")
        self.named: subprocess.Popen[bytes] | None = None
        self.unbound: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> CachingLab:
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _plug(self, ns: str, port: str, address: ipaddress.IPv4Address) -> None:
        plug(self.server, ns, port, address, NETWORK)

    def _build(self) -> None:
        for ns in (self.client, self.outsider, self.named_ns, self.server):
            netns.delete(ns)  # left by an earlier run of this prefix that was killed
        netns.add(self.server)
        run(["ip", "-n", self.server, "link", "add", "br0", "type", "bridge",
             "stp_state", "0", "forward_delay", "0"])  # fmt: skip
        run(["ip", "-n", self.server, "addr", "add", f"{UNBOUND}/{NETWORK.prefixlen}",
             "dev", "br0", "nodad"])  # fmt: skip
        run(["ip", "-n", self.server, "link", "set", "br0", "up"])
        self._plug(self.named_ns, "pnamed", NAMED)
        self._plug(self.client, "pclient", ALLOWED)
        self._plug(self.outsider, "poutside", OUTSIDER)

    # --- the stock named -----------------------------------------------------------------
    def start_named(self) -> None:
        """named as Debian ships it, with a configuration of the lab's own: authoritative for
        ``fwd.example`` and ``lab.test`` only, updates allowed from the lab's network (to
        change a record)."""
        work = self.tmp / "named"
        work.mkdir()
        for zone in (ZONE, TEST_ZONE):
            (work / f"{zone}db").write_text(ZONE_FILE.format(named=NAMED))
        conf = work / "named.conf"
        conf.write_text(
            f'options {{ directory "{work}"; pid-file "{work}/named.pid";\n'
            f"  listen-on {{ {NAMED}; }}; listen-on-v6 {{ none; }};\n"
            "  recursion no; dnssec-validation no; allow-query { any; }; };\n"
            "controls { };\n"
            + "".join(
                f'zone "{zone}" {{ type primary; file "{work}/{zone}db";\n'
                f"  allow-update {{ {NETWORK}; }}; }};\n"
                for zone in (ZONE, TEST_ZONE)
            )
        )
        run(["named-checkconf", str(conf)])
        with (work / "named.log").open("wb") as log:
            self.named = subprocess.Popen(
                ["ip", "netns", "exec", self.named_ns, "named", "-g", "-n", "1", "-c", str(conf)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(
            lambda: self.ask_named(f"ns.{ZONE}", "A").answer,
            timeout=60,
            what="named to answer",
        )

    def ask_named(self, name: str, rtype: str) -> dns.message.Message:
        """A query straight to named, from the allowed client."""
        query = dns.message.make_query(name, dns.rdatatype.from_text(rtype))
        return call_in(self.client, lambda: dns.query.udp(query, str(NAMED), timeout=3))

    def change_at_named(self, name: str, rtype: str, data: str) -> None:
        """Replace ``name``'s ``rtype`` records at named (RFC 2136), from the allowed client."""
        update = dns.update.UpdateMessage(ZONE)
        update.replace(name, 300, rtype, data)
        answer = call_in(self.client, lambda: dns.query.tcp(update, str(NAMED), timeout=5))
        assert answer.rcode() == 0, answer

    # --- Unbound -------------------------------------------------------------------------
    def start_unbound(self) -> None:
        """Unbound on the unbound.conf at the lab's state root (written before by
        ``write_config``), in the foreground in its namespace."""
        with (self.tmp / "unbound.log").open("ab") as log:
            self.unbound = subprocess.Popen(
                ["ip", "netns", "exec", self.server, "unbound", "-d", "-c",
                 str(self.root.unbound_conf)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        UnboundControl(self.root).wait_up(timeout=30)
        wait_for(lambda: self.unbound_answers(), timeout=30, what="Unbound to answer")

    def restart_unbound(self) -> None:
        """Stop Unbound and start it again (as supervisord restarts its program)."""
        _stop(self.unbound)
        self.start_unbound()

    def listening(self) -> set[str]:
        """The addresses Unbound's UDP sockets are bound to in its namespace (``ss``)."""
        assert self.unbound is not None
        out = run(["ss", "-Hulnp"], netns=self.server).stdout
        found = set()
        for line in out.splitlines():
            if f"pid={self.unbound.pid}," in line:
                local = line.split()[3].rsplit(":", 1)[0]  # 198.51.100.1:53, [::1]:53
                found.add(local.removeprefix("[").replace("]", ""))
        return found

    def unbound_answers(self) -> bool:
        """Unbound answers a query on its address (with whatever rcode)."""
        self.query("localhost.", "A")
        return True

    def unbound_log(self) -> str:
        return (self.tmp / "unbound.log").read_text(errors="replace")

    def query(
        self, name: str, rtype: str, *, ns: str | None = None, at: str = str(UNBOUND)
    ) -> dns.message.Message:
        """A query to Unbound at ``at`` from ``ns`` (the allowed client unless given).
        dnspython takes only a reply from the address asked (``dns.query.UnexpectedSource``
        otherwise)."""
        query = dns.message.make_query(name, dns.rdatatype.from_text(rtype))
        return call_in(ns or self.client, lambda: dns.query.udp(query, at, timeout=5))

    def close(self) -> None:
        _stop(self.unbound)
        _stop(self.named)
        for ns in (self.client, self.outsider, self.named_ns, self.server):
            netns.delete(ns)
        shutil.rmtree(self.tmp, ignore_errors=True)
