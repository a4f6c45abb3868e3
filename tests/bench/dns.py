"""DNS benchmarks: the dns-agent's change latency and bulk speed, and named's query rate with
Burrow's generated configuration against a stock one.

(a) one record created until named answers it, 200 times per run, 3 runs: through Central's API
    (Central checks, stores, records the history and calls the agent over mutual TLS) and
    straight through the agent (HTTPS, mutual TLS), alternating change by change so that both
    see the same machine; the figures are the medians over the runs of each run's median and
    95th percentile; then 50 such changes to zones that already hold 10,000 records;
(b) 10,000 records in one bulk request until every one of them is answered, 3 times;
(d) dnsperf against two named processes serving the same 10,000-record zone side by side, each
    in a network namespace of its own on 127.0.0.1: one with the configuration Burrow generates,
    one with Debian's stock options; measured in alternation, 6 rounds of 3 s each. The machine
    is shared and noisy, so the ratio is the median of the per-round ratios (each round's two
    runs are adjacent in time).
"""

from __future__ import annotations

import concurrent.futures
import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rdatatype
import httpx

from services.common.dns.contract import Change, Soa, ZoneKind, ZonePublic
from services.common.dns.named_conf import named_conf_text
from services.common.dns.options import ServerOptions
from services.common.dns.validate import plan_changes
from services.common.paths import StateRoot
from services.common.render import render
from services.dns.config import zone_context
from services.dns.zonefile import make_soa, zone_text
from services.sandbox import netns
from services.sandbox.sandbox import Sandbox
from tests.bench.report import Figure, at_most, median, percentile

PERF_RECORDS = 10_000


def _client(box: Sandbox) -> httpx.Client:
    context = box.tls_context()  # Central's client certificate
    return httpx.Client(base_url=f"https://{box.address}:1337", verify=context, timeout=300)


def _answered(box: Sandbox, name: str, timeout: float = 30.0) -> float:
    query = dns.message.make_query(name, dns.rdatatype.A)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if dns.query.udp(query, box.address, timeout=0.5).answer:
                return time.monotonic()
        except dns.exception.Timeout:
            pass
        time.sleep(0.001)
    raise TimeoutError(f"{name} was not answered within {timeout} s")


def _address(i: int) -> str:
    return f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"


def _central_client(box: Sandbox) -> tuple[httpx.Client, int]:
    """A keep-alive client of Central's API as the first administrator, and the DNS server id."""
    token = box.central_token()
    http = httpx.Client(
        base_url=f"https://{box.address}:1231",
        verify=box.tls_context(),
        timeout=300,
        headers={"Authorization": f"Bearer {token}"},
    )
    servers = http.get("/api/v1/servers", params={"filter": "local:true kind:dns"})
    servers.raise_for_status()
    return http, int(servers.json()["items"][0]["id"])


def _until_answered(box: Sandbox, post: Callable[[], httpx.Response], name: str) -> float:
    t0 = time.monotonic()
    post().raise_for_status()
    return _answered(box, name) - t0


def _side_by_side(
    box: Sandbox,
    http: httpx.Client,
    central: httpx.Client,
    zones: tuple[str, str, int],
    count: int,
    first: int = 0,
) -> dict[str, list[float]]:
    """``count`` single-record changes to each zone, alternating which goes first."""
    agent_zone, central_zone, zone_id = zones
    times: dict[str, list[float]] = {"central": [], "agent": []}
    for i in range(first, first + count):
        change = {"action": "create", "record": {"name": f"r{i}", "type": "A", "data": _address(i)}}
        agent = functools.partial(
            http.post, f"/zones/{agent_zone}/changes", json={"changes": [change]}
        )
        via_central = functools.partial(
            central.post,
            f"/api/v1/dns/zones/{zone_id}/changes",
            json={"changes": [change], "comment": f"bench {i}"},
        )
        order = [("agent", agent, agent_zone), ("central", via_central, central_zone)]
        for kind, post, zone in order if i % 2 == 0 else order[::-1]:
            times[kind].append(_until_answered(box, post, f"r{i}.{zone}"))
    return times


def _zones(
    http: httpx.Client, central: httpx.Client, server_id: int, label: str, records: int = 0
) -> tuple[str, str, int]:
    """A zone made through the agent and one through Central, each with ``records`` records."""
    agent_zone, central_zone = f"bench-a{label}.test.", f"bench-c{label}.test."
    http.post("/zones", json={"name": agent_zone}).raise_for_status()
    created = central.post(
        "/api/v1/dns/zones", json={"server_id": server_id, "name": central_zone, "comment": "bench"}
    )
    created.raise_for_status()
    zone_id = int(created.json()["id"])
    if records:
        bulk = [
            {"action": "create", "record": {"name": f"b{i}", "type": "A", "data": _address(i)}}
            for i in range(records)
        ]
        http.post(f"/zones/{agent_zone}/changes", json={"changes": bulk}).raise_for_status()
        central.post(
            f"/api/v1/dns/zones/{zone_id}/changes", json={"changes": bulk, "comment": "bench"}
        ).raise_for_status()
    return agent_zone, central_zone, zone_id


