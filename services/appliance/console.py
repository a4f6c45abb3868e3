"""The appliance's console banner.

``python -m services.appliance.console banner --root /``, run by burrow-banner.service,
writes ``etc/issue`` (addresses, the web console's URL, certificate fingerprints, a generated
administrator password, while uninitialized the restore code) and prints it on the system
console ("burrow: starting" until supervisord reports every program RUNNING, then "burrow:
ready"); it keeps both current. The screen of tty1 (burrow-console.service) shows what it
writes to ``etc/issue`` (``services.appliance.screen``).

It stays resident for the appliance's whole life, so it is kept small: this module reads
the settings files as plain JSON, the fingerprints from the PEM files, the addresses with
``ip -json``, and the programs' states over supervisord's socket, with nothing but the
standard library and Burrow's light modules (about 10 MB instead of 40 MB with pydantic,
cryptography and pyroute2 loaded).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import re
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from services.common.backup.files import state_file, status_file
from services.common.files import read_json, write_atomic
from services.common.paths import StateRoot
from services.common.profile import profile_file

#: The certificates the banner shows, as (label, file under the PKI directory).
CERTIFICATES = (("CA", "ca/ca.crt"), ("Web console", "webui.crt"), ("API", "central.crt"))


def _json(path: Path) -> dict[str, Any] | None:
    with contextlib.suppress(OSError, ValueError):
        data = read_json(path)
        if isinstance(data, dict):
            return data
    return None


def pem_fingerprint(path: Path) -> str | None:
    """SHA-256 of the certificate's DER bytes, as colon-separated hex (services.common.pki)."""
    try:
        lines = path.read_text().strip().splitlines()
        body = lines[lines.index("-----BEGIN CERTIFICATE-----") + 1 :]
        der = base64.b64decode("".join(body[: body.index("-----END CERTIFICATE-----")]))
    except (OSError, ValueError):
        return None
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def addresses_of(name: str) -> list[str]:
    """The interface's global addresses as ADDRESS/PREFIX (link-local ones are not shown)."""
    with contextlib.suppress(OSError, subprocess.SubprocessError, ValueError):
        proc = subprocess.run(
            ["ip", "-json", "address", "show", "dev", name],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        if proc.returncode == 0:
            return [
                f"{item['local']}/{item['prefixlen']}"
                for link in json.loads(proc.stdout)
                for item in link.get("addr_info", [])
                if item.get("scope") == "global"
            ]
    return []


def memory_in_use_mb() -> int | None:
    """MemTotal minus MemAvailable, the way ``free`` counts memory in use."""
    values: dict[str, int] = {}
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            key, _sep, rest = line.partition(":")
            values[key] = int(rest.split()[0])
    if "MemTotal" not in values or "MemAvailable" not in values:
        return None
    return (values["MemTotal"] - values["MemAvailable"]) // 1024


#: One XML-RPC call (supervisor.getAllProcessInfo) over supervisord's socket, by hand:
#: xmlrpc.client brings http.client, email and ssl along (8 MB resident for one question).
_STATES_CALL = (
    b"<?xml version='1.0'?><methodCall><methodName>supervisor.getAllProcessInfo"
    b"</methodName><params></params></methodCall>"
)
_STRUCT = re.compile(rb"<struct>(.*?)</struct>", re.S)
_MEMBER = re.compile(rb"<name>([^<]*)</name>\s*<value>\s*(?:<string>)?([^<]*)")


def parse_states(payload: bytes) -> dict[str, str] | None:
    """Program name -> state name from a getAllProcessInfo answer; None for a fault."""
    if b"<fault>" in payload or b"<methodResponse>" not in payload:
        return None
    states = {}
    for struct in _STRUCT.findall(payload):
        members = dict(_MEMBER.findall(struct))
        if b"name" in members and b"statename" in members:
            states[members[b"name"].decode()] = members[b"statename"].decode()
    return states


def program_states(root: StateRoot, timeout: float = 5.0) -> dict[str, str] | None:
    """Every supervisord program's state, or None while supervisord does not answer."""
    request = (
        b"POST /RPC2 HTTP/1.0\r\nHost: localhost\r\nContent-Type: text/xml\r\n"
        + f"Content-Length: {len(_STATES_CALL)}\r\n\r\n".encode()
        + _STATES_CALL
    )
    answer = bytearray()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(root.supervisor_socket))
            sock.sendall(request)
            while chunk := sock.recv(65536):
                answer += chunk
    except OSError:
        return None
    head, _sep, payload = bytes(answer).partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/") or head.split(b" ", 2)[1:2] != [b"200"]:
        return None
    return parse_states(payload)


