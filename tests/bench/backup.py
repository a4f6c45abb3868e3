"""Backups between appliances on a lab network (issue 7): (a) a committed change on A until it
is stored at B; (c) a restore from approval until the replacement C serves everything.

(a) ``CHANGES`` DNS record changes, one at a time, through A's Central. Per change: from the
moment A's Central committed it (its history entry's time) until B has recorded a snapshot
that A made after it (B's ``received_at``); A and B run on this machine's one clock. Median
and p95 over all changes; target p95 ≤ 1 s.

(d) ``LEASE_CHANGES`` leases added to A's Kea one at a time (``lease4-add`` through the
Control Agent: Kea appends each to its lease file as it does for a client's lease). Per lease:
from the lease file's modification time (Kea's write) until B has recorded a snapshot that A
made after it. Median and p95; target p95 ≤ 2 s.

(e) ``SAFE_CHANGES`` DNS changes answered at once (the default) and as many answered only once
B stored them (``?wait_for_backup=true``), interleaved: the time until Central answered,
median and p95 of each, and the cost of waiting (the difference of the medians).

(c) A holds ``ZONES`` zones with ``RECORDS`` records in all (through Central's zone API,
records sent with each zone) and ``LEASES`` active DHCPv4 leases (``lease4-add`` through
Kea's Control Agent in a scope of 198.18.0.0/18, the benchmarking network of RFC 2544, that
is configured only and never carries traffic). A's full backup is stored at B; A is destroyed
and C starts on A's address with a fresh root; B offers the restore. Measured from the
approval until C answers for every zone (SOA and one record each, from named), Kea holds
every lease and C's Central lists every zone. Repeated ``RESTORE_RUNS`` times, each with a new
replacement (the previous one is destroyed in turn); target ≤ 30 s.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import socket
import sys
import threading
import time
from typing import Any

import dns.exception
import dns.message
import dns.query
import dns.rdatatype
import httpx

from services.common.proc import run
from services.sandbox.lab import Lab
from services.sandbox.sandbox import Sandbox
from tests.backups.appliance import CentralApi, record
from tests.backups.lab_flow import (
    approve,
    last_change_at,
    pair,
    parse_time,
    set_detect_interval,
    snapshots,
    wait_offer,
)
from tests.bench.report import Figure, at_most, median, percentile
from tests.conftest import open_lab
from tests.harness.wait import wait_for

CHANGES = 200
LEASE_CHANGES = 40
SAFE_CHANGES = 40
ZONES = 1_000
RECORDS = 100_000
LEASES = 10_000
RESTORE_RUNS = 3
LEASE_SUBNET = "198.18.0.0/18"

#: Adds leases through the Control Agent on 127.0.0.1:8000, run inside A's namespace.
_ADD_LEASES = r"""
import base64, http.client, ipaddress, json, sys
spec = json.load(sys.stdin)
auth = "Basic " + base64.b64encode(f"burrow:{spec['password']}".encode()).decode()
net = ipaddress.IPv4Network(spec["subnet"])
conn = http.client.HTTPConnection("127.0.0.1", 8000, timeout=30)
for i in range(spec["count"]):
    address = str(net[10 + i])
    body = json.dumps({"command": "lease4-add", "service": ["dhcp4"], "arguments": {
        "ip-address": address, "hw-address": "02:b7:%02x:%02x:%02x:%02x" % (
            i >> 24 & 255, i >> 16 & 255, i >> 8 & 255, i & 255),
        "subnet-id": spec["subnet_id"], "valid-lft": 86400, "hostname": f"bench{i}"}})
    for attempt in range(2):
        try:
            conn.request("POST", "/", body, {"Content-Type": "application/json",
                                             "Authorization": auth})
            answer = json.loads(conn.getresponse().read())
            break
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", 8000, timeout=30)
    if answer[0]["result"] != 0:
        sys.exit(f"lease4-add {address}: {answer[0]}")