def single_changes(
    box: Sandbox, http: httpx.Client, count: int = 200, runs: int = 3, large: int = 10_000
) -> list[Figure]:
    """(a) through Central's API and through the agent, side by side in alternation; then the
    same in zones that already hold ``large`` records (50 changes)."""
    central, server_id = _central_client(box)
    per_run: dict[str, list[tuple[float, float]]] = {"central": [], "agent": []}
    try:
        for run in range(runs):
            times = _side_by_side(
                box, http, central, _zones(http, central, server_id, str(run)), count
            )
            for kind, values in times.items():
                per_run[kind].append((median(values), percentile(values, 95)))
                print(
                    f"  one record via {kind}, run {run + 1}: median "
                    f"{median(values) * 1000:.1f} ms, p95 {percentile(values, 95) * 1000:.1f} ms",
                    file=sys.stderr,
                )
        big = _zones(http, central, server_id, "large", large)
        in_large = _side_by_side(box, http, central, big, 50, first=large)
    finally:
        central.close()
    figures = []
    for kind, label in (("central", "through Central's API"), ("agent", "through the agent")):
        med = median([m for m, _ in per_run[kind]])
        p95 = median([p for _, p in per_run[kind]])
        figures += [
            Figure("dns", f"one record {label} until answered, median", med * 1000, "ms",
                   "<= 200 ms", at_most(med, 0.2)),
            Figure("dns", f"one record {label} until answered, p95", p95 * 1000, "ms"),
            Figure("dns", f"one record {label}, zone of {large:,} records, median",
                   median(in_large[kind]) * 1000, "ms"),
            Figure("dns", f"one record {label}, zone of {large:,} records, p95",
                   percentile(in_large[kind], 95) * 1000, "ms"),
        ]  # fmt: skip
    return figures


def bulk_changes(box: Sandbox, http: httpx.Client, runs: int = 3) -> list[Figure]:
    times: list[float] = []
    requests: list[float] = []
    for run in range(runs):
        zone = f"bench-b{run}.test."
        http.post("/zones", json={"name": zone}).raise_for_status()
        changes = [
            {"action": "create", "record": {"name": f"h{i}", "type": "A", "data": _address(i)}}
            for i in range(PERF_RECORDS)
        ]
        t0 = time.monotonic()
        http.post(f"/zones/{zone}/changes", json={"changes": changes}).raise_for_status()
        applied = time.monotonic() - t0
        requests.append(applied)
        names = [f"h{i}.{zone}" for i in range(PERF_RECORDS)]
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            last = max(pool.map(lambda n: _answered(box, n), names))
        times.append(last - t0)
        print(
            f"  bulk of {PERF_RECORDS}: {times[-1]:.2f} s (request {applied:.2f} s)",
            file=sys.stderr,
        )
    med = median(times)
    return [
        Figure(
            "dns",
            f"{PERF_RECORDS} records in one request, answer of the request, median",
            median(requests),
            "s",
        ),
        Figure(
            "dns",
            f"{PERF_RECORDS} records in one request until all answered, median",
            med,
            "s",
            "<= 10 s",
            at_most(med, 10.0),
        ),
    ]


# --- (d) query rate ----------------------------------------------------------------------
STOCK_CONF = """\
// Debian's stock named.conf.options, plus the zone.
options {{
    directory "{dir}";
    pid-file "{dir}/named.pid";
    dnssec-validation auto;
    listen-on-v6 {{ any; }};
}};
controls {{ }};
zone "{zone}" {{
    type primary;
    file "{file}";
}};
"""


def _zone_file(origin: dns.name.Name, path: Path) -> None:
    creates = [
        Change.model_validate({"action": "create", "record": r})
        for r in (
            [
                {"name": "@", "type": "NS", "data": "ns1"},
                {"name": "ns1", "type": "A", "data": "127.0.0.1"},
            ]
            + [{"name": f"h{i}", "type": "A", "data": _address(i)} for i in range(PERF_RECORDS)]
        )
    ]
    plan = plan_changes(origin, [], creates, 3600)
    path.write_text(zone_text(origin, make_soa(origin, Soa(), 1), 3600, plan.result.values()))


def _burrow_named(directory: Path, zone: str, zone_file: Path) -> Path:
    """A state root with the configuration Burrow generates (keys, options, zones.conf)."""
    root = StateRoot.at(directory)
    for path in (root.bind_etc, root.bind_cache, root.named_run):
        path.mkdir(parents=True, exist_ok=True)
    key = 'key "{0}" {{ algorithm hmac-sha256; secret "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"; }};\n'
    root.rndc_key.write_text(key.format("rndc-key"))
    root.tsig_key.write_text(key.format("burrow-tsig"))
    zone_model = ZonePublic(name=zone, kind=ZoneKind.primary, enabled=True, file=str(zone_file))
    (root.bind_etc / "zones.conf").write_text(
        render("zones.conf.j2", keys=[], zones=[zone_context(zone_model)])
    )
    root.named_conf.write_text(named_conf_text(root, ServerOptions()))
    return root.named_conf


