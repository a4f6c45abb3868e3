"""The diagnostic shell under pressure, with the real OpenSSH client: a flood of idle
connections from one address does not keep others out, idle connections are closed at the
pre-authentication deadline, a client that leaves early costs one log line, and only
algorithms that OpenSSH offers by default are offered."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from services.common.proc import run
from services.shell.server import (
    MAX_UNAUTHENTICATED_PER_ADDRESS,
    PREAUTH_DEADLINE,
)
from tests.backup_appliance.helpers import axfr
from tests.shell.client import SSH_OPTIONS, Diag, log_text, wait_log

pytestmark = pytest.mark.sandbox

#: Opens COUNT connections to ADDRESS:22 that never send a byte, then reports for each
#: whether the server let it in (sent its banner) and when the server closed it.
FLOOD = r"""
import json, socket, sys, time
address, count, hold = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
start = time.monotonic()
socks = []
for _ in range(count):
    s = socket.create_connection((address, 22), timeout=5)
    s.settimeout(0.2)
    socks.append(s)
report = [{"banner": False, "closed": None} for _ in socks]
while time.monotonic() - start < hold:
    for s, r in zip(socks, report):
        if r["closed"] is not None:
            continue
        try:
            data = s.recv(4096)
        except socket.timeout:
            continue
        except OSError:
            data = b""
        if data.startswith(b"SSH-2.0"):
            r["banner"] = True
        elif not data:
            r["closed"] = round(time.monotonic() - start, 2)
