"""Central's API under load, before and after, side by side: GET of one object and of a page.

Four Central processes run at once on loopback: the code of commit ``BEFORE`` (extracted with
``git archive`` into a temporary folder, run with the same Python) and the current tree, each
on SQLite and on PostgreSQL (Debian's, on a unix socket), each with a database of its own
holding the same 120 servers made through the API. ``wrk`` (a compiled load generator, so the
client is not the limit) sends authenticated requests over HTTPS on kept-alive connections:
``GET /api/v1/servers/{id}`` and ``GET /api/v1/servers?limit=100``. The runs are interleaved
(each round measures every Central and request once, before and after back to back, their
order swapped every other round), so a noisy machine weighs on both alike. Figures are
medians over the rounds: requests per second, p50 and p95 latency, and the CPU that Central,
PostgreSQL and wrk used meanwhile. The machine's load average is printed with the table.
Central's idle memory (RSS) is read from /proc for the sandbox appliance's Central and for
each loopback Central after its load.

A third Central per database runs the current tree with two worker processes (``--workers
2``, not the default: see ``central/__main__.py``), to show what two cores give;
``BURROW_BENCH_CENTRAL_WORKERS=N`` makes it N workers, ``1`` leaves it out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from services.sandbox.sandbox import SOURCE_TREE, Sandbox
from tests.bench.report import Figure, median
from tests.bench.wrk import Load, Wrk, cpu_seconds, process_tree
from tests.harness.central import CentralProcess
from tests.harness.postgres import Postgres

#: The state before issue 14's round: main's commit before the round began.
BEFORE = "abb7d11"
CONNECTIONS = 8
SECONDS = 5.0
WARM_UP_SECONDS = 1.0
ROUNDS = 5
SERVERS = 120
#: Requests per second for one object, after, on two cores (issue 14).
TARGET_RATE = 1000
REQUESTS = ("one object", "100-item page")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def pss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no Pss for pid {pid}")


def extract(commit: str) -> Path:
    """Central's and the services' code at ``commit``, in a new temporary folder."""
    target = Path(tempfile.mkdtemp(prefix="bw-before-", dir="/tmp"))
    try:
        archive = subprocess.run(
            ["git", "-C", str(SOURCE_TREE), "archive", commit, "central", "services"],
            capture_output=True, check=True, timeout=120,
        )  # fmt: skip
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    except (subprocess.CalledProcessError, OSError) as exc:
        shutil.rmtree(target, ignore_errors=True)
        stderr = getattr(exc, "stderr", None)
        detail = stderr.decode(errors="replace") if isinstance(stderr, bytes) else ""
        raise RuntimeError(
            f"cannot extract commit {commit} from {SOURCE_TREE} (a git checkout is needed "
            f"for the 'before' figures): {exc} {detail}"
        ) from exc
    return target


@dataclass
class Subject:
    """One Central under load: which code, which database, and what it measured."""

    variant: str  # "before", "after", "after, 2 workers"
    backend: str  # "sqlite" or "postgresql"
    central: CentralProcess
    database_pid: int | None = None
    token: str = ""
    paths: dict[str, str] = field(default_factory=dict)
    loads: dict[str, list[Load]] = field(default_factory=dict)
    database_cores: dict[str, list[float]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.variant} {self.backend}"

    def start(self) -> None:
        self.central.start()
        username, password = self.central.admin_password()
        self.token = self.central.login(username, password)
        with self.central.client(self.token) as http:
            for n in range(SERVERS):
                response = http.post(
                    "/api/v1/servers",
                    json={"kind": "dns", "name": f"bench-{n}", "address": f"198.51.100.{n + 2}"},
                )
                if response.status_code != 201:
                    raise RuntimeError(f"{self.name}: making a server: {response.text}")
            one = response.json()["id"]
            page = http.get("/api/v1/servers?limit=100").json()
            if len(page["items"]) != 100 or page["total"] < SERVERS:
                raise RuntimeError(f"{self.name}: the page has {len(page['items'])} servers")
        self.paths = {"one object": f"/api/v1/servers/{one}",
                      "100-item page": "/api/v1/servers?limit=100"}  # fmt: skip

    def load(self, wrk: Wrk, label: str, seconds: float) -> Load:
        assert self.central.proc is not None
        watch = [self.central.proc.pid]
        database = process_tree(self.database_pid) if self.database_pid else []
        database_before, started = cpu_seconds(database), time.monotonic()
        result = wrk.run(
            self.central.url + self.paths[label],
            {"Authorization": f"Bearer {self.token}"},
            seconds,
            watch=watch,
        )
        if seconds >= SECONDS:
            self.loads.setdefault(label, []).append(result)
            used = (cpu_seconds(database) - database_before) / (time.monotonic() - started)
            self.database_cores.setdefault(label, []).append(used)
        return result

    def medians(self, label: str) -> dict[str, float]:
        loads = self.loads[label]
        return {
            "rate": median([x.rate for x in loads]),
            "p50": median([x.p50_ms for x in loads]),
            "p95": median([x.p95_ms for x in loads]),
            "central": median([x.server_cores for x in loads]),
            "cpu_ms": median([x.server_cores * x.seconds / x.requests * 1000 for x in loads]),
            "database": median(self.database_cores[label]) if self.database_pid else 0.0,
            "client": median([x.client_cores for x in loads]),
            "busy": median([x.machine_busy for x in loads]),
        }


def _postmaster_pid(postgres: Postgres) -> int:
    return int((postgres.data / "postmaster.pid").read_text().split("\n", 1)[0])


def _load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def side_by_side(subjects: list[Subject], loads: tuple[str, str]) -> str:
    """The table: every Central and request, with the ratio after/before."""
    head = ("central", "database", "request", "req/s", "p50 ms", "p95 ms", "Central CPU",
            "CPU/request", "DB CPU", "wrk CPU", "req/s a/b", "p95 a/b")  # fmt: skip
    rows: list[tuple[str, ...]] = [head]
    for backend in ("sqlite", "postgresql"):
        base = {s.variant: s for s in subjects if s.backend == backend}
        if "before" not in base:
            continue
        for label in REQUESTS:
            before = base["before"].medians(label)
            for subject in (s for s in subjects if s.backend == backend):
                m = subject.medians(label)
                ratio_rate = ratio_p95 = ""
                if subject.variant != "before":
                    ratio_rate = f"{m['rate'] / before['rate']:.2f}"
                    ratio_p95 = f"{m['p95'] / before['p95']:.2f}"
                rows.append((
                    subject.variant, backend, label, f"{m['rate']:.0f}", f"{m['p50']:.1f}",
                    f"{m['p95']:.1f}", f"{m['central']:.2f} cores", f"{m['cpu_ms']:.2f} ms",
                    f"{m['database']:.2f} cores" if subject.database_pid else "-",
                    f"{m['client']:.2f} cores", ratio_rate, ratio_p95,
                ))  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = [
        f"Central GET over HTTPS, wrk with {CONNECTIONS} kept-alive connections, {SECONDS:g} s a "
        f"run, medians of {ROUNDS} interleaved rounds; before = {BEFORE}; ratios after/before;",
        "Central CPU: cores Central's processes used during the run; CPU/request: their CPU time"
        " per answered request",
        f"load average before the runs {loads[0]}, after {loads[1]}; all CPUs busy "
        f"{median([x.machine_busy for s in subjects for v in s.loads.values() for x in v]):.0%}"
        " of the time (median of the runs)",
    ]
    for n, row in enumerate(rows):
        cells = [
            c.ljust(w) if i < 3 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _figures(subjects: list[Subject]) -> list[Figure]:
    figures = []
    for subject in subjects:
        suffix = "" if subject.variant == "after" else f" ({subject.variant})"
        if subject.variant == "before":
            suffix = f" (before, {BEFORE})"
        for label in REQUESTS:
            m = subject.medians(label)
            rate = Figure("central", f"{subject.backend} GET {label}{suffix}", m["rate"], "req/s")
            if label == "one object" and subject.variant != "before":
                rate.target = f">= {TARGET_RATE} req/s"
                rate.verdict = "ok" if m["rate"] >= TARGET_RATE else "MISSED"
            figures.append(rate)
            figures.append(
                Figure("central", f"{subject.backend} GET {label} p95{suffix}", m["p95"], "ms")
            )
    return figures


def central_api(box: Sandbox) -> list[Figure]:
    figures = [
        Figure("central", "appliance Central RSS, idle", rss_mib(box.supervisor().pid("central")),
               "MiB", "<= 150 MiB"),
    ]  # fmt: skip
    figures[0].verdict = "ok" if figures[0].value <= 150 else "MISSED"
    return figures + before_and_after()


def before_and_after() -> list[Figure]:
    """Start the Centrals, load them in interleaved rounds, print the table; the figures."""
    figures: list[Figure] = []
    variants: list[tuple[str, int]] = [("before", 1), ("after", 1)]
    workers = int(os.environ.get("BURROW_BENCH_CENTRAL_WORKERS", "2"))
    if workers > 1:
        variants.append((f"after, {workers} workers", workers))
    before_tree = extract(BEFORE)
    postgres = Postgres().start()
    wrk = Wrk(connections=CONNECTIONS)
    subjects: list[Subject] = []
    try:
        for backend in ("sqlite", "postgresql"):
            for n, (variant, count) in enumerate(variants):
                source = before_tree if variant == "before" else SOURCE_TREE
                url = postgres.create_database(f"bench{n}") if backend == "postgresql" else None
                subject = Subject(
                    variant, backend, CentralProcess(url, source=source, workers=count)
                )
                if url:
                    subject.database_pid = _postmaster_pid(postgres)
                subjects.append(subject)
                print(f"  starting Central {subject.name}", file=sys.stderr)
                subject.start()
        for subject in subjects:
            for label in REQUESTS:
                subject.load(wrk, label, WARM_UP_SECONDS)
        loads_before = _load_average()
        for run in range(ROUNDS):
            for backend in ("sqlite", "postgresql"):
                for label in REQUESTS:
                    order = [s for s in subjects if s.backend == backend]
                    for subject in order if run % 2 == 0 else reversed(order):
                        result = subject.load(wrk, label, SECONDS)
                        print(f"  round {run + 1}/{ROUNDS} {subject.name} {label}: "
                              f"{result.rate:.0f} req/s, p95 {result.p95_ms:.1f} ms, Central "
                              f"{result.server_cores:.2f} cores, machine "
                              f"{result.machine_busy:.0%} busy", file=sys.stderr)  # fmt: skip
        loads_after = _load_average()
        print(side_by_side(subjects, (loads_before, loads_after)))
        print()
        figures.extend(_figures(subjects))
        time.sleep(2)  # let them go idle
        for subject in subjects:
            if subject.variant == "before":
                continue
            assert subject.central.proc is not None
            if subject.central.workers == 1:
                rss = rss_mib(subject.central.proc.pid)
                metric = f"{subject.backend} RSS after load, idle"
            else:  # shared pages counted once: the proportional set size of every process
                rss = sum(pss_mib(pid) for pid in process_tree(subject.central.proc.pid))
                metric = f"{subject.backend} PSS after load, idle ({subject.variant})"
            figures.append(Figure("central", metric, rss, "MiB"))
    finally:
        for subject in subjects:
            subject.central.stop()
        postgres.stop()
        wrk.close()
        shutil.rmtree(before_tree, ignore_errors=True)
    return figures
