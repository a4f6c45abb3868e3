"""The supervised bundle: crashes are survived, reported, and contained (issue: the bundle)."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from services.sandbox import netns
from services.sandbox.sandbox import AGENT_PORTS, SOURCE_TREE, Sandbox, clean
from tests.conftest import PREFIX, SandboxFactory, free_network
from tests.harness.dhcp import dhclient
from tests.harness.wait import wait_for

_TOKENS: dict[str, str] = {}


def _events(box: Sandbox, program: str) -> list[dict[str, object]]:
    """Central's service events of ``program`` (the API needs a login)."""
    if box.name not in _TOKENS:
        _TOKENS[box.name] = box.central_token()
    response = box.https(
        1231, f"/api/v1/service-events?program={program}", token=_TOKENS[box.name], timeout=5
    )
    response.raise_for_status()
    return list(response.json()["items"])


def _serving_checks(box: Sandbox) -> dict[str, Callable[[], object]]:
    clients = []

    def dhcp() -> bool:
        if not clients:
            clients.append(box.add_client())
        return bool(dhclient(clients[0], timeout=15)["new_ip_address"])

    def agent(port: int) -> Callable[[], object]:
        return lambda: box.https(port, "/health").status_code == 200

    return {
        "named": box.check_dns,
        "kea-dhcp4": dhcp,
        "kea-ctrl-agent": lambda: box.kea("status-get")["result"] == 0,
        "central": box.check_central,
        "dns-dhcp-agent": lambda: agent(1337)() and agent(4151)(),
        "appliance-agent": agent(AGENT_PORTS["appliance-agent"]),
        "webui": agent(443),
    }


def test_every_program_runs_under_one_supervisord(shared_sandbox: Sandbox) -> None:
    view = shared_sandbox.supervisor()
    states = view.states()
    assert states == {name: "RUNNING" for name in states}
    assert set(states) >= {
        "named", "kea-dhcp4", "kea-dhcp6", "kea-ctrl-agent", "central", "dns-dhcp-agent",
        "appliance-agent", "webui", "diag-shell",
    }  # fmt: skip
    supervisord_pid = shared_sandbox.process.pid if shared_sandbox.process else 0
    for name in ("named", "kea-dhcp4", "kea-dhcp6", "kea-ctrl-agent"):
        pid = view.pid(name)
        stat = Path(f"/proc/{pid}/stat").read_text()
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        assert parent == supervisord_pid, f"{name} is not supervisord's child"
    # No second named or Kea: every such process in the namespace is supervisord's.
    ours = {view.pid(n) for n in ("named", "kea-dhcp4", "kea-dhcp6", "kea-ctrl-agent")}
    for pid in netns.pids(shared_sandbox.ns):
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
        if comm in ("named", "kea-dhcp4", "kea-dhcp6", "kea-ctrl-agent"):
            assert pid in ours, f"an extra {comm} runs as pid {pid}"


