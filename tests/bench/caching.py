"""Caching benchmark: Unbound answering from its cache, Burrow's configuration against Debian's.

Five network namespaces on one bridge, in a /27 of 198.51.100.0/24 that no link of this
machine reaches (the namespaces talk only to each other)::

    burrow-<p>cq-br: br0 ─┬─ burrow-<p>cq-ns  named, the forwarder    network[2]
                          ├─ burrow-<p>cq-ub  Unbound, Burrow's conf    network[3]
                          ├─ burrow-<p>cq-us  Unbound, Debian's conf    network[4]
                          └─ burrow-<p>cq-cl  dnsperf                   network[5]

The forwarder is Debian's named with a minimal configuration written here, serving the
unsigned zone ``bench.example.`` of 10,000 A records. Both Unbound instances forward ``.`` to
it and have the same cache sizes; both validate DNSSEC with the root trust anchor, and both
name ``bench.example.`` insecure (``domain-insecure``), which is how an administrator sets up a
private zone behind a validating Unbound.

(a) Burrow's: unbound.conf exactly as an appliance writes it (``conf.write_config``) from
    ``CachingSettings`` with the forwarder, the insecure zone and the client network allowed,
    listening on each address of its namespace (read from the kernel, as an appliance reads
    its own);
(b) Debian's stock: ``/etc/unbound/unbound.conf`` and its ``unbound.conf.d`` as the package
    ships them, copied with only what running side by side needs (``STOCK_CHANGES``).

Both caches are warmed with the query list (every name once, until Unbound holds a message
for each), then dnsperf in the client namespace measures each in alternation, ``ROUNDS``
rounds of ``SECONDS`` s: the figures are the medians of the rounds' query rates and average
latencies, and the ratio is the median of the per-round ratios (each round's two runs are
adjacent in time on a shared, noisy machine). Unbound's CPU time per query answered (its
process's user and system time over the round) is the steadier figure there: other load
lowers the query rate much more than it raises the CPU time a query takes. Unbound's counters
show that the measured queries were answered from the cache.
"""

from __future__ import annotations

import ipaddress
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from services.common.caching.conf import ensure_trust_anchor, interface_addresses, write_config
from services.common.caching.contract import CachingSettings
from services.common.paths import StateRoot
from services.sandbox import netns
from services.sandbox.sandbox import Sandbox, plug_client
from tests.bench.report import Figure, median
from tests.conftest import free_network

ZONE = "bench.example."  # not .test, which Unbound answers itself (RFC 6761)
NAMES = 10_000
#: Many short rounds: on a shared machine the load changes within seconds, and the ratio is
#: taken round by round between two runs adjacent in time.
ROUNDS = 16
SECONDS = 3
#: dnsperf's load: clients and queries outstanding (as the named benchmark uses).
CLIENTS = 8
OUTSTANDING = 200

STOCK_CONF = Path("/etc/unbound/unbound.conf")
STOCK_INCLUDES = Path("/etc/unbound/unbound.conf.d")
#: What the stock copy changes, in words (also in docs/benchmarks.md).
STOCK_CHANGES = (
    "include-toplevel: the copied unbound.conf.d instead of /etc/unbound/unbound.conf.d",
    "control-interface: a socket in the scratch directory instead of /run/unbound.ctl",
    "auto-trust-anchor-file: a copy of /usr/share/dns/root.key in the scratch directory "
    "instead of /var/lib/unbound/root.key",
    "pidfile: in the scratch directory instead of /run/unbound.pid",
    "interface: its namespace's address (stock: 127.0.0.1 only)",
    "access-control: the client network allowed (stock: localhost only)",
    "msg-cache-size and rrset-cache-size: Burrow's (stock: 4m each)",
    "domain-insecure: bench.example. (as Burrow's settings say)",
    "forward-zone . to the named forwarder (as Burrow's settings say)",
    "use-syslog: no (its few start-up lines go to the bench's log, as Burrow's do)",
)


@dataclass
class Resolver:
    kind: str
    ns: str
    address: str
    conf: Path
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None