print("ok")
"""


def _log(message: str) -> None:
    print(f"[backup] {message}", file=sys.stderr, flush=True)


# --- (a) ------------------------------------------------------------------------------------
def change_to_stored(lab: Lab) -> list[Figure]:
    a = lab.sandbox("a", dhcp=True)
    b = lab.sandbox("b")
    on_a, on_b = CentralApi(a), CentralApi(b)
    dns_server = on_a.local_server("dns")
    zone = on_a.post(
        "/api/v1/dns/zones", {"server_id": dns_server, "name": "bench.e2e.test.", "kind": "primary"}
    )
    peer_id = pair(a, b, on_b, on_a)
    wait_for(lambda: snapshots(on_b, peer_id) or None, timeout=120, what="the first backup")
    latencies: list[float] = []
    for index in range(CHANGES):
        on_a.post(
            f"/api/v1/dns/zones/{zone['id']}/changes",
            {"changes": [record(f"h{index}", "A", f"198.51.100.{index % 250 + 1}")]},
        )
        committed = last_change_at(on_a)

        def stored(moment: Any = committed) -> dict[str, Any] | None:
            items = on_b.get(f"/api/v1/backup-peers/{peer_id}/snapshots")["items"]
            later = [s for s in items if parse_time(s["created_at"]) > moment]
            return min(later, key=lambda s: s["id"]) if later else None

        snap = wait_for(stored, timeout=60, interval=0.05, what="the change stored at B")
        latencies.append((parse_time(snap["received_at"]) - committed).total_seconds())
        if index % 50 == 49:
            _log(f"{index + 1} changes: median {median(latencies):.3f} s")
    p95 = percentile(latencies, 95)
    return [
        Figure("backup", f"change committed on A -> stored at B, median of {CHANGES}",
               median(latencies), "s"),
        Figure("backup", f"change committed on A -> stored at B, p95 of {CHANGES}", p95, "s",
               "<= 1.0", at_most(p95, 1.0)),
        Figure("backup", "change committed on A -> stored at B, max", max(latencies), "s"),
    ]  # fmt: skip


# --- (e) ------------------------------------------------------------------------------------
def answer_when_safe(lab: Lab) -> list[Figure]:
    """A DNS change through A's Central answered at once (the default) and answered only once
    B stored it (``?wait_for_backup=true``), interleaved, ``SAFE_CHANGES`` of each."""
    a = lab.sandbox("a", dhcp=True)
    b = lab.sandbox("b")
    on_a, on_b = CentralApi(a), CentralApi(b)
    zone = on_a.post(
        "/api/v1/dns/zones",
        {"server_id": on_a.local_server("dns"), "name": "safe.e2e.test.", "kind": "primary"},
    )
    peer_id = pair(a, b, on_b, on_a)
    wait_for(lambda: snapshots(on_b, peer_id) or None, timeout=120, what="the first backup")
    path = f"/api/v1/dns/zones/{zone['id']}/changes"
    times: dict[str, list[float]] = {"default": [], "safe": []}
    states: dict[str, list[str]] = {"default": [], "safe": []}
    for index in range(2 * SAFE_CHANGES):
        kind = "safe" if index % 2 else "default"
        query = "?wait_for_backup=true" if kind == "safe" else ""
        started = time.monotonic()
        answer = on_a.call("POST", path + query,
                           {"changes": [record(f"s{index}", "A", "198.51.100.9")]})  # fmt: skip
        times[kind].append(time.monotonic() - started)
        assert answer.status_code == 200, answer.text
        states[kind].append(answer.headers["X-Burrow-Backup"])
        time.sleep(0.3)
    assert all(state == "stored" for state in states["safe"]), states["safe"]
    cost = median(times["safe"]) - median(times["default"])
    return [
        Figure("backup", f"change answered at once, median of {SAFE_CHANGES}",
               median(times["default"]), "s"),
        Figure("backup", "change answered at once, p95", percentile(times["default"], 95), "s"),
        Figure("backup", f"change answered when stored at B, median of {SAFE_CHANGES}",
               median(times["safe"]), "s"),
        Figure("backup", "change answered when stored at B, p95", percentile(times["safe"], 95),
               "s"),
        Figure("backup", "cost of answering when safe (median difference)", cost, "s"),
    ]  # fmt: skip


# --- (d) ------------------------------------------------------------------------------------
def lease_to_stored(lab: Lab) -> list[Figure]:
    a = lab.sandbox("a", dhcp=True)
    b = lab.sandbox("b")
    on_a, on_b = CentralApi(a), CentralApi(b)
    peer_id = pair(a, b, on_b, on_a)
    wait_for(lambda: snapshots(on_b, peer_id) or None, timeout=120, what="the first backup")
    scope = on_a.post(
        f"/api/v1/dhcp/servers/{on_a.local_server('dhcp')}/v4/scopes",
        {"subnet": "198.18.64.0/24", "pools": [{"start": "198.18.64.10", "end": "198.18.64.250"}],
         "comment": "bench leases (configured only)"},
    )  # fmt: skip
    first = ipaddress.IPv4Address("198.18.64.10")
    lease_file = a.root.kea_lib / "kea-leases4.csv"
    latencies: list[float] = []
    for index in range(LEASE_CHANGES):
        time.sleep(1.5)  # one lease at a time: the previous one is at B by now
        before = lease_file.stat().st_mtime_ns
        mac = f"02:b7:00:00:01:{index:02x}"
        answer = a.kea("lease4-add", arguments={
            "ip-address": str(first + index), "hw-address": mac, "subnet-id": scope["id"],
            "valid-lft": 3600, "hostname": f"lease{index}"})  # fmt: skip
        assert answer["result"] == 0, answer
        written = wait_for(
            lambda before=before: (m := lease_file.stat().st_mtime_ns) != before and m,
            timeout=10, interval=0.01, what="Kea's lease file written",
        )  # fmt: skip
        moment = dt.datetime.fromtimestamp(written / 1e9, dt.UTC)

        def stored(moment: dt.datetime = moment) -> dict[str, Any] | None:
            items = on_b.get(f"/api/v1/backup-peers/{peer_id}/snapshots")["items"]
            later = [s for s in items if parse_time(s["created_at"]) > moment]
            return min(later, key=lambda s: s["id"]) if later else None

        snap = wait_for(stored, timeout=60, interval=0.05, what="the lease stored at B")
        latencies.append((parse_time(snap["received_at"]) - moment).total_seconds())
    p95 = percentile(latencies, 95)
    return [
        Figure("backup", f"lease written on A -> stored at B, median of {LEASE_CHANGES}",
               median(latencies), "s"),
        Figure("backup", f"lease written on A -> stored at B, p95 of {LEASE_CHANGES}", p95, "s",
               "<= 2.0", at_most(p95, 2.0)),
    ]  # fmt: skip


# --- (c) ------------------------------------------------------------------------------------
def _add_zone(on_a: CentralApi, body: dict[str, Any]) -> None:
    """Add one zone. On a loaded machine the answer may come too late (the request timed out
    while Central still worked on it) or fail: the zone is then waited for, and asked for
    again only if it does not appear."""
    query = f"/api/v1/dns/zones?filter=name:{body['name']}&limit=1"
    for _attempt in range(3):
        try:
            answer = on_a.call("POST", "/api/v1/dns/zones", body)
            if answer.status_code < 300:
                return
            why = f"HTTP {answer.status_code}"
        except httpx.TransportError as exc:
            why = type(exc).__name__
        _log(f"zone {body['name']}: {why}; waiting to see whether it was made")
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                if on_a.get(query)["total"]:
                    return
            except (httpx.TransportError, AssertionError):
                pass
            time.sleep(3)
    raise AssertionError(f"zone {body['name']} could not be added")


def _fill(a: Sandbox, on_a: CentralApi) -> None:
    dns_server = on_a.local_server("dns")
    per_zone = RECORDS // ZONES
    started = time.monotonic()
    for z in range(ZONES):
        records = [
            {"name": f"h{i}", "type": "A", "data": f"10.{z >> 8 & 255}.{z & 255}.{i}"}
            for i in range(per_zone)
        ]
        _add_zone(on_a, {"server_id": dns_server, "name": f"z{z}.bench.", "kind": "primary",
                         "records": records})  # fmt: skip
        if z % 200 == 199:
            _log(f"{z + 1} zones in {time.monotonic() - started:.0f} s")
    dhcp = on_a.local_server("dhcp")
    scope = on_a.post(
        f"/api/v1/dhcp/servers/{dhcp}/v4/scopes",
        {"subnet": LEASE_SUBNET, "pools": [{"start": "198.18.0.10", "end": "198.18.63.250"}],
         "comment": "bench leases (configured only)"},
    )  # fmt: skip
    started = time.monotonic()
    spec = {
        "password": a.root.kea_api_password.read_text().strip(),
        "subnet": LEASE_SUBNET,
        "subnet_id": scope["id"],
        "count": LEASES,
    }
    run([sys.executable, "-c", _ADD_LEASES], netns=a.ns, input_text=json.dumps(spec),
        timeout=900)  # fmt: skip
    _log(f"{LEASES} leases in {time.monotonic() - started:.0f} s")


def _lease_count(box: Sandbox) -> int:
    answer = box.kea("lease4-get-all", timeout=20)
    return len(answer.get("arguments", {}).get("leases", []))


def _assigned_leases(box: Sandbox) -> int:
    """Active leases as Kea counts them (stat_cmds: cheap, unlike listing 10,000 leases)."""
    answer = box.kea("stat-lease4-get", timeout=5)
    result = answer.get("arguments", {}).get("result-set", {})
    columns = result.get("columns", [])
    if "assigned-addresses" not in columns:
        return 0
    at = columns.index("assigned-addresses")
    return sum(int(row[at]) for row in result.get("rows", []))


def _unanswered(box: Sandbox, names: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (name, type) of ``names`` that named does not answer (with data), asked 64 at a
    time over UDP; a lost datagram counts as unanswered and is asked again by the caller."""
    pending = {index: item for index, item in enumerate(names)}
    missing: list[tuple[str, str]] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect((box.address, 53))
        sock.settimeout(0.5)
        queue = list(pending)
        while queue:
            batch, queue = queue[:64], queue[64:]
            sent: dict[int, int] = {}
            for index in batch:
                name, rtype = pending[index]
                query = dns.message.make_query(name, dns.rdatatype.from_text(rtype))
                query.id = index
                sent[index] = 1
                sock.send(query.to_wire())
            while sent:
                try:
                    answer = dns.message.from_wire(sock.recv(65535))
                except TimeoutError:
                    break
                except dns.exception.DNSException:
                    continue
                if answer.id in sent:
                    del sent[answer.id]
                    if not answer.answer:
                        missing.append(pending[answer.id])
            missing += [pending[index] for index in sent]
    return missing