print(json.dumps(report))
"""


def test_idle_flood_from_one_address_does_not_keep_others_out(diag: Diag) -> None:
    box = diag.box
    client = box.add_client()
    address = str(box.network[26])
    run(["ip", "-n", client.ns, "addr", "add", f"{address}/{box.network.prefixlen}",
         "dev", "eth0"])  # fmt: skip
    hold = PREAUTH_DEADLINE + 4
    flood = subprocess.Popen(
        ["ip", "netns", "exec", client.ns, sys.executable, "-c", FLOOD, box.address, "100",
         str(hold)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        time.sleep(1.0)  # the flood is in place
        # A real OpenSSH client from another address logs in and runs a command meanwhile.
        started = time.monotonic()
        result = diag.run("uptime", timeout=30)
        assert result.rc == 0 and "load average" in result.out, result.err
        assert time.monotonic() - started < 5
        out, _ = flood.communicate(timeout=hold + 30)
    finally:
        if flood.poll() is None:
            flood.kill()
            flood.wait()
    report = json.loads(out)
    admitted = [r for r in report if r["banner"]]
    # Only a few of one address's connections are served before they log in; the others are
    # closed at once, and the admitted ones at the pre-authentication deadline.
    assert len(admitted) == MAX_UNAUTHENTICATED_PER_ADDRESS, report
    refused = [r for r in report if not r["banner"]]
    assert all(r["closed"] is not None and r["closed"] < 3 for r in refused), refused
    for r in admitted:
        assert r["closed"] is not None, r
        assert PREAUTH_DEADLINE - 1 <= r["closed"] <= PREAUTH_DEADLINE + 3, r
    wait_log(box, rf"from {re.escape(address)}: refused, {MAX_UNAUTHENTICATED_PER_ADDRESS} "
             "connections from it are not logged in yet")  # fmt: skip
    wait_log(box, rf"from {re.escape(address)}: not logged in within")
    assert "Traceback" not in log_text(box)


def test_a_client_that_leaves_early_is_one_line(diag: Diag) -> None:
    box = diag.box
    before = log_text(box)
    # ssh-keyscan reads the host key and leaves without logging in.
    subprocess.run(["ssh-keyscan", "-T", "5", "-t", "ed25519", box.address],
                   capture_output=True, timeout=30, check=True)  # fmt: skip
    # A bare TCP connection that closes at once.
    run([sys.executable, "-c", "import socket,sys; socket.create_connection((sys.argv[1], 22))"
         ".close()", box.address])  # fmt: skip
    time.sleep(1.0)
    added = log_text(box)[len(before) :]
    assert "Traceback" not in added and 'File "' not in added, added
    assert added.count("left before logging in") + added.count("no session opened") >= 1, added


def _offered(diag: Diag) -> dict[str, list[str]]:
    """The server's KEXINIT proposal, as the real OpenSSH client logs it with -vv."""
    proc = subprocess.run(
        [*diag.argv("-vv", "-o", "LogLevel=DEBUG2"), "true"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    text = proc.stderr
    server = text[text.index("peer server KEXINIT proposal") :]
    offered: dict[str, list[str]] = {}
    for key in ("KEX algorithms", "host key algorithms", "ciphers ctos", "MACs ctos"):
        match = re.search(rf"debug2: {key}: (\S+)", server)
        assert match, (key, server[:2000])
        offered[key] = match.group(1).split(",")
    return offered


def _defaults() -> dict[str, list[str]]:
    """OpenSSH's own default lists (ssh -G with no configuration file)."""
    out = subprocess.run(["ssh", "-F", "/dev/null", "-G", "example.invalid"],
                         capture_output=True, text=True, timeout=10, check=True).stdout  # fmt: skip
    values = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
    return {
        "KEX algorithms": values["kexalgorithms"].split(","),
        "host key algorithms": values["hostkeyalgorithms"].split(","),
        "ciphers ctos": values["ciphers"].split(","),
        "MACs ctos": values["macs"].split(","),
    }


def test_only_openssh_default_algorithms_are_offered(diag: Diag) -> None:
    offered, defaults = _offered(diag), _defaults()
    for kind, names in offered.items():
        extra = [n for n in names if n not in defaults[kind] and not n.startswith("ext-info")
                 and not n.startswith("kex-strict")]  # fmt: skip
        assert not extra, f"{kind}: {extra} are not OpenSSH defaults"
    # The weak ones that the client still knows (ssh -Q) are refused when it insists on them.
    weak = [("Ciphers", "cipher", "3des-cbc"), ("Ciphers", "cipher", "aes128-cbc"),
            ("MACs", "mac", "hmac-md5"), ("MACs", "mac", "hmac-sha1")]  # fmt: skip
    for option, query, name in weak:
        known = subprocess.run(["ssh", "-Q", query], capture_output=True, text=True, check=True)
        assert name in known.stdout.split()
        proc = subprocess.run(
            # The first value of an option wins: this LogLevel overrides the one in SSH_OPTIONS.
            ["ssh", "-i", str(diag.key), "-o", "LogLevel=INFO", *SSH_OPTIONS,
             "-o", f"{option}={name}",
             f"diag@{diag.box.address}", "true"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert proc.returncode == 255 and "no matching" in proc.stderr.lower(), proc.stderr


def test_the_shell_cannot_transfer_a_zone(diag: Diag) -> None:
    """The shell refuses a zone transfer before anything is sent, however it is spelled; and
    named gives one to the appliance's own key on 127.0.0.1 only (never to a keyless dig)."""
    lines = ["dig @127.0.0.1 burrow.example AXFR", f"dig @{diag.box.address} burrow.example axfr",
             "dig burrow.example TYPE252", "host -t AXFR burrow.example"]  # fmt: skip
    for line in lines:
        result = diag.run(line)
        assert result.rc == 2 and "zone transfer" in result.out, (line, result.out)
        assert "IN\tNS" not in result.out and "IN NS" not in result.out
    query = dns.message.make_query("burrow.example.", dns.rdatatype.AXFR)
    assert dns.query.tcp(query, diag.box.address, timeout=5).rcode() == dns.rcode.REFUSED
    # The appliance's own reader (TSIG-signed on its loopback, as the dns-agent's) still can.
    assert any(" SOA " in line for line in axfr(diag.box, "burrow.example."))
