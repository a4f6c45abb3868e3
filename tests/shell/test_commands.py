"""Each allowed command of the diag-shell gives useful output, through the real ssh client."""

from __future__ import annotations

import pytest

from tests.shell.client import Diag, state_hash, wait_log

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module", autouse=True)
def baseline(diag: Diag) -> dict[str, str]:
    """The state before the first command of this module (checked by the last test)."""
    return state_hash(diag.box.root)


def _ok(diag: Diag, command: str, *expected: str, rc: int = 0) -> str:
    result = diag.run(command)
    assert result.rc == rc, f"{command}: rc {result.rc}: {result.out}{result.err}"
    for text in expected:
        assert text in result.out, f"{command}: {text!r} missing from:\n{result.out}"
    return result.out


def test_dig(diag: Diag) -> None:
    out = _ok(diag, "dig @127.0.0.1 burrow.example SOA +short")
    assert out.split()[0] == "ns1.burrow.example."
    _ok(diag, f"dig @{diag.box.address} +norecurse burrow.example NS", "ANSWER SECTION",
        "status: NOERROR")  # fmt: skip
    _ok(diag, "dig -t A -p 53 @127.0.0.1 ns1.burrow.example +noall +answer", diag.box.address)


def test_drill_and_host(diag: Diag) -> None:
    _ok(diag, "drill @127.0.0.1 burrow.example SOA", "ANSWER SECTION", "SOA")
    _ok(diag, "host -t SOA burrow.example 127.0.0.1", "burrow.example has SOA record")


def test_ping_and_ping6(diag: Diag) -> None:
    _ok(diag, f"ping -c 2 -i 0.2 {diag.box.host_address}", "2 packets transmitted, 2 received")
    _ok(diag, "ping6 -c 1 ::1", "1 packets transmitted, 1 received")


def test_tracepath(diag: Diag) -> None:
    _ok(diag, f"tracepath -n {diag.box.host_address}", diag.box.host_address, "reached")
    _ok(diag, f"traceroute -n -m 3 {diag.box.host_address}", "reached")


def test_rndc(diag: Diag) -> None:
    _ok(diag, "rndc status", "server is up and running", "number of zones")
    _ok(diag, "rndc zonestatus burrow.example", "name: burrow.example", "type: primary")


def test_kea_views(diag: Diag) -> None:
    out = _ok(diag, "kea status", "dhcp4 status: ok", "dhcp6 status: ok", '"pid"')
    assert "uptime" in out
    _ok(diag, "kea version dhcp4", "dhcp4 version: ok", "2.2")
    config = _ok(diag, "kea config dhcp4", '"Dhcp4"', '"subnet4"')
    assert diag.box.network.with_prefixlen.split("/")[0] in config
    agent = _ok(diag, "kea config ctrl-agent", '"Control-agent"', '"password": "*****"')
    password = diag.box.root.kea_api_password.read_text().strip()
    assert password not in agent
    _ok(diag, "kea stats dhcp4", "pkt4-received")
    _ok(diag, "kea leases dhcp4", "dhcp4 leases")
    _ok(diag, f"kea lease {diag.box.network[20]}", "lease", "empty")
    _ok(diag, "kea lease-hw 02:00:00:00:00:99", "leases of 02:00:00:00:00:99")
    _ok(diag, "kea ha", "dhcp4 high availability: not configured")  # a pair: test_ha_lab.py


def test_services(diag: Diag) -> None:
    out = _ok(diag, "services", "named", "kea-dhcp4", "central", "diag-shell")
    assert out.count("RUNNING") >= 10
    _ok(diag, "services named", "RUNNING", "pid")


def test_network_views(diag: Diag) -> None:
    box = diag.box
    _ok(diag, "addresses", f"inet {box.address}/", "br0")
    _ok(diag, "routes", str(box.network), str(box.network6))
    _ok(diag, f"ping -c 1 {box.host_address}")
    _ok(diag, "neighbours", box.host_address)
    _ok(diag, "neighbors", box.host_address)
    _ok(diag, "sockets", ":53", ":22", "named")
    _ok(diag, "interfaces", "br0", "RX:")


def test_logs(diag: Diag) -> None:
    _ok(diag, "logs", "named", "diag-shell", "supervisord")
    tail = _ok(diag, "logs tail diag-shell 5")
    assert 1 <= len(tail.splitlines()) <= 5
    _ok(diag, "logs search diag-shell LOGGED", "logged in")
    _ok(diag, "logs search supervisord no-such-text-here", "no line", rc=1)


