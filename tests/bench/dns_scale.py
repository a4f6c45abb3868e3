"""DNS at scale: a large zone import until named answers it, and a change to one zone while
another is imported.

(a) ``dns-import``: a 60,000-record zone file (about 5 MB: A, AAAA, TXT, MX and CNAME records)
    imported through Central's API, from the request until named answers every record of it,
    RUNS times (the zone is deleted between runs); the same straight through the dns-agent for
    comparison. "Every record answered" is the moment named answers the SOA and each of 100
    records spread over the file, the first and the last among them, each asked by a real
    query until it is answered (named swaps a zone it loads or reloads in whole); every run
    then checks, by a zone transfer outside the timing, that named serves all the records and
    that Central stored them all.
(b) ``dns-parallel``: while a 30,000-record zone is imported into zone Y through Central, one
    record at a time is created in zone X through Central, one request after the other, until
    the import has answered; the figure is the 95th percentile of those changes' times until
    named answers the record (each change's own request to answer), median over RUNS runs.
"""

from __future__ import annotations

import sys
import threading
import time

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.xfr
import dns.zone
import httpx

from services.sandbox.sandbox import Sandbox
from tests.bench.dns import _address, _answered, _central_client, _client
from tests.bench.report import Figure, at_most, median, percentile
from tests.harness import appliance_dns

IMPORT_RECORDS = 60_000
PARALLEL_RECORDS = 30_000
RUNS = 3
IMPORT_TARGET_S = 5.0
PARALLEL_TARGET_MS = 200.0


def zone_file(origin: str, count: int) -> str:
    """A zone file of ``origin`` with ``count`` records besides the SOA (about 85 bytes each)."""
    lines = [
        f"$ORIGIN {origin}",
        "$TTL 3600",
        f"@ IN SOA ns1.{origin} hostmaster.{origin} 1 7200 3600 1209600 3600",
        "@ IN NS ns1",
        "ns1 IN A 10.255.255.1",
    ]
    for i in range(count - 2):
        kind = i % 5
        if kind == 0:
            lines.append(f"host{i} 3600 IN A {_address(i)}")
        elif kind == 1:
            lines.append(f"host{i} 3600 IN AAAA 2001:db8:{i // 65536:x}:{i % 65536:x}::1")
        elif kind == 2:
            lines.append(
                f'text{i} 3600 IN TXT "v=spf1 ip4:{_address(i)}/32 include:_spf.example.net '
                f'-all" "record {i} of the benchmark zone, padded to the length of the TXT '
                f'records of a real zone: a DKIM key or a site verification token"'
            )
        elif kind == 3:
            lines.append(f"mail{i}.mail-exchangers 3600 IN MX 10 host{i - 3}")
        else:
            lines.append(f"alias{i}.service-aliases 3600 IN CNAME host{i - 4}")
    return "\n".join(lines) + "\n"


def owner_of(i: int) -> tuple[str, str]:
    """The owner and type of the ``i``-th record ``zone_file`` writes after its first three."""
    prefix, rtype = (("host", "A"), ("host", "AAAA"), ("text", "TXT"), ("mail", "MX"),
                     ("alias", "CNAME"))[i % 5]  # fmt: skip
    suffix = {"MX": ".mail-exchangers", "CNAME": ".service-aliases"}.get(rtype, "")
    return f"{prefix}{i}{suffix}", rtype


#: Records asked for by real queries until each is answered: spread evenly over the file,
#: its first and its last among them.
SAMPLE = 100


def _answers(box: Sandbox, name: str, rtype: str) -> bool:
    query = dns.message.make_query(name, rtype)
    try:
        answer = dns.query.udp(query, box.address, timeout=0.5)
    except dns.exception.Timeout:
        return False
    return answer.rcode() == dns.rcode.NOERROR and bool(answer.answer)