def _every_zone_answers(box: Sandbox) -> bool:
    """named answers the SOA and one record of every zone (asked again once if lost)."""
    names = [(f"z{z}.bench.", "SOA") for z in range(ZONES)]
    names += [(f"h7.z{z}.bench.", "A") for z in range(ZONES)]
    missing = _unanswered(box, names)
    return bool(not missing or not _unanswered(box, missing))


class _Watch:
    """One condition of "C serves everything", polled on a thread of its own from the
    approval on: the moment it first held (seconds after ``t0``), or its last failure."""

    def __init__(self, name: str, check: Any, t0: float, interval: float) -> None:
        self.name, self.check, self.t0, self.interval = name, check, t0, interval
        self.at: float | None = None
        self.last = "not checked"
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"watch-{name}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                if self.check():
                    self.at = time.monotonic() - self.t0
                    return
                self.last = "not yet"
            except Exception as exc:
                self.last = f"{type(exc).__name__}: {exc}"[:200]
            self.stop.wait(self.interval)


class _CentralZones:
    """C's Central lists every bench zone, asked with a token of A's administrator: A's
    database comes back at C with its sessions (and C's own administrator, before the
    restore, gets 401 with it)."""

    def __init__(self, box: Sandbox, token: str) -> None:
        self.api = CentralApi(box, token=token)

    def __call__(self) -> bool:
        answer = self.api.call("GET", "/api/v1/dns/zones?filter=name~.bench.&limit=1")
        return bool(answer.status_code == 200 and answer.json()["total"] >= ZONES)


