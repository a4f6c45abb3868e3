"""Many appliances as one system (issue 20): DNS secondaries and a fleet of eight.

``dns-secondary``: a lab of two appliances, A in B's fleet; a primary zone on B gets a
secondary on A in one action (``POST /api/v1/dns/zones/{id}/secondaries``). Per run, one
record is added to the zone through B's Central; measured from the request until A's named
answers it (real DNS queries to A's address every 10 ms: B's NOTIFY, A's transfer), and until
B's Central answered. Two series of ``SECONDARY_RUNS`` changes: each after a second without
changes, and back to back (each as soon as the one before was answered by A). Medians; target
median ≤ 1 s.

``fleet-fanout``: a lab of eight appliances (the most one lab network holds); M's Central
manages them all once the other seven joined its fleet. "One change fanned out" in two forms,
each one request to M's Central:

- DNS: a zone on M with secondaries on the seven others (one action at the start); one record
  added to it, until all eight appliances' named answer it (every appliance queried every
  10 ms).
- DHCP: a global client class (``PUT .../classes/NAME`` with ``"global": true``), which M's
  Central puts on every managed DHCP server before it answers; until all eight Kea servers
  hold it (``config-get`` through each Control Agent).

``FANOUT_RUNS`` runs of each, medians. M's Central's idle memory (RSS and anonymous memory of
its process tree, as ``idle-memory`` reads them) is measured twice in the same run, each time
after a DNS and DHCP sync of every managed server and ``SETTLE_SECONDS`` of idling: before any
other appliance starts (M managing itself) and once all eight are managed. A 2-core machine
runs eight appliances here: the load average is reported with the figures.

Both start their own lab (not the benchmark's sandbox) and remove it at the end, also on
failure, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator
from functools import partial
from types import FrameType
from typing import Any

import dns.exception
import dns.message
import dns.query
import dns.rdatatype

from services.sandbox.sandbox import Sandbox
from tests.backups.appliance import CentralApi, record
from tests.bench.memory import memory, process_tree
from tests.bench.report import Figure, at_most, median
from tests.conftest import open_lab
from tests.fleet.test_secondaries_lab import _join
from tests.harness.wait import wait_for

SECONDARY_RUNS = 15
SECONDARY_TARGET = 1.0
#: The quiet time before each change of the first series.
SECONDARY_GAP = 1.0
FANOUT_APPLIANCES = 8
FANOUT_RUNS = 5
SETTLE_SECONDS = 30.0
#: How long a change may take to be served before the run counts as failed.
SERVE_TIMEOUT = 60.0


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """SIGTERM raises SystemExit, so the lab's ``finally`` stops what it started."""

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _answers(box: Sandbox, name: str) -> set[str]:
    query = dns.message.make_query(name, dns.rdatatype.A)
    try:
        reply = dns.query.udp(query, box.address, timeout=0.5)
    except dns.exception.Timeout:
        return set()
    return {rd.to_text() for rrset in reply.answer for rd in rrset}


def _serial(box: Sandbox, zone: str) -> int | None:
    query = dns.message.make_query(zone, dns.rdatatype.SOA)
    try:
        reply = dns.query.udp(query, box.address, timeout=0.5)
    except dns.exception.Timeout:
        return None
    for rrset in reply.answer:
        return int(rrset[0].serial)
    return None


def _same_serial(boxes: list[Sandbox], zone: str) -> bool:
    """Whether every box serves ``zone`` with one serial."""
    serials = {_serial(box, zone) for box in boxes}
    return len(serials) == 1 and None not in serials


def _member_servers(on_m: CentralApi, address: str) -> dict[str, int] | None:
    """The ids of an appliance's three servers at M once all are reachable."""
    items = on_m.get("/api/v1/servers?check=true&limit=1000")["items"]
    found = {s["kind"]: s for s in items if s["address"] == address and not s["local"]}
    if len(found) == 3 and all(s["state"] == "reachable" for s in found.values()):
        return {kind: int(s["id"]) for kind, s in found.items()}
    return None


def _until_served(boxes: list[Sandbox], name: str, data: str, t0: float) -> dict[str, float]:
    """Each box's time (since ``t0``) until its named answers ``name`` with ``data``."""
    served: dict[str, float] = {}
    deadline = t0 + SERVE_TIMEOUT
    while len(served) < len(boxes):
        for box in boxes:
            if box.name not in served and data in _answers(box, name):
                served[box.name] = time.monotonic() - t0
        if time.monotonic() > deadline:
            missing = sorted({b.name for b in boxes} - set(served))
            raise AssertionError(f"{name} {data} not served after {SERVE_TIMEOUT} s by {missing}")
        time.sleep(0.01)
    return served


