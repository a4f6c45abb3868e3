"""A booted appliance image under qemu, for the system tests.

The VM gets two NICs: ``eth0`` on qemu's user-mode network with the web console, the API,
DNS and the diagnostic shell forwarded to free ports on 127.0.0.1, and ``eth1`` on a tap
device that lives in a network namespace the test makes (the "LAN", where a DHCP client
runs). The serial console goes to a file that the test reads; qemu is driven over QMP.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import http.client
import json
import os
import re
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.exception
import dns.message
import dns.query
import dns.rdatatype

from image.vm import DNS_PROBE, Machine
from services.common.proc import run
from services.common.profile import DEFAULT, Profile
from services.sandbox import netns

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000

LAN_NETWORK = "198.51.100.0/24"
#: seconds after GRUB's "Booting" with neither console output nor a disk write: a hung VM
#: (a booting kernel writes to its disk well within this even on a loaded machine).
HANG_S = 300
LAN_ADDRESS = "198.51.100.1/24"
POOL = ("198.51.100.100", "198.51.100.150")

FINGERPRINT = r"([0-9A-F]{2}(?::[0-9A-F]{2}){31})"


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def open_tap(ns: str, name: str) -> int:
    """Create tap ``name`` inside namespace ``ns``; its file descriptor (the VM's side)."""
    result: dict[str, Any] = {}

    def work() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{ns}", os.O_RDONLY)
        try:
            if libc.setns(target, CLONE_NEWNET) != 0:
                result["error"] = OSError(ctypes.get_errno(), "setns")
                return
            try:
                fd = os.open("/dev/net/tun", os.O_RDWR)
                fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
                result["fd"] = fd
            except OSError as exc:
                result["error"] = exc
            finally:
                libc.setns(own, CLONE_NEWNET)
        finally:
            os.close(own)
            os.close(target)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    fd: int = result["fd"]
    return fd


class Qmp:
    """Just enough of the QEMU Machine Protocol: commands and their answers."""

    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(str(path))
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.sock.settimeout(timeout)
        self.file = self.sock.makefile("rw")
        self.file.readline()  # greeting
        self.execute("qmp_capabilities")

    def execute(self, command: str, **arguments: Any) -> Any:
        message: dict[str, Any] = {"execute": command}
        if arguments:
            message["arguments"] = arguments
        self.file.write(json.dumps(message) + "\n")
        self.file.flush()
        while True:
            line = self.file.readline()
            if not line:
                return None  # qemu went away (quit)
            answer = json.loads(line)
            if "return" in answer:
                return answer["return"]
            if "error" in answer:
                raise RuntimeError(f"QMP {command}: {answer['error']}")

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@dataclass
class Appliance:
    """One appliance VM and the way to reach it."""

    workdir: Path
    disk: Path
    seed: Path | None
    prefix: str
    firmware: str = "bios"
    #: Which image this is (services.common.profile): what its health check asks the DNS.
    profile: Profile = DEFAULT
    #: The emulated CPU model (None: image.vm.cpu_model()).
    cpu: str | None = None
    ports: dict[tuple[str, int], int] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    qmp: Qmp | None = None
    started: float = 0.0
    tap_fd: int | None = None
    restarts: int = 0

    @property
    def lan_ns(self) -> str:
        return f"{self.prefix}-lan"

    @property
    def tap(self) -> str:
        return f"{self.prefix}-tap"

    @property
    def serial_log(self) -> Path:
        return self.workdir / "serial.log"

    def start(self) -> None:
        for guest, proto in ((443, "tcp"), (1231, "tcp"), (22, "tcp"), (53, "udp")):
            self.ports[(proto, guest)] = free_port(
                socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
            )
        netns.delete(self.lan_ns)
        netns.add(self.lan_ns)
        self.tap_fd = open_tap(self.lan_ns, self.tap)
        run(["ip", "-n", self.lan_ns, "link", "set", self.tap, "address", "02:00:00:00:00:01"])
        run(["ip", "-n", self.lan_ns, "link", "set", self.tap, "up"])
        self.serial_log.unlink(missing_ok=True)
        machine = Machine(
            disk=self.disk,
            firmware=self.firmware,
            forwards=dict(self.ports),
            serial=f"file:{self.serial_log}",
            qmp=self.workdir / "qmp.sock",
            seed=self.seed,
            lan_tap_fd=self.tap_fd,
            vars_file=self.workdir / "OVMF_VARS.fd",
            cpu=self.cpu,
        )
        self.started = time.monotonic()
        with (self.workdir / "qemu.out").open("wb") as out:
            self.proc = subprocess.Popen(
                machine.argv(),
                pass_fds=(self.tap_fd,),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.qmp = Qmp(self.workdir / "qmp.sock")

    def stop(self) -> None:
        if self.qmp is not None:
            with contextlib.suppress(OSError, RuntimeError):
                self.qmp.execute("quit")
            self.qmp.close()
            self.qmp = None
        if self.proc is not None:
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        if self.tap_fd is not None:
            os.close(self.tap_fd)
            self.tap_fd = None
        netns.delete(self.lan_ns)

    # --- the console -------------------------------------------------------------
    def console(self) -> str:
        try:
            return self.serial_log.read_bytes().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_console(self, pattern: str, *, after: int = 0, timeout: float = 600) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            found = re.search(pattern, self.console()[after:])
            if found:
                return found
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"qemu exited: {(self.workdir / 'qemu.out').read_text()}")
            if self._hung_after_grub():
                # Software emulation here now and then never gets past GRUB's "Booting": the
                # emulator spins, the guest's kernel writes nothing, not even to its disk.
                # Nothing of the appliance ran; the machine is powered on again, once.
                if self.restarts:
                    raise AssertionError("the VM hung after GRUB twice: " + self.console()[-500:])
                print(f"{self.prefix}: the VM hung after GRUB; powering it on again",
                      file=sys.stderr)  # fmt: skip
                self.restarts += 1
                self.stop()
                self.start()
                deadline = max(deadline, time.monotonic() + timeout / 2)
                continue
            if time.monotonic() > deadline:
                tail = self.console()[-3000:]
                raise AssertionError(f"no {pattern!r} on the console in {timeout} s:\n{tail}")
            time.sleep(0.5)

    def _hung_after_grub(self) -> bool:
        """GRUB said "Booting" and neither the console nor the disk moved for HANG_S since."""
        if not self.console().rstrip().endswith("Booting `Burrow appliance'"):
            return False
        now = time.time()
        quiet = [now - path.stat().st_mtime for path in (self.serial_log, self.disk)]
        return min(quiet) > HANG_S

    def banner_value(self, label: str, *, after: int = 0) -> str:
        found = re.search(rf"{label} certificate SHA-256: {FINGERPRINT}", self.console()[after:])
        assert found, f"the banner shows no {label} certificate fingerprint"
        return found.group(1)

    def ctrl_alt_delete(self) -> None:
        assert self.qmp is not None
        keys = [{"type": "qcode", "data": k} for k in ("ctrl", "alt", "delete")]
        self.qmp.execute("send-key", keys=keys)

    # --- the services ----------------------------------------------------------------
    def dns_query(self, name: str, rdtype: str = "SOA") -> dns.message.Message:
        query = dns.message.make_query(name, dns.rdatatype.from_text(rdtype))
        return dns.query.udp(query, "127.0.0.1", port=self.ports[("udp", 53)], timeout=3)

    def https_get(self, guest_port: int, path: str) -> tuple[int, bytes, str]:
        """GET over HTTPS; status, body and the SHA-256 fingerprint of the server's certificate."""
        return self.https_request(guest_port, "GET", path)

    def https_request(
        self,
        guest_port: int,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10,
    ) -> tuple[int, bytes, str]:
        """One HTTPS request; status, body and the SHA-256 fingerprint of the certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        # The appliance's CA is new and unknown here: the certificate is checked by its
        # fingerprint against the one the console shows, the way an administrator does.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(
            "127.0.0.1", self.ports[("tcp", guest_port)], context=context, timeout=timeout
        )
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            body = response.read()
            assert conn.sock is not None
            der = conn.sock.getpeercert(binary_form=True)
        finally:
            conn.close()
        digest = hashlib.sha256(der or b"").hexdigest().upper()
        return response.status, body, ":".join(digest[i : i + 2] for i in range(0, 64, 2))

    def api(
        self, method: str, path: str, doc: Any = None, token: str | None = None, timeout: float = 30
    ) -> tuple[int, Any]:
        """Central's API (port 1231): status and the JSON answer (None when there is none)."""
        headers = {"Accept": "application/json"}
        body = None
        if doc is not None:
            body = json.dumps(doc).encode()
            headers["Content-Type"] = "application/json"
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        status, answer, _fp = self.https_request(1231, method, path, body, headers, timeout)
        return status, (json.loads(answer) if answer else None)

    def login(self, password: str, username: str = "admin") -> str:
        """A session token of Central's ``username``."""
        status, answer = self.api(
            "POST", "/api/v1/auth/login", {"username": username, "password": password}
        )
        assert status == 200, (status, answer)
        token: str = answer["token"]
        return token

    def lan_dig(self, server: str, name: str, rdtype: str = "A") -> str:
        """``dig`` from the LAN namespace (where the tap is): its whole output."""
        proc = subprocess.run(
            ["ip", "netns", "exec", self.lan_ns, "dig", "+time=3", "+tries=2", f"@{server}",
             name, rdtype],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        return proc.stdout + proc.stderr

    def ssh_banner(self) -> bytes:
        with socket.create_connection(("127.0.0.1", self.ports[("tcp", 22)]), timeout=10) as s:
            return s.recv(64)

    def wait_ssh_banner(self, timeout: float = 300) -> bytes:
        """The diagnostic shell's SSH banner, once it serves: it starts at a lower priority
        than Central and the web console (services.common.priority), so it may still be
        loading its code when the appliance is healthy."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                banner = self.ssh_banner()
                if banner:
                    return banner
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"no SSH banner in {timeout} s")
            time.sleep(1.0)

    def healthy(self) -> bool:
        """DNS answers, Central's health and the web console are served.

        The DNS question depends on the profile (``image.vm.DNS_PROBE``): the seed zone's SOA
        from BIND on a DNS/DHCP appliance, ``localhost. A`` from Unbound on a caching one.
        """
        name, rdtype = DNS_PROBE[self.profile]
        try:
            answer = self.dns_query(name, rdtype)
            if answer.rcode() != 0 or not answer.answer:
                return False
            status, _body, _fp = self.https_get(1231, "/api/v1/health")
            if status != 200:
                return False
            status, _body, _fp = self.https_get(443, "/")
            return status == 200
        except (OSError, dns.exception.DNSException, http.client.HTTPException, ssl.SSLError):
            return False

    def wait_healthy(self, timeout: float = 600) -> float:
        """Seconds from power-on until every check answers."""
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if time.monotonic() > deadline:
                raise AssertionError(f"not healthy in {timeout} s:\n{self.console()[-3000:]}")
            time.sleep(1.0)
        return time.monotonic() - self.started