def _restore_once(
    on_b: CentralApi, offer: dict[str, Any], c: Sandbox, token: str
) -> dict[str, Any]:
    """Approve ``offer`` and measure, each on its own thread from the approval on: B sees the
    restore done; C's named answers every zone, its Kea holds every lease, its Central lists
    every zone. The restore's time is the last of them."""
    t0 = time.monotonic()
    answer = approve(on_b, offer, c)
    assert answer.status_code == 202, answer.text
    return _measure(on_b, offer["id"], c, token, t0)


def _measure(on_b: CentralApi, offer_id: int, c: Sandbox, token: str, t0: float) -> dict[str, Any]:
    """The restore approved at ``t0``, followed and measured (see ``_restore_once``)."""
    watches = [
        # one zone first (cheap while C is not restored yet), then every zone
        _Watch("named answers every zone",
               lambda: not _unanswered(c, [(f"z{ZONES - 1}.bench.", "SOA")])
               and _every_zone_answers(c), t0, 0.1),
        _Watch("Kea holds every lease",
               lambda: _assigned_leases(c) >= LEASES and _lease_count(c) >= LEASES, t0, 0.1),
        _Watch("Central lists every zone", _CentralZones(c, token), t0, 0.1),
    ]  # fmt: skip
    try:
        final = _follow_steps(on_b, offer_id, t0)
        restored = time.monotonic() - t0
        assert final["state"] == "restored", final
        deadline = time.monotonic() + 600
        for watch in watches:
            watch.thread.join(max(0.0, deadline - time.monotonic()))
            assert watch.at is not None, f"{watch.name}: {watch.last}"
    finally:
        for watch in watches:
            watch.stop.set()
    total = max([restored] + [w.at for w in watches if w.at is not None])
    progress = json.loads((c.root.lib / "backup/restore/progress.json").read_text())
    return {
        "total": total,
        "restored": restored,
        "watches": {w.name: w.at for w in watches},
        "step": final["step"],
        "timings": progress.get("timings", []),
        "seconds": progress.get("seconds"),
    }


