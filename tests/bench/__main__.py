"""``./build.sh bench [NAME ...]``: run benchmarks against real sandboxes and print figures.

Each benchmark starts what it measures itself. Figures go to a table on stdout and, with
``--json FILE``, to a JSON file. The machine is shared and noisy: figures are medians over
several runs where the benchmark says so.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from services.sandbox.sandbox import Sandbox
from tests.bench.backup import (
    backup_bench,
    backup_change_bench,
    backup_lease_bench,
    backup_restore_bench,
    backup_safe_bench,
)
from tests.bench.backup_bytes import backup_bytes
from tests.bench.caching import caching_bench
from tests.bench.central import central_api
from tests.bench.central_dhcp import central_dhcp
from tests.bench.central_dhcp_sync import central_dhcp_sync
from tests.bench.central_dns import central_dns
from tests.bench.chaos import chaos_bench
from tests.bench.crash import crash_to_serving
from tests.bench.dhcp import dhcp, dhcp_perf
from tests.bench.discovery import discovery_bench
from tests.bench.dns import dns_benchmarks, dns_bulk, dns_change
from tests.bench.dns_scale import dns_import, dns_parallel
from tests.bench.fleet import dns_secondary, fleet_fanout
from tests.bench.ha import ha_failover
from tests.bench.image import image_caching
from tests.bench.ipam import ipam_next_free
from tests.bench.ipam_page import ipam_address_page
from tests.bench.memory import idle_memory
from tests.bench.report import Figure, table
from tests.bench.shell import shell_bench
from tests.bench.snmp import snmp_bench
from tests.bench.webui import leases_bench, webui_bench
from tests.conftest import free_network

BenchFn = Callable[[Sandbox], list[Figure]]

#: name -> (what it measures, function); later issues add theirs here.
BENCHMARKS: dict[str, tuple[str, BenchFn]] = {
    "crash": (
        "crash-to-serving time of named, kea-dhcp4, central and dns-dhcp-agent",
        crash_to_serving,
    ),
    "shell": ("diag-shell: TCP connect to prompt, 20 concurrent sessions", shell_bench),
    "dns": (
        "one record until answered (Central's API and the agent), bulk speed; query rate vs stock",
        dns_benchmarks,
    ),
    "dns-change": (
        "one record until named answers it: through Central's API and through the agent",
        dns_change,
    ),
    "dns-bulk": ("10,000 records in one request until named answers them all", dns_bulk),
    "dns-import": (
        "a 60,000-record (5 MB) zone imported until named answers every record: Central, agent",
        dns_import,
    ),
    "dns-parallel": (
        "one record to zone X while a 30,000-record import runs into zone Y, through Central",
        dns_parallel,
    ),
    "caching": (
        "Unbound answering from its cache, Burrow's configuration vs Debian's stock, dnsperf "
        "side by side (own namespaces, no sandbox)",
        caching_bench,
    ),
    "dhcp": ("Kea throughput vs stock, change-to-serving with 1,000 scopes, lease search", dhcp),
    "dhcp-perf": (
        "Kea throughput vs stock: perfdhcp at 1,000/s and at the highest rate stock sustains",
        dhcp_perf,
    ),
    "central": (
        "Central API: GET of one object and of a 100-item page (SQLite, PostgreSQL), idle RSS",
        central_api,
    ),
    "central-dhcp": (
        "Central's DHCP API: a change through Central until Kea serves it, 1,000 scopes",
        central_dhcp,
    ),
    "central-dhcp-sync": (
        "Central's DHCP sync of an external change: 1,000 scopes, 10,000 reservations",
        central_dhcp_sync,
    ),
    "backup": (
        "backups in a lab: (a) change on A -> stored at B, 200 changes; (d) lease written on "
        "A -> stored at B, 40 leases; (e) a change answered when stored at B; (c) restore with "
        "1,000 zones, 100,000 records, 10,000 leases",
        backup_bench,
    ),
    "backup-change": ("backups: (a) only", backup_change_bench),
    "backup-lease": (
        "backups: (d) lease written on A -> stored at B, 40 leases",
        backup_lease_bench,
    ),
    "backup-safe": ("backups: (e) a change answered when stored at B", backup_safe_bench),
    "backup-restore": ("backups: (c) only", backup_restore_bench),
    "chaos": (
        "1,000 changes while Central, the agents, named, Kea and the peer are killed at random: "
        "acknowledged changes missing at the appliance and at the peer",
        chaos_bench,
    ),
    "backup-bytes": (
        "Backups: collect time and bytes sent after a one-record change, 100,000-record zone",
        backup_bytes,
    ),
    "central-dns": (
        "Central holding 10,000 zones and 1,000,000 records: zone list and record search p95",
        central_dns,
    ),
    "snmp": (
        "SNMP: walk of the whole BURROW-MIB (v2c GETNEXT and GETBULK, v3 authPriv), the "
        "monitor program's memory and that of chronyd and rsyslogd",
        snmp_bench,
    ),
    "ha-failover": (
        "Kea HA: the primary's Kea stopped until a new client's lease from the standby",
        ha_failover,
    ),
    "dns-secondary": (
        "DNS secondaries: a zone change on one appliance until the secondary on another answers",
        dns_secondary,
    ),
    "fleet-fanout": (
        "a fleet of 8 appliances: one DNS change and one global DHCP class until all 8 serve "
        "it; the managing Central's idle memory with 8 appliances managed vs 1",
        fleet_fanout,
    ),
    "discovery": (
        "discovery: ping sweep of a /24; SNMP read of a 1,000-entry neighbour table (v3, v2c)",
        discovery_bench,
    ),
    "idle-memory": (
        "RSS and anonymous memory of every program, 30 s after the appliance is healthy",
        idle_memory,
    ),
    "webui": (
        "web console page time: records page of a 10,000-record zone, list of 10,000 zones, "
        "history of 10,000 changes, leases page with 10,000 leases",
        webui_bench,
    ),
    "ipam-next-free": (
        "IPAM: next free address in a /16 with 50,000 used addresses (claims and A records), "
        "GET and claiming POST, SQLite and PostgreSQL",
        ipam_next_free,
    ),
    "ipam-address-page": (
        "IPAM: the address grid and an address's page of a /16 with 50,000 used addresses, "
        "Central's API and the console, SQLite and PostgreSQL",
        ipam_address_page,
    ),
    "webui-leases": (
        "web console page time: the DHCP leases page with 10,000 leases (also in webui)",
        leases_bench,
    ),
    "image-caching": (
        "the caching image next to the DNS/DHCP image: qcow2 and raw sizes, power-on to "
        "healthy and memory in use (BIOS, 3 runs each, alternated)",
        image_caching,
    ),
}

#: Benchmarks that start a lab of their own and never use the benchmark's sandbox: when only
#: these run, no sandbox is started (one appliance and one network fewer).
OWN_LAB = {"ha-failover", "dns-secondary", "fleet-fanout", "caching", "image-caching"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./build.sh bench", description=__doc__)
    parser.add_argument(
        "names", nargs="*", help=f"benchmarks to run (all: {', '.join(BENCHMARKS)})"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, (what, _) in BENCHMARKS.items():
            print(f"{name:12} {what}")
        return 0
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; see --list")
    names = args.names or list(BENCHMARKS)
    figures: list[Figure] = []
    root = Path(tempfile.mkdtemp(prefix="bw-bench-", dir="/tmp"))
    name = os.environ.get("BURROW_TEST_PREFIX", "") + "bench"
    box = Sandbox(name=name, network=ipaddress.IPv4Network(free_network()), root_dir=root)
    try:
        if not set(names) <= OWN_LAB:
            print("bench: starting a sandbox appliance", file=sys.stderr)
            box.start()
        for name in names:
            print(f"bench: {name}: {BENCHMARKS[name][0]}", file=sys.stderr)
            figures.extend(BENCHMARKS[name][1](box))
    finally:
        box.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(table(figures))
    if args.json:
        args.json.write_text(json.dumps([f.as_dict() for f in figures], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