def test_logs_follow_shows_new_lines_until_ctrl_c(diag: Diag) -> None:
    term = diag.shell()
    try:
        term.expect("diag> ")
        term.send("logs follow diag-shell\r")
        # Another session's command lands in the log being followed.
        diag.run("uptime")
        term.expect(r"ran 'uptime'")
        term.send(b"\x03")
        term.expect("diag> ")
    finally:
        term.close()
    wait_log(diag.box, r"ran 'logs follow diag-shell': exit 130")


def test_config_views(diag: Diag) -> None:
    _ok(diag, "config named", "options", "zones.conf")
    _ok(diag, "config zones", 'zone "burrow.example."')
    _ok(diag, "config kea-dhcp4", "Dhcp4")
    agent = _ok(diag, "config kea-ctrl-agent", "*****")
    assert diag.box.root.kea_api_password.read_text().strip() not in agent
    _ok(diag, "config appliance", '"hostname"', diag.box.address)
    _ok(diag, "config diag-shell", "password: not set", "authorized key: ssh-ed25519 SHA256:")


def test_backup_state(diag: Diag) -> None:
    _ok(diag, "backup", "backups: not configured", "restore: none")


def test_fleet_state(diag: Diag) -> None:
    _ok(diag, "fleet", "fleet: none")


def test_resources(diag: Diag) -> None:
    _ok(diag, "uptime", "load average")
    _ok(diag, "memory", "MiB total", "available")
    _ok(diag, "disk", "MiB used")
    _ok(diag, "resources", "load average", "MiB available", "MiB free")


def test_time(diag: Diag) -> None:
    # No NTP server set in a fresh sandbox: chrony runs with no source.
    _ok(diag, "time", "ntp servers: none set", "clock:", "UTC")


def test_help(diag: Diag) -> None:
    out = _ok(diag, "help", "dig", "rndc", "kea", "logs", "config", "backup", "exit")
    assert len(out.splitlines()) > 20
    _ok(diag, "help dig", "usage: dig", "Not available: -f, -k")


def test_interactive_editing_history_and_completion(diag: Diag) -> None:
    term = diag.shell()
    try:
        banner = term.expect("diag> ")
        assert "read-only" in banner
        # Tab completes a unique command and its subcommand.
        term.send("rnd\t")
        term.expect("rndc ")
        term.send("sta\t")
        term.expect("status ")
        out = term.command("")
        assert "server is up and running" in out
        # Several candidates: Tab lists them.
        term.send("pi\t")
        term.expect("ping")
        term.send("\t")
        term.expect(r"ping\s+ping6")
        term.send(b"\x15")  # ctrl-u drops the line
        # Arrow up recalls the last line; Enter runs it again.
        term.send("\x1b[A")
        term.expect("rndc status")
        assert "server is up and running" in term.command("")
        # Left arrow, backspace and insertion in the middle of a line.
        # "uptmie", two left, backspace drops the "m", right, "m": "uptime".
        term.send("uptmie\x1b[D\x1b[D\x7f\x1b[Cm")
        assert "load average" in term.command("")
        # Ctrl-c drops a half-typed line.
        term.send("dig something")
        term.send(b"\x03")
        term.expect(r"\^C")
        term.expect("diag> ")
        history = term.command("history")
        assert "rndc status" in history and "dig something" not in history
        # Ctrl-d on an empty line ends the session.
        term.send(b"\x04")
        assert term.proc.wait(timeout=10) == 0
    finally:
        term.close()


def test_ctrl_c_stops_a_running_command(diag: Diag) -> None:
    term = diag.shell()
    try:
        term.expect("diag> ")
        term.send(f"ping -c 20 {diag.box.host_address}\r")
        term.expect("icmp_seq=2")
        term.send(b"\x03")
        out = term.expect("diag> ", timeout=5)
        assert "icmp_seq=20" not in out
        assert "load average" in term.command("uptime")
    finally:
        term.close()
    wait_log(diag.box, r"ran 'ping -c 20 [0-9.]+': exit 130")


def test_exec_runs_one_command_and_returns_its_status(diag: Diag) -> None:
    ok = diag.run("rndc zonestatus burrow.example")
    assert ok.rc == 0
    bad = diag.run("rndc zonestatus no-such-zone.example")
    assert bad.rc == 1 and "not found" in bad.out
    wait_log(diag.box, r"ran 'rndc zonestatus no-such-zone.example': exit 1")


def test_allowed_commands_changed_nothing(diag: Diag, baseline: dict[str, str]) -> None:
    """Runs last in this module: every command above left etc/ and var/lib/ as they were."""
    after = state_hash(diag.box.root)
    assert after == baseline, sorted(k for k in after if after.get(k) != baseline.get(k))
