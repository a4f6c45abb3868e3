"""net-snmp's own tools against a sandbox's SNMP agent, with Burrow's MIB and the standard ones."""

from __future__ import annotations

import subprocess
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2]
MIB_DIRS = f"{SOURCE / 'tests/data/mibs'}:{SOURCE / 'rootfs/usr/share/burrow/mibs'}"
MIBS = "SNMPv2-MIB:IF-MIB:BURROW-MIB"
COMMUNITY = "noc-community-1"
ELSEWHERE = "far-community-1"
USER, AUTH_PASS, PRIV_PASS = "ops", "auth-pass-1234", "priv-pass-1234"


def snmp(
    tool: str, options: list[str], address: str, *objects: str, timeout: int = 2
) -> subprocess.CompletedProcess[str]:
    """Run ``tool`` (snmpwalk, snmpget, snmpbulkwalk) with the MIBs; one retry."""
    command = [tool, "-M", MIB_DIRS, "-m", MIBS, "-t", str(timeout), "-r", "1", *options,
               address, *objects]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def v2c(tool: str, address: str, community: str, *objects: str) -> subprocess.CompletedProcess[str]:
    return snmp(tool, ["-v2c", "-c", community], address, *objects)


def v3(
    tool: str, address: str, user: str, auth: str, priv: str, *objects: str
) -> subprocess.CompletedProcess[str]:
    options = ["-v3", "-l", "authPriv", "-u", user, "-a", "SHA-256", "-A", auth, "-x", "AES",
               "-X", priv]  # fmt: skip
    return snmp(tool, options, address, *objects)
