"""Real DHCP exchanges from a client namespace: ISC dhclient, and the fast probe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from services.sandbox.sandbox import SOURCE_TREE, Client

_SCRIPT = """#!/bin/sh
# dhclient-script stand-in: record what the server gave, configure nothing.
env | grep -E '^(reason|new_|interface)' >> "$BURROW_OUT"
echo "--" >> "$BURROW_OUT"
exit 0
"""


def dhclient(
    client: Client, *, v6: bool = False, timeout: float = 30.0, extra: list[str] | None = None
) -> dict[str, str]:
    """Run ISC dhclient once on the client's interface; return the bound lease's values.

    The script records ``new_*`` variables (new_ip_address, new_host_name, new_routers, ...)
    without configuring the interface. dhclient runs in the foreground (``-d``) as this
    function's own child, and is stopped and waited for once the lease is recorded, so that
    nothing writes into the scratch directory while it is removed.
    """
    with tempfile.TemporaryDirectory(prefix="bw-dhc-") as tmp:
        script = Path(tmp, "script")
        script.write_text(_SCRIPT)
        script.chmod(0o755)
        out = Path(tmp, "out")
        log = Path(tmp, "log")
        argv = [
            "ip",
            "netns",
            "exec",
            client.ns,
            "dhclient",
            "-6" if v6 else "-4",
            "-1",
            "-d",
            "-sf",
            str(script),
            "-lf",
            str(Path(tmp, "leases")),
            "-pf",
            str(Path(tmp, "pid")),
            "-e",
            f"BURROW_OUT={out}",
            *(extra or []),
            client.iface,
        ]
        with log.open("w") as sink:
            proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT)
        try:
            blocks = _wait_for_lease(proc, out, time.monotonic() + timeout)
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if blocks is None:
            raise AssertionError(f"dhclient got no lease: {log.read_text()[-800:]}")
        values: dict[str, str] = {}
        for line in blocks[-1].splitlines():
            key, _, value = line.partition("=")
            values[key] = value.strip("'")
        return values


_BOUND = ("BOUND", "BOUND6", "RENEW", "REBOOT")


def _wait_for_lease(proc: subprocess.Popen[bytes], out: Path, deadline: float) -> list[str] | None:
    """The script's complete records once one says a lease is bound; None if none comes."""
    while True:
        exited = proc.poll() is not None
        text = out.read_text() if out.exists() else ""
        # A record is complete once the script wrote its closing "--" line.
        blocks = [b for b in text.split("--\n")[:-1] if "reason=" in b]
        bound = [b for b in blocks if any(f"reason={r}\n" in b for r in _BOUND)]
        if bound:
            return bound
        if exited or time.monotonic() > deadline:
            return None
        time.sleep(0.05)


class DhcpProbe:
    """The DISCOVER/OFFER probe running in a client namespace (see dhcp_probe.py)."""

    def __init__(self, client: Client) -> None:
        self.proc = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                client.ns,
                sys.executable,
                "-m",
                "tests.harness.dhcp_probe",
                "--iface",
                client.iface,
                "--mac",
                client.mac,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=str(SOURCE_TREE),
            env={**os.environ, "PYTHONPATH": str(SOURCE_TREE)},
        )
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "ready":
            raise AssertionError("the DHCP probe did not start")

    def offer(self) -> dict[str, Any]:
        """Send DISCOVERs until an OFFER arrives; its time (epoch) and address."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        return dict(json.loads(self.proc.stdout.readline()))

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