def _add_record(on_m: CentralApi, zone_id: int, name: str, data: str) -> None:
    on_m.post(f"/api/v1/dns/zones/{zone_id}/changes", {"changes": [record(name, "A", data)]})


def _secondaries(on_m: CentralApi, zone_id: int, server_ids: list[int]) -> None:
    path = f"/api/v1/dns/zones/{zone_id}/secondaries"
    on_m.ok(on_m.call("POST", path, {"server_ids": server_ids, "comment": "benchmark"}))


# --- dns-secondary ---------------------------------------------------------------------------
def dns_secondary(_box: Sandbox) -> list[Figure]:
    zone = "secondary.test."
    with _sigterm_unwinds(), open_lab("fs") as lab:
        a, b = lab.sandbox("a"), lab.sandbox("b")
        on_a, on_b = CentralApi(a), CentralApi(b)
        _join(on_a, on_b)
        a_servers = wait_for(lambda: _member_servers(on_b, a.address), timeout=60,
                             what="A's servers reachable at B")  # fmt: skip
        made = on_b.post("/api/v1/dns/zones", {"server_id": on_b.local_server("dns"), "name": zone})
        _secondaries(on_b, made["id"], [a_servers["dns"]])
        wait_for(lambda: _same_serial([a, b], zone), timeout=60, what="A to serve B's serial")
        figures: list[Figure] = []
        for series, gap in (("1 s apart", SECONDARY_GAP), ("back to back", 0.0)):
            served: list[float] = []
            answered: list[float] = []
            for run in range(SECONDARY_RUNS):
                time.sleep(gap)  # the quiet time before the change is what this series varies
                name, data = f"r{run}-{int(gap * 1000)}", f"198.51.100.{run + 10}"
                t0 = time.monotonic()
                _add_record(on_b, made["id"], name, data)
                answered.append(time.monotonic() - t0)
                served.append(_until_served([a], f"{name}.{zone}", data, t0)[a.name])
                print(f"  {series}, change {run + 1}/{SECONDARY_RUNS}: B answered "
                      f"{answered[-1]:.3f} s, A's named {served[-1]:.3f} s",
                      file=sys.stderr)  # fmt: skip
            value = median(served)
            figures += [
                Figure(
                    "dns-secondary",
                    f"change on B until A's secondary answers ({series}), median of "
                    f"{SECONDARY_RUNS}",
                    value,
                    "s",
                    target=f"<= {SECONDARY_TARGET:.0f} s",
                    verdict=at_most(value, SECONDARY_TARGET),
                ),
                Figure("dns-secondary", f"the same ({series}), slowest", max(served), "s"),
                Figure(
                    "dns-secondary",
                    f"the same ({series}): until B's Central answered, median",
                    median(answered),
                    "s",
                ),
            ]
        load = os.getloadavg()[0]
    return [*figures, Figure("dns-secondary", "load average (1 min) at the end", load, "")]


# --- fleet-fanout ----------------------------------------------------------------------------
def _central_memory(box: Sandbox, api: CentralApi, dns_ids: list[int], dhcp_ids: list[int]) -> (
    tuple[float, float]
):  # fmt: skip
    """M's Central's RSS and anonymous memory (MiB), after a sync of every managed server and
    ``SETTLE_SECONDS`` of idling."""
    for server_id in dns_ids:
        api.ok(api.call("POST", f"/api/v1/dns/servers/{server_id}/sync"))
    for server_id in dhcp_ids:
        api.ok(api.call("POST", f"/api/v1/dhcp/servers/{server_id}/sync"))
    time.sleep(SETTLE_SECONDS)  # the idle period itself: what is measured is the state after it
    pid = int(box.supervisor().process("central")["pid"])
    rss, _pss, anon = memory(process_tree(pid))
    return rss, anon


def _class_names(box: Sandbox) -> set[str]:
    config: dict[str, Any] = box.kea("config-get")["arguments"]["Dhcp4"]
    return {c["name"] for c in config.get("client-classes", [])}


def _holding(boxes: list[Sandbox], name: str) -> bool:
    return all(name in _class_names(box) for box in boxes)