def _log_breakdown(run: dict[str, Any]) -> None:
    _log("  at the replacement (from the first byte received):")
    for entry in run["timings"]:
        _log(f"    {entry['step']:<8} at {entry['at']:6.2f} s  took {entry['seconds']:6.2f} s")
    _log(f"  B: {run['step']}")
    _log(f"  {'B saw it restored':<28} {run['restored']:6.2f} s after the approval")
    for name, at in run["watches"].items():
        _log(f"  {name:<28} {at:6.2f} s after the approval")


def _log_central_start(box: Sandbox) -> None:
    """Where C's Central's last start went, as its log says (code loaded, held, ready)."""
    try:
        lines = (box.root.logs / "central.log").read_text().splitlines()
    except OSError:
        return
    marks = ("code loaded", "released after", "start-up work done")
    starts = [i for i, line in enumerate(lines) if "code loaded" in line]
    for line in lines[starts[-1] if starts else len(lines) :]:
        if any(mark in line for mark in marks):
            _log(f"  C's Central: {line.split(': ', 1)[-1]}")


def restore_time(lab: Lab) -> list[Figure]:
    a = lab.sandbox("a", dhcp=True)
    b = lab.sandbox("b")
    on_a, on_b = CentralApi(a), CentralApi(b)
    set_detect_interval(on_b, 1)
    _fill(a, on_a)
    assert _lease_count(a) >= LEASES
    peer_id = pair(a, b, on_b, on_a)
    started = time.monotonic()
    moment = last_change_at(on_a)
    wait_for(
        lambda: [s for s in snapshots(on_b, peer_id) if s["kind"] == "full"
                 and parse_time(s["created_at"]) > moment] or None,
        timeout=600, interval=0.5, what="A's full backup at B",
    )  # fmt: skip
    size = snapshots(on_b, peer_id)[0]["size"]
    _log(f"full backup stored in {time.monotonic() - started:.1f} s ({size} bytes)")
    # everything A holds is at B: wait for the producer to settle (incrementals after the full)
    wait_for(
        lambda: on_a.get("/api/v1/appliance/backup-status")["outbox"] == 0 or None,
        timeout=300,
        what="A's outbox empty",
    )
    lost = a
    runs: list[dict[str, Any]] = []
    for run_index in range(RESTORE_RUNS):
        lost.stop(remove_root=True)
        lost.root.root.mkdir()
        c = lab.sandbox(f"c{run_index}", address=lost.address, root_dir=lost.root.root)
        offer = wait_offer_new(on_b, lost.address, run_index)
        runs.append(_restore_once(on_b, offer, c, on_a.token))
        _log(f"restore {run_index + 1}: {runs[-1]['total']:.1f} s (load {_load()})")
        _log_breakdown(runs[-1])
        _log_central_start(c)
        lost = c
    times = [r["total"] for r in runs]
    figures = [
        Figure("backup", f"restore, approval -> C serves {ZONES} zones, {RECORDS} records, "
               f"{LEASES} leases (median of {RESTORE_RUNS})", median(times), "s", "<= 10",
               at_most(median(times), 10.0)),
        Figure("backup", "restore, slowest run", max(times), "s"),
        Figure("backup", "restore, approval -> B sees it restored (median)",
               median([r["restored"] for r in runs]), "s"),
    ]  # fmt: skip
    for name in runs[0]["watches"]:
        figures.append(Figure("backup", f"restore, approval -> {name} (median)",
                              median([r["watches"][name] for r in runs]), "s"))  # fmt: skip
    for step in [e["step"] for e in runs[0]["timings"]]:
        took = [e["seconds"] for r in runs for e in r["timings"] if e["step"] == step]
        figures.append(Figure("backup", f"restore step at C: {step} (median)", median(took), "s"))
    figures.append(Figure("backup", "full backup of that appliance (bytes collected)", size,
                          "bytes"))  # fmt: skip
    return figures


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def _follow_steps(on_b: CentralApi, offer_id: int, t0: float) -> dict[str, Any]:
    """Wait for the restore to end, logging each step B reports with the time it was seen."""
    seen = ""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        offer = next(o for o in on_b.get("/api/v1/replacements")["items"] if o["id"] == offer_id)
        step = f"{offer['state']}: {offer['step']}"
        if step != seen:
            _log(f"  {time.monotonic() - t0:6.1f} s  {step}")
            seen = step
        if offer["state"] in ("restored", "failed"):
            return dict(offer)
        time.sleep(0.05)
    raise TimeoutError("the restore did not finish in 600 s")