def _until_served(box: Sandbox, origin: str, count: int, timeout: float = 600.0) -> float:
    """The moment named answers the SOA of ``origin`` and every record of a sample spread over
    its file, the last one included (each asked for until it is answered)."""
    last = count - 3
    step = max(1, last // (SAMPLE - 1))
    waiting = [(origin, "SOA")] + [
        (f"{owner}.{origin}", rtype)
        for owner, rtype in (owner_of(i) for i in sorted({*range(0, last + 1, step), last}))
    ]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        while waiting and _answers(box, *waiting[-1]):
            waiting.pop()
        if not waiting:
            return time.monotonic()
        time.sleep(0.005)
    raise TimeoutError(f"{origin} was not served within {timeout} s")


def _served_count(box: Sandbox, origin: str) -> int:
    """The records named serves in ``origin`` besides the SOA (a TSIG-signed AXFR, on the
    appliance as the dns-agent reads it: the appliance's key counts from 127.0.0.1 only)."""
    zone = appliance_dns.transfer(box, origin, relativize=False, timeout=120)
    return sum(1 for _n, _t, rdata in zone.iterate_rdatas() if rdata.rdtype != dns.rdatatype.SOA)


def _import_central(
    box: Sandbox, central: httpx.Client, server_id: int, origin: str, text: str
) -> tuple[httpx.Response, float]:
    t0 = time.monotonic()
    response = central.post(
        "/api/v1/dns/zones/import",
        json={"server_id": server_id, "name": origin, "text": text, "comment": "bench"},
    )
    return response, time.monotonic() - t0


def _drop_central(central: httpx.Client, zone_id: int) -> None:
    central.delete(f"/api/v1/dns/zones/{zone_id}", params={"comment": "bench"}).raise_for_status()


def dns_import(box: Sandbox) -> list[Figure]:
    """(a) 60,000 records imported until named answers them all: Central's API, the agent."""
    text = zone_file("import.bench.", IMPORT_RECORDS)
    print(f"  zone file of {IMPORT_RECORDS:,} records, {len(text) / 1e6:.1f} MB", file=sys.stderr)
    central, server_id = _central_client(box)
    via_central: list[float] = []
    answered: list[float] = []
    via_agent: list[float] = []
    try:
        with _client(box) as agent:
            for run in range(RUNS):
                origin = f"import{run}.bench."
                text = zone_file(origin, IMPORT_RECORDS)
                t0 = time.monotonic()
                response, took = _import_central(box, central, server_id, origin, text)
                if response.is_error:
                    raise RuntimeError(
                        f"the import answered {response.status_code}: {response.text}"
                    )
                served = _until_served(box, origin, IMPORT_RECORDS) - t0
                via_central.append(max(served, took))
                answered.append(took)
                count = _served_count(box, origin)
                assert count == IMPORT_RECORDS, f"named serves {count} records of {origin}"
                stored = response.json()["record_count"]
                assert stored == IMPORT_RECORDS, f"Central stored {stored} records"
                _drop_central(central, int(response.json()["id"]))

                origin = f"import-a{run}.bench."
                text = zone_file(origin, IMPORT_RECORDS)
                t0 = time.monotonic()
                agent.post("/zones/import", json={"name": origin, "text": text}).raise_for_status()
                via_agent.append(_until_served(box, origin, IMPORT_RECORDS) - t0)
                agent.delete(f"/zones/{origin}").raise_for_status()
                print(
                    f"  run {run + 1}/{RUNS}: through Central {via_central[-1]:.2f} s (answer "
                    f"{answered[-1]:.2f} s), through the agent {via_agent[-1]:.2f} s",
                    file=sys.stderr,
                )
    finally:
        central.close()
    value = median(via_central)
    return [
        Figure(
            "dns-import",
            f"{IMPORT_RECORDS:,}-record zone through Central until all answered, median",
            value, "s", f"<= {IMPORT_TARGET_S:g} s", at_most(value, IMPORT_TARGET_S),
        ),
        Figure("dns-import", "the same, Central's answer to the request, median",
               median(answered), "s"),
        Figure("dns-import", "the same straight through the dns-agent, median",
               median(via_agent), "s"),
    ]  # fmt: skip


class _Importer(threading.Thread):
    """A zone import through Central on a connection of its own, in the background."""

    def __init__(
        self, box: Sandbox, central: httpx.Client, server_id: int, origin: str, text: str
    ) -> None:
        super().__init__()
        self.box, self.central, self.server_id = box, central, server_id
        self.origin, self.text = origin, text
        self.started = threading.Event()
        self.outcome: dict[str, httpx.Response] = {}
        #: When Central answered the import.
        self.finished: list[float] = []

    def run(self) -> None:
        with httpx.Client(
            base_url=str(self.central.base_url), verify=self.box.tls_context(), timeout=600,
            headers=dict(self.central.headers),
        ) as other:  # fmt: skip
            self.started.set()
            self.outcome["import"] = other.post(
                "/api/v1/dns/zones/import",
                json={"server_id": self.server_id, "name": self.origin, "text": self.text,
                      "comment": "bench"},
            )  # fmt: skip
            self.finished.append(time.monotonic())


def dns_parallel(box: Sandbox) -> list[Figure]:
    """(b) one-record changes to zone X while a 30,000-record import runs into zone Y."""
    central, server_id = _central_client(box)
    p95s: list[float] = []
    medians: list[float] = []
    counts: list[float] = []
    try:
        created = central.post(
            "/api/v1/dns/zones",
            json={"server_id": server_id, "name": "parallel-x.bench.", "comment": "bench"},
        )
        created.raise_for_status()
        x_id = int(created.json()["id"])
        serial = 0
        for run in range(RUNS):
            origin = f"parallel-y{run}.bench."
            text = zone_file(origin, PARALLEL_RECORDS)
            importer = _Importer(box, central, server_id, origin, text)
            importer.start()
            importer.started.wait()
            time.sleep(0.2)  # the request is on its way and being read
            times: list[float] = []
            while importer.is_alive():
                serial += 1
                name = f"p{serial}"
                change = {
                    "action": "create",
                    "record": {"name": name, "type": "A", "data": _address(serial)},
                }
                t0 = time.monotonic()
                central.post(
                    f"/api/v1/dns/zones/{x_id}/changes",
                    json={"changes": [change], "comment": "bench"},
                ).raise_for_status()  # fmt: skip
                done = _answered(box, f"{name}.parallel-x.bench.")
                # only the changes sent while the import was in progress
                if not importer.finished or importer.finished[0] > t0:
                    times.append(done - t0)
            importer.join()
            response = importer.outcome["import"]
            response.raise_for_status()
            _drop_central(central, int(response.json()["id"]))
            counts.append(len(times))
            if times:
                p95s.append(percentile(times, 95))
                medians.append(median(times))
                print(
                    f"  run {run + 1}/{RUNS}: {len(times)} changes to X during the import into "
                    f"Y: median {medians[-1] * 1000:.1f} ms, p95 {p95s[-1] * 1000:.1f} ms, "
                    f"max {max(times) * 1000:.1f} ms; slowest five (ms): "
                    f"{', '.join(str(round(t * 1000)) for t in sorted(times)[-5:])}",
                    file=sys.stderr,
                )
        _drop_central(central, x_id)
    finally:
        central.close()
    value = median(p95s) * 1000 if p95s else float("nan")
    return [
        Figure(
            "dns-parallel",
            f"one record to X while {PARALLEL_RECORDS:,} records are imported into Y, p95",
            value, "ms", f"<= {PARALLEL_TARGET_MS:g} ms", at_most(value, PARALLEL_TARGET_MS),
        ),
        Figure("dns-parallel", "the same, median", median(medians) * 1000, "ms"),
        Figure("dns-parallel", "changes to X during one import, median", median(counts), ""),
    ]  # fmt: skip