def _nice_values(pid: int) -> dict[int, int]:
    """The nice value of every thread of ``pid`` (field 19 of /proc/PID/task/TID/stat)."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found[int(task.name)] = int((task / "stat").read_text().rsplit(")", 1)[1].split()[16])
    return found


def test_programs_started_at_a_lower_priority_serve_at_priority_0(shared_sandbox: Sandbox) -> None:
    """The programs the health does not wait for start at nice 19 (services.common.priority)
    and put every thread back at 0 once they serve; the others never leave 0."""
    from services.common.launch import START_NICED
    from services.common.priority import START_NICE

    view = shared_sandbox.supervisor()
    conf = shared_sandbox.root.supervisord_conf.read_text()
    for name in START_NICED:
        assert f"command=nice -n {START_NICE} " in conf.split(f"[program:{name}]")[1].split("[")[0]
    deadline = time.monotonic() + 120  # the monitor and the shell may still be loading
    while True:
        niced = {
            name: {tid: n for tid, n in _nice_values(view.pid(name)).items() if n}
            for name in (*START_NICED, "central", "webui")
        }
        niced = {name: threads for name, threads in niced.items() if threads}
        if not niced or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    assert not niced, f"threads not at priority 0: {niced}"


def _status_field(pid: int, field: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def test_the_web_console_serves_without_root(shared_sandbox: Sandbox) -> None:
    """The console faces the network: it binds 443 and 80 as root, then gives root up for good."""
    box = shared_sandbox
    pid = box.supervisor().pid("webui")
    web = pwd.getpwnam("burrow-web")
    # Real, effective, saved and filesystem uids and gids: all burrow-web's, none root's.
    assert set(_status_field(pid, "Uid").split()) == {str(web.pw_uid)}
    assert set(_status_field(pid, "Gid").split()) == {str(web.pw_gid)}
    assert _status_field(pid, "Groups") == ""
    assert int(_status_field(pid, "CapEff"), 16) == 0
    assert int(_status_field(pid, "CapPrm"), 16) == 0
    # It still renders pages (templates are read after the drop), and Central's key, root's
    # alone, is out of its reach.
    assert box.https(443, "/login").status_code == 200
    key = os.stat(box.root.pki / "central.key")
    assert key.st_uid == 0 and key.st_mode & 0o077 == 0


@pytest.mark.parametrize(
    "program",
    ["named", "kea-dhcp4", "kea-ctrl-agent", "central", "dns-dhcp-agent", "appliance-agent",
     "webui"],
)  # fmt: skip
def test_sigkill_is_survived_and_reported(shared_sandbox: Sandbox, program: str) -> None:
    box = shared_sandbox
    checks = _serving_checks(box)
    view = box.supervisor()
    # A kill before startsecs would count as a failed start (back-off, then FATAL): that is
    # supervisord's policy for a program that cannot start, not what this test is about.
    wait_for(lambda: view.states()[program] == "RUNNING", timeout=20, what="RUNNING")
    old = view.pid(program)
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: view.pid(program) not in (0, old), timeout=20, what=f"{program} restart")
    wait_for(checks[program], timeout=30, what=f"{program} serving again")
    wait_for(lambda: view.states()[program] == "RUNNING", timeout=20, what="RUNNING again")
    events = wait_for(
        lambda: [e for e in _events(box, program) if e["pid"] == old],
        timeout=10,
        what="the crash in Central's service events",
    )
    assert events[0]["kind"] == "crash"
    assert events[0]["exit"] == "terminated by SIGKILL"
    assert int(str(events[0]["restarts"])) >= 1


def test_a_program_that_always_crashes_ends_fatal_alone(sandbox: Sandbox) -> None:
    box = sandbox
    view = box.supervisor()
    conf = box.root.kea_conf("dhcp6")
    good = conf.read_text()
    conf.write_text("{ this is not Kea configuration")
    os.kill(view.pid("kea-dhcp6"), signal.SIGKILL)
    wait_for(lambda: view.states()["kea-dhcp6"] == "FATAL", timeout=30, what="FATAL")
    fatal = wait_for(
        lambda: [e for e in _events(box, "kea-dhcp6") if e["kind"] == "fatal"], timeout=10
    )
    assert fatal[0]["exit"] == "exit status 1"
    others = {k: v for k, v in view.states().items() if k != "kea-dhcp6"}
    assert set(others.values()) == {"RUNNING"}
    box.check_dns()
    box.check_central()
    assert box.kea("status-get", "dhcp4")["result"] == 0
    # Put the configuration back: the program can be started again.
    conf.write_text(good)


def test_stale_kea_pid_file_does_not_keep_kea_down(shared_sandbox: Sandbox) -> None:
    box = shared_sandbox
    view = box.supervisor()
    wait_for(lambda: view.states()["kea-dhcp4"] == "RUNNING", timeout=20, what="RUNNING")
    old = view.pid("kea-dhcp4")
    # A pid file that names a live process (supervisord itself), as after an unclean stop.
    for pidfile in box.root.kea_run.glob("*.kea-dhcp4.pid"):
        pidfile.write_text(f"{os.getpid()}\n")
    stale = box.root.kea_run / "kea-dhcp4.kea-dhcp4.pid"
    stale.write_text(f"{os.getpid()}\n")
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: view.pid("kea-dhcp4") not in (0, old), timeout=20)
    wait_for(lambda: box.kea("status-get")["result"] == 0, timeout=20, what="kea-dhcp4 back")
    wait_for(lambda: view.states()["kea-dhcp4"] == "RUNNING", timeout=10, what="RUNNING")


def test_stopping_supervisord_leaves_no_process(sandbox: Sandbox) -> None:
    box = sandbox
    assert box.process is not None
    started = set(netns.pids(box.ns))
    assert len(started) >= 11
    box.process.send_signal(signal.SIGTERM)
    box.process.wait(timeout=60)
    assert netns.pids(box.ns) == []
    for pid in started:
        assert not Path(f"/proc/{pid}").exists() or _is_zombie_free(pid)


def _is_zombie_free(pid: int) -> bool:
    try:
        return "Z" not in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True


def test_two_sandboxes_side_by_side(
    shared_sandbox: Sandbox, sandbox_factory: SandboxFactory
) -> None:
    other = sandbox_factory.start()
    assert other.address != shared_sandbox.address
    other.check_all()
    shared_sandbox.check_all()
    assert other.root.root != shared_sandbox.root.root


def test_dev_command_stops_cleanly_on_ctrl_c() -> None:
    name = f"{PREFIX}cli"
    network = ipaddress.IPv4Network(free_network())
    address = network[2]
    root = Path(tempfile.mkdtemp(prefix="bw-", dir="/tmp"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.sandbox.cli", "--name", name,
         "--network", str(network), "--root", str(root)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=SOURCE_TREE,
        env={**os.environ, "PYTHONPATH": str(SOURCE_TREE)},
        # As a background job of a script would have it: SIGINT inherited as ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )  # fmt: skip
    assert proc.stdout is not None
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
            if "Press Ctrl-C" in line:
                break
        text = "".join(seen)
        assert "is running" in text, text
        assert f"https://{address}:1231/api/v1/health" in text
        assert netns.exists(f"burrow-{name}")
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        clean(name)  # whatever the command left behind if it had to be killed
        shutil.rmtree(root, ignore_errors=True)
    assert not netns.exists(f"burrow-{name}")
    assert not netns.link_exists(f"bw-{name}")
    leftover = json.loads(
        subprocess.run(["ip", "-j", "link"], capture_output=True, text=True).stdout
    )
    assert not [link for link in leftover if link["ifname"] == f"bw-{name}"]


def test_sandbox_refuses_a_network_this_machine_needs() -> None:
    """Outside 198.51.100.0/24 a sandbox is refused by name; inside it, a part that holds an
    address this machine needs (here: a route it already has, made by a lab) is refused."""
    from services.common.errors import SetupError
    from services.sandbox import netns

    for outside in ("192.0.2.0/24", "203.0.113.0/24", "10.1.0.0/24"):
        with pytest.raises(SetupError, match=r"not part of 198\.51\.100\.0/24"):
            Sandbox(name="clash", network=ipaddress.IPv4Network(outside))
    # Every address this machine needs is found, with the reason, and refused as a network.
    needed = netns.needed_addresses()
    assert any("an address of this machine" in why for why in needed.values()), needed
    for address, why in needed.items():
        clash = netns.network_clash(ipaddress.IPv4Network(f"{address}/32"))
        # a route of this machine is named first; otherwise the reason the address is needed
        assert clash is not None and (why in clash or "already routes" in clash), clash
    # The registries' addresses are among them when they resolve here.
    registry = [why for why in needed.values() if "package registry" in why]
    resolved = [h for h in netns.registry_hosts() if _resolves(h)]
    assert bool(registry) == bool(resolved)


def _resolves(host: str) -> bool:
    import socket

    try:
        return bool(socket.getaddrinfo(host, 443, socket.AF_INET))
    except OSError:
        return False


def test_daemons_run_unprivileged(shared_sandbox: Sandbox) -> None:
    view = shared_sandbox.supervisor()
    expected = {"named": "bind", "kea-dhcp4": "_kea", "kea-dhcp6": "_kea", "kea-ctrl-agent": "_kea"}
    for program, user in expected.items():
        pid = view.pid(program)
        uid = int(
            next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                 if line.startswith("Uid:")).split()[1]
        )  # fmt: skip
        import pwd

        assert pwd.getpwuid(uid).pw_name == user, f"{program} runs as uid {uid}"
