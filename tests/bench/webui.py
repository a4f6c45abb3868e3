"""Web console page times: a zone's records page (10,000 records), the zones list (10,000
zones, paged), the history (10,000 changes: paged, searched by object name, the logins
apart) and the DHCP leases page (10,000 leases, paged and searched), measured as an HTTP
client with a logged-in session sees them.

A Central process on loopback (SQLite, the appliance's default) is seeded straight in its
database, as the central-dns benchmark does: Central has a bulk endpoint for records (a change
set) but none for zones, and 10,000 zones one by one through an agent would take the whole
benchmark. The console (``python -m webui``) runs over HTTPS against that Central, logged in
through its own login form. One client with a keep-alive connection asks each page REQUESTS
times per run; a request's time is until the full HTML is read. The figure is the median over
RUNS runs of the 95th percentile. Central's own time for the same list call is shown beside
it, so that the console's share can be told apart.

The leases page needs a real Kea and dhcp-agent: it is measured on the benchmark's sandbox
appliance (its own console, Central and Kea), in a scope of the benchmarking network
198.18.128.0/18 (RFC 2544: configured, never on a link) filled with LEASES leases through
Kea's Control Agent (``lease4-add`` over one connection, inside the appliance's namespace);
the scope, and with it its leases, is deleted at the end.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx

from services.common.pki import CertificateAuthority
from services.common.proc import run
from services.sandbox.sandbox import SOURCE_TREE, Sandbox
from tests.bench.backup import _ADD_LEASES
from tests.bench.dns_seed import STAMP, fill, start_with_dns_server
from tests.bench.report import Figure, at_most, median, percentile
from tests.harness.central import CentralProcess, _stop, _wait, free_port

ZONES = 10_000
RECORDS = 10_000
HISTORY = 10_000
REQUESTS = 60
RUNS = 5
TARGET_MS = 300.0
BIG = "big.bench."
LEASES = 10_000
LEASE_SUBNET = "198.18.128.0/18"


def seed(central: CentralProcess, server_id: int) -> int:
    """10,000 zones; the first holds 10,000 records. Answers the big zone's id."""
    fill(
        central,
        server_id,
        ((z, BIG if z == 1 else f"z{z}.bench.", RECORDS if z == 1 else 2)
         for z in range(1, ZONES + 1)),
        ((1, f"h{i}.{BIG}", "A", 3600, f"10.{i // 65536}.{i // 256 % 256}.{i % 256}")
         for i in range(RECORDS)),
    )  # fmt: skip
    return 1


def seed_history(central: CentralProcess, count: int = HISTORY) -> None:
    """``count`` history entries as the console shows them: record changes of the big zone
    (a line removed, a line added), user changes and logins, one in ten of each kind."""

    def rows() -> Iterator[tuple[str | None, ...]]:
        for n in range(count):
            kind = n % 10
            if kind == 0:
                user = {"username": f"u{n}", "role": "read-only", "enabled": True}
                yield ("admin", "session", str(n), "login", None, json.dumps(user), "")
            elif kind == 1:
                before = {"username": f"u{n}", "role": "read-only", "display_name": ""}
                after = before | {"role": "dns-admin"}
                yield ("admin", "user", str(n), "update", json.dumps(before), json.dumps(after),
                       "more rights")  # fmt: skip
            else:
                name = f"h{n % RECORDS}.{BIG}"
                before = {"zone": BIG, "records": [f"{name} 3600 IN A 10.0.{n % 256}.1"]}
                after = {"zone": BIG, "serial": n,
                         "records": [f"{name} 3600 IN A 10.0.{n % 256}.2"]}  # fmt: skip
                yield ("admin", "dns-zone", "1", "change", json.dumps(before), json.dumps(after),
                       f"renumbered {n}")  # fmt: skip

    conn = sqlite3.connect(central.root.lib / "central.db", timeout=60)
    try:
        with conn:
            conn.executemany(
                "INSERT INTO history (at, actor, actor_id, object_type, object_id, action,"
                " before, after, comment) VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?)",
                ((STAMP, *row) for row in rows()),
            )
        conn.execute("ANALYZE")
    finally:
        conn.close()


class ConsoleProcess:
    """``python -m webui`` on loopback against ``central``, with a certificate of its CA."""

    def __init__(self, central: CentralProcess) -> None:
        self.central = central
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        ca = CertificateAuthority(central.root.pki / "ca")
        ca.issue(central.root.pki, "webui", server_names=["127.0.0.1"])

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> ConsoleProcess:
        env = {**os.environ, "PYTHONPATH": str(SOURCE_TREE)}
        log = self.central.root.logs / "webui.log"
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "webui", "--root", str(self.central.root.root),
                 "--port", str(self.port), "--redirect-port", str(free_port()),
                 "--central", self.central.url],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env=env, cwd=SOURCE_TREE,
            )  # fmt: skip
        _wait(self.proc, self.healthy, log, 60)
        return self

    def healthy(self) -> bool:
        with self.client() as http:
            return http.get("/health").status_code == 200

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=self.central.tls(), timeout=60)

    def stop(self) -> None:
        _stop(self.proc)
        self.proc = None