def _say(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def _host(i: int) -> str:
    return f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"


def _named_conf(directory: Path, address: str) -> Path:
    zone_file = directory / "db.bench.example"
    lines = [
        "$TTL 3600",
        f"@ IN SOA ns1.{ZONE} hostmaster.{ZONE} 1 3600 600 86400 3600",
        f"@ IN NS ns1.{ZONE}",
        f"ns1 IN A {address}",
    ]
    lines += [f"h{i} IN A {_host(i)}" for i in range(NAMES)]
    zone_file.write_text("\n".join(lines) + "\n")
    conf = directory / "named.conf"
    conf.write_text(
        f"""\
// The forwarder of the caching benchmark: authoritative only, for one zone.
options {{
    directory "{directory}";
    pid-file "{directory}/named.pid";
    listen-on {{ {address}; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
}};
controls {{ }};
zone "{ZONE}" {{
    type primary;
    file "{zone_file}";
}};
"""
    )
    _checked(["named-checkconf", "-z", str(conf)], "named's configuration")
    return conf


def _checked(argv: list[str], what: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"{what} is refused: {(result.stdout + result.stderr).strip()}")


def _burrow_conf(directory: Path, ns: str, named: str, clients: str) -> Path:
    """unbound.conf as a caching appliance writes it, for these settings, listening on the
    addresses of namespace ``ns`` as an appliance listens on its own."""
    root = StateRoot.at(directory)
    settings = CachingSettings.model_validate(
        {
            "forwarders": [{"address": named}],
            "dnssec_validation": True,
            "insecure_domains": [ZONE],
            "access": [
                *CachingSettings().model_dump(mode="json")["access"],
                {"network": clients, "action": "allow"},
            ],
        }
    )
    ensure_trust_anchor(root)
    addresses = interface_addresses(ns)
    if not addresses:
        raise RuntimeError(f"the addresses of namespace {ns} cannot be read")
    write_config(root, settings, addresses=addresses)
    return root.unbound_conf


def _stock_conf(directory: Path, named: str, address: str, clients: str) -> Path:
    """Debian's unbound.conf and unbound.conf.d, copied with only ``STOCK_CHANGES``."""
    settings = CachingSettings()  # Burrow's cache sizes
    includes = directory / "unbound.conf.d"
    includes.mkdir()
    anchor = directory / "root.key"
    shutil.copyfile("/usr/share/dns/root.key", anchor)
    for source in sorted(STOCK_INCLUDES.glob("*.conf")):
        text = source.read_text()
        text = text.replace("/run/unbound.ctl", str(directory / "unbound.ctl"))
        text = text.replace("/var/lib/unbound/root.key", str(anchor))
        (includes / source.name).write_text(text)
    text = STOCK_CONF.read_text()
    if str(STOCK_INCLUDES) not in text:
        raise RuntimeError(f"{STOCK_CONF} no longer includes {STOCK_INCLUDES}: update the bench")
    text = text.replace(str(STOCK_INCLUDES), str(includes))
    text += f"""
# --- changed for the benchmark: only what running side by side needs ---
server:
    pidfile: "{directory / "unbound.pid"}"
    interface: {address}
    access-control: {clients} allow
    msg-cache-size: {settings.msg_cache_mb}m
    rrset-cache-size: {settings.rrset_cache_mb}m
    domain-insecure: "{ZONE}"
    use-syslog: no

forward-zone:
    name: "."
    forward-addr: {named}
"""
    conf = directory / "unbound.conf"
    conf.write_text(text)
    _checked(["unbound-checkconf", str(conf)], "Debian's unbound.conf (copied)")
    return conf


def _start(ns: str, argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            ["ip", "netns", "exec", ns, *argv],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _dig(client: str, server: str, name: str, rdtype: str = "A") -> str:
    return subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            client,
            "dig",
            "+short",
            "+time=1",
            "+tries=1",
            f"@{server}",
            name,
            rdtype,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=10,
    ).stdout.strip()


def _wait_answer(
    what: str,
    proc: subprocess.Popen[bytes],
    log: Path,
    client: str,
    server: str,
    name: str,
    rdtype: str = "A",
) -> None:
    """Until ``server`` answers ``name`` from ``client``; loud if the process ends or never does."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-1500:].strip()
            raise RuntimeError(f"{what} did not start (exit status {proc.returncode}): {tail}")
        if _dig(client, server, name, rdtype):
            return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-1500:].strip()
    raise RuntimeError(f"{what} did not answer {name} at {server} within 60 s: {tail}")


def _stats(conf: Path) -> dict[str, float]:
    result = subprocess.run(
        ["unbound-control", "-c", str(conf), "stats_noreset"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    if result.returncode != 0:
        raise RuntimeError(f"unbound-control -c {conf} stats_noreset: {result.stdout.strip()}")
    stats: dict[str, float] = {}
    for line in result.stdout.splitlines():
        key, _, value = line.partition("=")
        try:
            stats[key] = float(value)
        except ValueError:
            continue
    return stats


@dataclass
class Run:
    qps: float
    latency: float  # average, seconds
    lost: int
    cpu: float = 0.0  # Unbound's CPU time per query answered, seconds


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of process ``pid`` and all its threads so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _dnsperf(
    client: str, server: str, queries: Path, *, seconds: int = 0, once: bool = False
) -> Run:
    argv = ["ip", "netns", "exec", client, "dnsperf", "-s", server, "-d", str(queries)]
    if once:
        argv += ["-n", "1", "-c", "2", "-q", "20"]
    else:
        argv += ["-l", str(seconds), "-c", str(CLIENTS), "-q", str(OUTSTANDING)]
    result = subprocess.run(
        argv, capture_output=True, text=True, check=False, timeout=(seconds or 120) + 60
    )
    out = result.stdout
    qps = re.search(r"Queries per second:\s+([0-9.]+)", out)
    latency = re.search(r"Average Latency \(s\):\s+([0-9.]+)", out)
    lost = re.search(r"Queries lost:\s+(\d+)", out)
    if result.returncode != 0 or qps is None or latency is None:
        raise RuntimeError(
            f"dnsperf against {server} failed (status {result.returncode}): "
            f"{(out + result.stderr)[-800:].strip()}"
        )
    return Run(float(qps.group(1)), float(latency.group(1)), int(lost.group(1)) if lost else 0)


def _warm(resolver: Resolver, client: str, queries: Path) -> None:
    """Every name queried, pass after pass, until a whole pass is answered from the cache
    (Unbound's cache-miss counter did not move; stock has no extended statistics, so the
    number of cached messages is not available from both)."""
    missed = 0.0
    for attempt in range(1, 5):
        before = _stats(resolver.conf).get("total.num.cachemiss", 0)
        run = _dnsperf(client, resolver.address, queries, once=True)
        missed = _stats(resolver.conf).get("total.num.cachemiss", 0) - before
        _say(f"warm {resolver.kind}, pass {attempt}: {missed:,.0f} cache misses, {run.lost} lost")
        if attempt > 1 and missed == 0 and run.lost == 0:
            return
    raise RuntimeError(
        f"{resolver.kind}'s Unbound still missed its cache {missed:,.0f} times on pass 4"
    )


def _namespaces(prefix: str) -> dict[str, str]:
    base = f"burrow-{prefix}cq"
    return {part: f"{base}-{part}" for part in ("br", "ns", "ub", "us", "cl")}


def _network(spaces: dict[str, str]) -> dict[str, str]:
    """The bridge and the four namespaces on it; each part's address by name."""
    net = ipaddress.IPv4Network(free_network())
    for ns in spaces.values():
        netns.delete(ns)
    netns.add(spaces["br"])
    subprocess.run(
        [
            "ip",
            "-n",
            spaces["br"],
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "stp_state",
            "0",
            "forward_delay",
            "0",
        ],
        check=True,
    )
    subprocess.run(["ip", "-n", spaces["br"], "link", "set", "br0", "up"], check=True)
    addresses: dict[str, str] = {}
    for index, part in enumerate(("ns", "ub", "us", "cl"), start=2):
        plug_client(spaces["br"], f"p-{part}", spaces[part], None)
        addresses[part] = str(net[index])
        subprocess.run(
            [
                "ip",
                "-n",
                spaces[part],
                "addr",
                "add",
                f"{net[index]}/{net.prefixlen}",
                "dev",
                "eth0",
            ],
            check=True,
        )
    addresses["clients"] = str(net)
    return addresses


def caching_bench(box: Sandbox) -> list[Figure]:
    """The whole benchmark; ``box`` is not used (it runs in namespaces of its own)."""
    spaces = _namespaces(os.environ.get("BURROW_TEST_PREFIX", ""))
    work = Path(tempfile.mkdtemp(prefix="bw-caching-", dir="/tmp"))
    work.chmod(0o755)  # Unbound runs as its own user and reads its directory
    unbound = pwd.getpwnam("unbound")
    procs: list[subprocess.Popen[bytes]] = []
    load_before = _load()
    _say(f"load average {load_before}")
    try:
        addresses = _network(spaces)
        client = spaces["cl"]
        named_dir = work / "named"
        named_dir.mkdir()
        named_conf = _named_conf(named_dir, addresses["ns"])
        named_log = work / "named.log"
        named = _start(spaces["ns"], ["named", "-f", "-c", str(named_conf)], named_log)
        procs.append(named)
        _wait_answer(
            "named (the forwarder)", named, named_log, client, addresses["ns"], ZONE, "SOA"
        )
        _say(f"named serves {ZONE} ({NAMES:,} names) at {addresses['ns']}")

        resolvers = [
            Resolver("burrow", spaces["ub"], addresses["ub"], Path()),
            Resolver("stock", spaces["us"], addresses["us"], Path()),
        ]
        for resolver in resolvers:
            directory = work / resolver.kind
            directory.mkdir()
            if resolver.kind == "burrow":
                resolver.conf = _burrow_conf(
                    directory, resolver.ns, addresses["ns"], addresses["clients"]
                )
            else:
                resolver.conf = _stock_conf(
                    directory, addresses["ns"], resolver.address, addresses["clients"]
                )
            for path in [directory, *directory.rglob("*")]:
                os.chown(path, unbound.pw_uid, unbound.pw_gid)
        for resolver in resolvers:
            resolver.log = work / f"{resolver.kind}.log"
            resolver.proc = _start(
                resolver.ns, ["unbound", "-d", "-c", str(resolver.conf)], resolver.log
            )
            procs.append(resolver.proc)
        for resolver in resolvers:
            assert resolver.proc is not None and resolver.log is not None
            _wait_answer(
                f"Unbound with {resolver.kind}'s configuration",
                resolver.proc,
                resolver.log,
                client,
                resolver.address,
                f"h0.{ZONE}",
            )
            threads = subprocess.run(
                ["unbound-checkconf", "-o", "num-threads", str(resolver.conf)],
                capture_output=True,
                text=True,
                check=False,
            ).stdout.strip()
            _say(f"Unbound ({resolver.kind}) answers at {resolver.address}, {threads} thread(s)")

        queries = work / "queries.txt"
        queries.write_text("".join(f"h{i * 7919 % NAMES}.{ZONE} A\n" for i in range(NAMES)))
        for resolver in resolvers:
            _warm(resolver, client, queries)
        misses = {r.kind: _stats(r.conf).get("total.num.cachemiss", 0) for r in resolvers}

        runs: dict[str, list[Run]] = {"burrow": [], "stock": []}
        for n in range(ROUNDS):
            order = resolvers if n % 2 == 0 else resolvers[::-1]
            for resolver in order:
                assert resolver.proc is not None
                cpu = _cpu_seconds(resolver.proc.pid)
                run = _dnsperf(client, resolver.address, queries, seconds=SECONDS)
                run.cpu = (_cpu_seconds(resolver.proc.pid) - cpu) / (run.qps * SECONDS)
                runs[resolver.kind].append(run)
                _say(
                    f"round {n + 1}/{ROUNDS} {resolver.kind}: {run.qps:,.0f} q/s, "
                    f"latency {run.latency * 1000:.3f} ms, CPU {run.cpu * 1e6:.1f} us/query, "
                    f"{run.lost} lost (load {_load()})"
                )
        hit_share: dict[str, float] = {}
        for resolver in resolvers:
            stats = _stats(resolver.conf)
            missed = stats.get("total.num.cachemiss", 0) - misses[resolver.kind]
            asked = sum(r.qps * SECONDS for r in runs[resolver.kind])
            hit_share[resolver.kind] = 1 - missed / asked if asked else 0.0
            _say(f"{resolver.kind}: {missed:,.0f} cache misses while measured")
    finally:
        for proc in reversed(procs):
            _stop(proc)
        for ns in spaces.values():
            netns.delete(ns)
        shutil.rmtree(work, ignore_errors=True)
    load_after = _load()
    _say(f"load average {load_after}")
    ratios = [b.qps / s.qps for b, s in zip(runs["burrow"], runs["stock"], strict=True)]
    ratio = median(ratios)
    cpu_ratios = [s.cpu / b.cpu for b, s in zip(runs["burrow"], runs["stock"], strict=True)]
    figures = []
    for kind, label in (("burrow", "Burrow's configuration"), ("stock", "Debian's stock")):
        figures += [
            Figure("caching", f"Unbound from cache, {label}, query rate median",
                   median([r.qps for r in runs[kind]]), "q/s"),
            Figure("caching", f"Unbound from cache, {label}, average latency median",
                   median([r.latency for r in runs[kind]]) * 1000, "ms"),
            Figure("caching", f"Unbound from cache, {label}, CPU time per query median",
                   median([r.cpu for r in runs[kind]]) * 1e6, "us"),
            Figure("caching", f"Unbound from cache, {label}, answers from the cache",
                   hit_share[kind] * 100, "%"),
        ]  # fmt: skip
    figures += [
        Figure("caching", f"query rate ratio Burrow / stock (median of {ROUNDS} rounds)", ratio,
               "", ">= 0.95", "ok" if ratio >= 0.95 else "MISSED"),
        Figure("caching", "CPU time per query ratio stock / Burrow (median of rounds)",
               median(cpu_ratios), ""),
        Figure("caching", "per-round ratio, lowest", min(ratios), ""),
        Figure("caching", "per-round ratio, highest", max(ratios), ""),
        Figure("caching", "load average (1 min) before", float(load_before.split()[0]), ""),
        Figure("caching", "load average (1 min) after", float(load_after.split()[0]), ""),
    ]  # fmt: skip
    return figures