def fleet_fanout(_box: Sandbox) -> list[Figure]:
    zone = "fanout.test."
    figures: list[Figure] = []
    with _sigterm_unwinds(), open_lab("ff") as lab:
        m = lab.sandbox("m")
        on_m = CentralApi(m)
        m_dns, m_dhcp = on_m.local_server("dns"), on_m.local_server("dhcp")
        alone = _central_memory(m, on_m, [m_dns], [m_dhcp])
        print(f"  M's Central managing 1 appliance: RSS {alone[0]:.1f} MiB, anonymous "
              f"{alone[1]:.1f} MiB; load {_load()}", file=sys.stderr)  # fmt: skip

        members = [lab.sandbox(f"a{n}") for n in range(1, FANOUT_APPLIANCES)]
        joins: list[float] = []
        for box in members:
            t0 = time.monotonic()
            _join(CentralApi(box), on_m)
            joins.append(time.monotonic() - t0)
        ids: list[dict[str, int]] = []
        for box in members:
            found = wait_for(partial(_member_servers, on_m, box.address), timeout=120,
                             what=f"{box.name}'s servers reachable at M")  # fmt: skip
            ids.append(found)
        print(f"  {len(members)} appliances joined (median {median(joins):.1f} s each); "
              f"load {_load()}", file=sys.stderr)  # fmt: skip
        every = [m, *members]
        dns_ids = [m_dns, *(i["dns"] for i in ids)]
        dhcp_ids = [m_dhcp, *(i["dhcp"] for i in ids)]
        managed = _central_memory(m, on_m, dns_ids, dhcp_ids)
        print(f"  M's Central managing {len(every)} appliances: RSS {managed[0]:.1f} MiB, "
              f"anonymous {managed[1]:.1f} MiB; load {_load()}", file=sys.stderr)  # fmt: skip

        # DNS: one zone served everywhere (a secondary on each member), one record per run.
        made = on_m.post("/api/v1/dns/zones", {"server_id": m_dns, "name": zone})
        _secondaries(on_m, made["id"], dns_ids[1:])
        wait_for(lambda: _same_serial(every, zone), timeout=120,
                 what="every appliance to serve the zone")  # fmt: skip
        dns_all: list[float] = []
        dns_answered: list[float] = []
        for run in range(FANOUT_RUNS):
            data = f"198.51.100.{run + 10}"
            t0 = time.monotonic()
            _add_record(on_m, made["id"], f"r{run}", data)
            dns_answered.append(time.monotonic() - t0)
            served = _until_served(every, f"r{run}.{zone}", data, t0)
            dns_all.append(max(served.values()))
            print(f"  DNS change {run + 1}/{FANOUT_RUNS}: M answered {dns_answered[-1]:.3f} s, "
                  f"all {len(every)} serve it {dns_all[-1]:.3f} s", file=sys.stderr)  # fmt: skip

        # DHCP: one global client class, put by M's Central on every DHCP server.
        dhcp_all: list[float] = []
        for run in range(FANOUT_RUNS):
            name = f"fanout-{run}"
            body = {"name": name, "test": f"option[60].text == 'fanout-{run}'", "global": True,
                    "comment": "benchmark"}  # fmt: skip
            t0 = time.monotonic()
            answer = on_m.ok(on_m.call("PUT", f"/api/v1/dhcp/servers/{m_dhcp}/v4/classes/{name}",
                                       body))  # fmt: skip
            wait_for(partial(_holding, every, name), timeout=SERVE_TIMEOUT, interval=0.01,
                     what=f"class {name} on every Kea")  # fmt: skip
            dhcp_all.append(time.monotonic() - t0)
            assert sorted(answer["servers"]) == sorted(dhcp_ids) and not answer["failed"], answer
            print(f"  DHCP class {run + 1}/{FANOUT_RUNS}: all {len(every)} Kea hold it "
                  f"{dhcp_all[-1]:.3f} s", file=sys.stderr)  # fmt: skip
        load = os.getloadavg()[0]

    n = len(every)
    figures += [
        Figure(
            "fleet-fanout",
            f"one DNS record until all {n} appliances answer it, median",
            median(dns_all),
            "s",
        ),
        Figure(
            "fleet-fanout",
            "the same: until M's Central answered, median",
            median(dns_answered),
            "s",
        ),
        Figure(
            "fleet-fanout",
            f"one global DHCP class until all {n} Kea hold it, median",
            median(dhcp_all),
            "s",
        ),
        Figure(
            "fleet-fanout",
            "one appliance's join (one request on its Central), median",
            median(joins),
            "s",
        ),
        Figure("fleet-fanout", "M's Central idle RSS managing 1 appliance", alone[0], "MiB"),
        Figure("fleet-fanout", f"M's Central idle RSS managing {n} appliances", managed[0], "MiB"),
        Figure(
            "fleet-fanout",
            "M's Central idle anonymous memory managing 1 appliance",
            alone[1],
            "MiB",
        ),
        Figure(
            "fleet-fanout",
            f"M's Central idle anonymous memory managing {n} appliances",
            managed[1],
            "MiB",
        ),
        Figure("fleet-fanout", "load average (1 min) at the end", load, ""),
    ]
    return figures