def _p95(http: httpx.Client, paths: list[str], check: str) -> float:
    latencies = []
    first = http.get(paths[0])
    assert first.status_code == 200 and check in first.text, first.text[:500]
    for n in range(REQUESTS):
        t0 = time.perf_counter()
        response = http.get(paths[n % len(paths)])
        _body = response.text
        latencies.append(time.perf_counter() - t0)
        assert response.status_code == 200, response.status_code
    return percentile(latencies, 95) * 1000


def _measure(
    label: str, http: httpx.Client, api: httpx.Client, paths: list[str], check: str,
    api_paths: list[str], api_check: str = '"items"',
) -> list[Figure]:  # fmt: skip
    """The page's p95 and Central's for the same call, medians over RUNS runs."""
    runs, api_runs = [], []
    for run_no in range(RUNS):
        runs.append(_p95(http, paths, check))
        api_runs.append(_p95(api, api_paths, api_check))
        print(f"  {label} run {run_no + 1}/{RUNS}: page p95 {runs[-1]:.1f} ms, "
              f"Central {api_runs[-1]:.1f} ms", file=sys.stderr)  # fmt: skip
    value = median(runs)
    return [
        Figure("webui", f"{label}: page p95", value, "ms", f"<= {TARGET_MS:.0f} ms",
               at_most(value, TARGET_MS)),
        Figure("webui", f"{label}: Central's API call p95", median(api_runs), "ms"),
    ]  # fmt: skip