def _profile(root: StateRoot) -> str:
    """The profile's name as written (services.common.profile, read here as plain text)."""
    try:
        return profile_file(root).read_text().strip()
    except OSError:
        return "dns-dhcp"


def _restore_lines(root: StateRoot) -> list[str]:
    """While uninitialized: what a peer's administrator needs to restore onto this appliance."""
    state = _json(state_file(root))
    if state is None or state.get("state") != "uninitialized":
        return []
    lines = [f"  Not initialized: restore code {state.get('restore_code', '?')}"]
    value = (_json(status_file(root)) or {}).get("fingerprint")
    if value:
        lines.append(f"  Appliance-agent certificate (for a restore): {value}")
    return lines


def banner(root: StateRoot, states: Mapping[str, str] | None) -> str:
    """The console banner: what an administrator needs to reach and trust this appliance."""
    settings = _json(root.appliance_settings)
    if settings is None or not settings.get("address"):
        return "Burrow appliance: not configured yet (see the console menu on tty1).\n"
    ip = str(settings["address"]).split("/")[0]
    kind = "caching appliance" if _profile(root) == "caching" else "appliance"
    lines = [f"Burrow {kind} {settings.get('hostname', 'burrow')}"]
    firstboot = _json(root.etc / "firstboot.json") or {}
    for item in firstboot.get("interfaces", []):
        how = " (DHCP)" if item.get("dhcp") else ""
        found = ", ".join(addresses_of(str(item.get("name", "")))) or "no address"
        lines.append(f"  Interface {item.get('name')}: {found}{how}")
    lines.append(f"  Web console: https://{ip}/")
    lines.append(f"  API: https://{ip}:1231/api/v1/")
    lines.append(f"  Diagnostic shell: ssh diag@{ip}")
    for label, name in CERTIFICATES:
        value = pem_fingerprint(root.pki / name)
        if value:
            lines.append(f"  {label} certificate SHA-256: {value}")
    with contextlib.suppress(OSError):
        password = (root.secrets / "initial-admin-password").read_text().strip()
        lines.append(f"  Administrator password (generated): {password}")
    lines.extend(_restore_lines(root))
    used = memory_in_use_mb()
    if used is not None:
        lines.append(f"  Memory in use: {used} MB")
    if states is not None:
        running = sorted(n for n, s in states.items() if s == "RUNNING")
        others = sorted(f"{n} {s}" for n, s in states.items() if s != "RUNNING")
        lines.append(f"  Programs: {len(running)} of {len(states)} RUNNING")
        if others:
            lines.append(f"  Not running: {', '.join(others)}")
    return "\n".join(lines) + "\n"


def write_issue(root: StateRoot, text: str) -> None:
    # agetty reads backslash escapes in /etc/issue: keep the text literal.
    write_atomic(root.root / "etc/issue", text.replace("\\", "\\\\") + "\n", mode=0o644)
    subprocess.run(["agetty", "--reload"], check=False, capture_output=True)


def banner_loop(root: StateRoot, interval: float = 2.0) -> int:
    """Keep etc/issue current; print the banner on the console whenever it changes."""
    shown = ""
    printed = ""
    while True:
        states = program_states(root)
        text = banner(root, states)
        ready = bool(states) and all(s == "RUNNING" for s in (states or {}).values())
        if text != shown:
            write_issue(root, text)
            shown = text
        # The console gets the banner again when something changed, the memory in use only
        # when it moved by 32 MB or more (it changes a little all the time).
        steady = "\n".join(
            line if "Memory in use" not in line else str((memory_in_use_mb() or 0) // 32)
            for line in text.splitlines()
        )
        if steady != printed:
            marker = "burrow: ready" if ready else "burrow: starting"
            print(f"{marker}\n{text}", flush=True)
            printed = steady
        time.sleep(interval if not ready else 10.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="burrow-console", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("banner",))
    parser.add_argument("--root", default="/", help="state root (/ on an appliance)")
    args = parser.parse_args(argv)
    return banner_loop(StateRoot.at(args.root))


if __name__ == "__main__":
    raise SystemExit(main())
