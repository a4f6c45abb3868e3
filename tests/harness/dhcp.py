"""Real DHCP exchanges from a client namespace: ISC dhclient, and the fast probe."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from services.common.proc import run
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
    without configuring the interface, and the dhclient daemon is stopped afterwards.
    """
    with tempfile.TemporaryDirectory(prefix="bw-dhc-") as tmp:
        script = Path(tmp, "script")
        script.write_text(_SCRIPT)
        script.chmod(0o755)
        out = Path(tmp, "out")
        pidfile = Path(tmp, "pid")
        argv = [
            "dhclient",
            "-6" if v6 else "-4",
            "-1",
            "-sf",
            str(script),
            "-lf",
            str(Path(tmp, "leases")),
            "-pf",
            str(pidfile),
            "-e",
            f"BURROW_OUT={out}",
            *(extra or []),
            client.iface,
        ]
        try:
            proc = run(argv, netns=client.ns, timeout=timeout, check=False)
        finally:
            with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
                os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
        if proc.returncode != 0:
            raise AssertionError(f"dhclient got no lease: {proc.stdout[-800:]}")
        blocks = [b for b in out.read_text().split("--\n") if "reason=" in b]
        bound = [
            b
            for b in blocks
            if any(f"reason={r}" in b for r in ("BOUND", "BOUND6", "RENEW", "REBOOT"))
        ]
        values: dict[str, str] = {}
        for line in (bound or blocks)[-1].splitlines():
            key, _, value = line.partition("=")
            values[key] = value.strip("'")
        return values


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