def wait_offer_new(on_b: CentralApi, address: str, count: int) -> dict[str, Any]:
    """The offer for the ``count``-th replacement at ``address`` (earlier ones are done)."""

    def found() -> dict[str, Any] | None:
        items = [o for o in on_b.get("/api/v1/replacements")["items"] if o["address"] == address]
        return items[0] if len(items) > count and items[0]["state"] == "offered" else None

    if count == 0:
        return wait_offer(on_b, address, timeout=60)
    return dict(wait_for(found, timeout=60, interval=0.2, what="a new offer"))


def backup_bench(_box: Sandbox) -> list[Figure]:
    """(a), (d) and (c) in labs of their own (the bench's own sandbox is not used)."""
    figures: list[Figure] = []
    with open_lab("ba") as lab:
        figures += change_to_stored(lab)
    with open_lab("bd") as lab:
        figures += lease_to_stored(lab)
    with open_lab("be") as lab:
        figures += answer_when_safe(lab)
    with open_lab("bc") as lab:
        figures += restore_time(lab)
    return figures


def backup_change_bench(_box: Sandbox) -> list[Figure]:
    with open_lab("ba") as lab:
        return change_to_stored(lab)


def backup_lease_bench(_box: Sandbox) -> list[Figure]:
    with open_lab("bd") as lab:
        return lease_to_stored(lab)


def backup_safe_bench(_box: Sandbox) -> list[Figure]:
    with open_lab("be") as lab:
        return answer_when_safe(lab)


def backup_restore_bench(_box: Sandbox) -> list[Figure]:
    with open_lab("bc") as lab:
        return restore_time(lab)