def _dnsperf(ns: str, queries: Path, seconds: int) -> float:
    out = subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            ns,
            "dnsperf",
            "-s",
            "127.0.0.1",
            "-d",
            str(queries),
            "-l",
            str(seconds),
            "-c",
            "8",
            "-q",
            "200",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    found = re.search(r"Queries per second:\s+([0-9.]+)", out)
    lost = re.search(r"Queries lost:\s+(\d+)", out)
    if found is None:
        raise RuntimeError(f"dnsperf printed no rate: {out[-500:]}")
    if lost and int(lost.group(1)) > 0:
        print(f"  dnsperf {ns}: {lost.group(1)} queries lost", file=sys.stderr)
    return float(found.group(1))


def query_rate(box: Sandbox, rounds: int = 6, seconds: int = 3) -> list[Figure]:
    prefix = os.environ.get("BURROW_TEST_PREFIX", "")
    work = Path(tempfile.mkdtemp(prefix="bw-perf-", dir="/tmp"))
    zone = "perf.test."
    origin = dns.name.from_text(zone)
    spaces = {"burrow": f"burrow-{prefix}pfb", "stock": f"burrow-{prefix}pfs"}
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        queries = work / "queries.txt"
        queries.write_text(
            "".join(f"h{i * 7 % PERF_RECORDS}.{zone} A\n" for i in range(PERF_RECORDS))
        )
        confs: dict[str, Path] = {}
        for kind in spaces:
            directory = work / kind
            directory.mkdir()
            zone_file = directory / "db.perf.test"
            _zone_file(origin, zone_file)
            if kind == "burrow":
                confs[kind] = _burrow_named(directory, zone, zone_file)
            else:
                confs[kind] = directory / "named.conf"
                confs[kind].write_text(STOCK_CONF.format(dir=directory, zone=zone, file=zone_file))
            subprocess.run(
                ["named-checkconf", "-z", str(confs[kind])], check=True, capture_output=True
            )
        for kind, ns in spaces.items():
            netns.delete(ns)
            netns.add(ns)
            subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
            log = (work / f"{kind}.log").open("wb")
            procs[kind] = subprocess.Popen(
                ["ip", "netns", "exec", ns, "named", "-f", "-c", str(confs[kind])],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            log.close()
        for kind, ns in spaces.items():
            _wait_served(ns, zone, procs[kind])
        rates: dict[str, list[float]] = {"burrow": [], "stock": []}
        for n in range(rounds):
            for kind in ("burrow", "stock") if n % 2 == 0 else ("stock", "burrow"):
                rates[kind].append(_dnsperf(spaces[kind], queries, seconds))
                print(
                    f"  dnsperf {kind} round {n + 1}: {rates[kind][-1]:,.0f} q/s", file=sys.stderr
                )
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
        for ns in spaces.values():
            netns.delete(ns)
        shutil.rmtree(work, ignore_errors=True)
    burrow, stock = median(rates["burrow"]), median(rates["stock"])
    ratio = median([b / s for b, s in zip(rates["burrow"], rates["stock"], strict=True)])
    return [
        Figure("dns", "named query rate, Burrow's configuration, median", burrow, "q/s"),
        Figure("dns", "named query rate, stock configuration, median", stock, "q/s"),
        Figure(
            "dns",
            "query rate ratio Burrow / stock (median of rounds)",
            ratio,
            "",
            ">= 0.95",
            "ok" if ratio >= 0.95 else "MISSED",
        ),
    ]


def _wait_served(ns: str, zone: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"named in {ns} exited with status {proc.returncode}")
        answer = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                ns,
                "dig",
                "+short",
                "+time=1",
                "+tries=1",
                "@127.0.0.1",
                zone,
                "SOA",
            ],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        if answer.strip():
            return
        time.sleep(0.1)
    raise TimeoutError(f"named in {ns} did not serve {zone}")


def dns_benchmarks(box: Sandbox) -> list[Figure]:
    figures: list[Figure] = []
    with _client(box) as http:
        figures += single_changes(box, http)
        figures += bulk_changes(box, http)
    figures += query_rate(box)
    return figures


def dns_change(box: Sandbox) -> list[Figure]:
    """(a) alone: one record until answered, through Central's API and through the agent."""
    with _client(box) as http:
        return single_changes(box, http)


def dns_bulk(box: Sandbox) -> list[Figure]:
    """(b) alone: 10,000 records in one request until named answers them all."""
    with _client(box) as http:
        return bulk_changes(box, http)