def leases_bench(box: Sandbox) -> list[Figure]:
    """The leases page of the sandbox's console with LEASES leases in Kea."""
    token = box.central_token()
    server = box.https(1231, "/api/v1/dhcp/servers", 10, token=token).json()["items"][0]["id"]
    base = f"/api/v1/dhcp/servers/{server}/v4"
    made = box.https(1231, f"{base}/scopes", 60, method="POST", token=token, json_body={
        "subnet": LEASE_SUBNET, "pools": [{"start": "198.18.128.10", "end": "198.18.191.250"}],
        "comment": "bench leases (configured only)",
    })  # fmt: skip
    assert made.status_code == 201, made.text
    scope_id = made.json()["id"]
    try:
        t0 = time.perf_counter()
        spec = {"password": box.root.kea_api_password.read_text().strip(),
                "subnet": LEASE_SUBNET, "subnet_id": scope_id, "count": LEASES}  # fmt: skip
        run([sys.executable, "-c", _ADD_LEASES], netns=box.ns, input_text=json.dumps(spec),
            timeout=900)  # fmt: skip
        print(f"  added {LEASES} leases in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        page = f"/dhcp/leases?server={server}&family=v4"
        api_base = f"https://{box.address}:1231{base}/leases"
        pages = {
            "leases page of 10,000 leases, first page": (
                [page], "bench1", [f"{api_base}?limit=50"]),
            "leases page, page 100 (offset 4,950)": (
                [page + "&offset=4950"], "page 100 of",
                [f"{api_base}?count=true&offset=4950&limit=50"]),
            "leases page, search by host name": (
                [page + f"&hostname=bench{n}" for n in range(1000, 9000, 700)], "1 lease found",
                [f"{api_base}?hostname=bench{n}&limit=50" for n in range(1000, 9000, 700)]),
            "leases page, search by address": (
                [page + f"&address=198.18.{128 + n // 256}.{n % 256}"
                 for n in range(300, 9000, 700)], "1 lease found",
                [f"{api_base}?address=198.18.{128 + n // 256}.{n % 256}&limit=50"
                 for n in range(300, 9000, 700)]),
        }  # fmt: skip
        figures: list[Figure] = []
        headers = {"Authorization": f"Bearer {token}"}
        tls = box.tls_context()
        with httpx.Client(base_url=f"https://{box.address}", verify=tls, timeout=60) as http, \
                httpx.Client(verify=tls, timeout=60, headers=headers) as api:  # fmt: skip
            username, password = box.admin_credentials()
            login = http.post("/login", data={"username": username, "password": password},
                              follow_redirects=True)  # fmt: skip
            assert login.status_code == 200 and "Dashboard" in login.text, login.status_code

            # The first view shows the first page alone; its count of every lease comes in a
            # fragment after it. Side by side in each round, the count made cold each time (a
            # lease added and released through Central: Central forgets its count): the first
            # view, the count fragment, and the first view counting every lease (``count=yes``,
            # as every first view did before).
            def cold_count() -> None:
                spare = {"address": "198.18.191.251", "hw_address": "02:be:00:00:00:01",
                         "valid_lifetime": 3600, "comment": "bench"}  # fmt: skip
                api.post(f"{api_base}", json=spare).raise_for_status()
                api.delete(f"{api_base}/198.18.191.251?comment=bench").raise_for_status()

            def timed(path: str, check: str) -> float:
                t0 = time.perf_counter()
                answer = http.get(path)
                took = (time.perf_counter() - t0) * 1000
                assert answer.status_code == 200 and check in answer.text, answer.text[:300]
                return took

            rounds: dict[str, list[float]] = {"first": [], "count": [], "counted": []}
            for _ in range(RUNS):
                cold_count()
                rounds["first"].append(timed(page, "counting them"))
                rounds["count"].append(timed(f"/dhcp/leases/count?server={server}&family=v4",
                                             f"{LEASES} leases"))  # fmt: skip
                cold_count()
                rounds["counted"].append(timed(page + "&count=yes", f"{LEASES} leases"))
            print(f"  leases page, first view / its count / counted at once (ms): {rounds}",
                  file=sys.stderr)  # fmt: skip
            figures += [
                Figure("webui", "leases page, first view (the first page alone), median",
                       median(rounds["first"]), "ms"),
                Figure("webui", "leases count after the first view (every lease), median",
                       median(rounds["count"]), "ms"),
                Figure("webui", "leases page counting every lease at once (as before), median",
                       median(rounds["counted"]), "ms"),
            ]  # fmt: skip
            for label, (paths, check, api_paths) in pages.items():
                figures += _measure(label, http, api, paths, check, api_paths)
        return figures
    finally:
        box.https(1231, f"{base}/scopes/{scope_id}?comment=bench+done", 120, method="DELETE",
                  token=box.central_token())  # fmt: skip


def webui_bench(box: Sandbox) -> list[Figure]:
    figures = _records_and_zones()
    figures += leases_bench(box)
    return figures


def _records_and_zones() -> list[Figure]:
    central = CentralProcess()
    console: ConsoleProcess | None = None
    figures = []
    try:
        token, server_id = start_with_dns_server(central)
        t0 = time.perf_counter()
        zone_id = seed(central, server_id)
        seed_history(central)
        print(f"  seeded {ZONES} zones, {RECORDS} records in one zone, {HISTORY} changes in "
              f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)  # fmt: skip
        console = ConsoleProcess(central).start()
        pages = {
            "records page of a 10,000-record zone": (
                [f"/dns/zones/{zone_id}"], "h1000." + BIG,
                [f"/api/v1/dns/zones/{zone_id}/records?sort=name&limit=100"]),
            "records page, sorted by data, page 50": (
                [f"/dns/zones/{zone_id}?sort=-data&offset=5000"], "of 10000",
                [f"/api/v1/dns/zones/{zone_id}/records?sort=-data&offset=5000&limit=100"]),
            "records page, filtered": (
                [f"/dns/zones/{zone_id}?q=h12{i}" for i in range(10)], "h12",
                [f"/api/v1/dns/zones/{zone_id}/records?filter=h12{i}&limit=100"
                 for i in range(10)]),
            "zones list of 10,000 zones, first page": (
                ["/dns/zones"], "z1000.bench.", ["/api/v1/dns/zones?sort=name&limit=50"]),
            "zones list, page at offset 9,000": (
                ["/dns/zones?offset=9000"], "of 10000",
                ["/api/v1/dns/zones?sort=name&offset=9000&limit=50"]),
            "zones list, search": (
                [f"/dns/zones?q=z{n}" for n in range(100, 200, 7)], "bench.",
                [f"/api/v1/dns/zones?filter=z{n}&limit=50" for n in range(100, 200, 7)]),
            "history of 10,000 changes, first page": (
                ["/history"], "renumbered",
                ["/api/v1/history?kind=changes&sort=-id&limit=50"]),
            "history, page at offset 9,000": (
                ["/history?offset=9000"], "of 9",
                ["/api/v1/history?kind=changes&sort=-id&offset=9000&limit=50"]),
            "history, searched by a record's name": (
                [f"/history?name=h{n}.{BIG}" for n in range(1002, 1100, 7)], "renumbered",
                [f"/api/v1/history?kind=changes&filter=content~h{n}.{BIG}&sort=-id&limit=50"
                 for n in range(1002, 1100, 7)]),
            "history, the logins": (
                ["/history?kind=logins"], "login",
                ["/api/v1/history?kind=logins&sort=-id&limit=50"]),
        }  # fmt: skip
        with console.client() as http, central.client(token) as api:
            login = http.post(
                "/login",
                data=dict(zip(("username", "password"), central.admin_password(), strict=True)),
                follow_redirects=True,
            )
            assert login.status_code == 200 and "Dashboard" in login.text, login.status_code
            for label, (paths, check, api_paths) in pages.items():
                figures += _measure(label, http, api, paths, check, api_paths)
    finally:
        if console is not None:
            console.stop()
        central.stop()
    return figures
