"""Boot the appliance image under qemu: ``./build.sh run``, and the system tests.

KVM is used only where it really runs a guest (a tiny boot sector that tells qemu to exit
through the isa-debug-exit device); everywhere else qemu emulates the CPU (TCG).
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from services.common.errors import SetupError
from services.common.profile import DEFAULT, Profile

OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")

#: A DNS question each profile answers from the moment it is healthy, for ``dig``: a zone of
#: the DNS/DHCP appliance's seed, and Unbound's own ``localhost`` on a caching appliance.
DNS_PROBE: dict[Profile, tuple[str, str]] = {
    "dns-dhcp": ("burrow.example.", "SOA"),
    "caching": ("localhost.", "A"),
}

#: Guest port -> (protocols, default local port) forwarded by ``./build.sh run``.
FORWARDS = {
    443: (("tcp",), 8443),
    1231: (("tcp",), 1231),
    53: (("tcp", "udp"), 5353),
    22: (("tcp",), 2222),
}

# mov al,1; out 0xf4,al; hlt; jmp $-1 ... 0x55aa: qemu exits with status (1 << 1) | 1 = 3.
_PROBE_SECTOR = bytes.fromhex("b001e6f4f4ebfd").ljust(510, b"\0") + b"\x55\xaa"


@functools.cache
def kvm_works() -> bool:
    """Whether qemu can run a guest with KVM here (not merely whether /dev/kvm exists)."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    with tempfile.NamedTemporaryFile(prefix="burrow-kvm-probe-", suffix=".img") as disk:
        disk.write(_PROBE_SECTOR)
        disk.flush()
        # The same machine, CPU model and CPU count as a real boot: some hosts accept a
        # bare KVM guest but abort on the MSRs of ``-cpu host``.
        argv = [
            "qemu-system-x86_64",
            "-machine",
            "q35",
            "-accel",
            "kvm",
            "-cpu",
            "host",
            "-smp",
            "2",
            "-display",
            "none",
            "-nodefaults",
            "-no-reboot",
            "-device",
            "isa-debug-exit,iobase=0xf4,iosize=0x01",
            "-drive",
            f"file={disk.name},format=raw,if=ide",
        ]
        try:
            proc = subprocess.run(argv, capture_output=True, timeout=20, check=False)
        except subprocess.TimeoutExpired:
            return False
        return proc.returncode == 3


def accel() -> str:
    """The accelerator argument: KVM where it works, else multi-threaded TCG."""
    override = os.environ.get("BURROW_QEMU_ACCEL")
    if override:
        return override
    return "kvm" if kvm_works() else "tcg,thread=multi"


def cpu_model() -> str:
    """The CPU model: the host's under KVM; QEMU's plain ``qemu64`` under software emulation.

    Under TCG the guest ran faster on the CPU that promises least: on ``-cpu max`` (AVX2,
    XSAVE of AVX, MPX and PKRU state, ...), whose extensions the guest's kernel and libraries
    then use and the emulator must emulate, the appliance took some 10 s longer from power-on
    to healthy (``docs/benchmarks.md``; which extension costs most was not measured).
    ``BURROW_QEMU_CPU`` names another model.
    """
    override = os.environ.get("BURROW_QEMU_CPU")
    if override:
        return override
    return "qemu64" if "tcg" in accel() else "host"


@dataclass
class Machine:
    """One qemu invocation of the appliance image."""

    disk: Path
    firmware: str = "bios"  # or "uefi"
    memory_mb: int = 1024
    cpus: int = 2
    forwards: dict[tuple[str, int], int] = field(default_factory=dict)  # (proto, guest) -> host
    serial: str = "mon:stdio"
    qmp: Path | None = None
    seed: Path | None = None
    lan_tap_fd: int | None = None  # a second NIC on a tap the caller opened
    lan_mac: str = "52:54:00:00:01:02"
    vars_file: Path | None = None
    display: str = "none"
    cpu: str | None = None  # the CPU model; None: cpu_model()

    def argv(self) -> list[str]:
        fwd = ",".join(
            f"hostfwd={proto}:127.0.0.1:{host}-:{guest}"
            for (proto, guest), host in sorted(self.forwards.items())
        )
        argv = [
            "qemu-system-x86_64",
            "-machine",
            "q35",
            "-accel",
            accel(),
            "-cpu",
            self.cpu or cpu_model(),
            "-smp",
            str(self.cpus),
            "-m",
            str(self.memory_mb),
            "-display",
            self.display,
            "-serial",
            self.serial,
            "-drive",
            f"file={self.disk},if=virtio,format=qcow2,discard=unmap",
            "-netdev",
            "user,id=mgmt" + (f",{fwd}" if fwd else ""),
            "-device",
            "virtio-net-pci,netdev=mgmt,mac=52:54:00:00:01:01",
            "-device",
            "virtio-rng-pci",
        ]
        if self.firmware == "uefi":
            if not OVMF_CODE.exists():
                raise SetupError("UEFI firmware is missing.", hint="apt-get install ovmf")
            if self.vars_file is None:
                raise SetupError("UEFI needs a variables file")
            if not self.vars_file.exists():
                shutil.copyfile(OVMF_VARS, self.vars_file)
            argv += [
                "-drive",
                f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
                "-drive",
                f"if=pflash,format=raw,unit=1,file={self.vars_file}",
            ]
        if self.seed is not None:
            argv += ["-drive", f"file={self.seed},if=virtio,format=raw,readonly=on"]
        if self.lan_tap_fd is not None:
            argv += [
                "-netdev",
                f"tap,id=lan,fd={self.lan_tap_fd}",
                "-device",
                f"virtio-net-pci,netdev=lan,mac={self.lan_mac}",
            ]
        if self.qmp is not None:
            argv += ["-qmp", f"unix:{self.qmp},server=on,wait=off"]
        return argv


def make_overlay(base: Path, overlay: Path) -> None:
    """A qcow2 file whose writes stay apart from ``base`` (which stays as built)."""
    overlay.unlink(missing_ok=True)
    subprocess.run(
        [
            "qemu-img",
            "create",
            "-q",
            "-f",
            "qcow2",
            "-F",
            "qcow2",
            "-b",
            str(base.resolve()),
            str(overlay),
        ],
        check=True,
    )


def run_cli(argv: list[str], profile: Profile = DEFAULT) -> int:
    """``./build.sh run [--profile P]``: boot ``profile``'s image with its services forwarded
    to local ports."""
    from image.build import DIST, outputs

    out = outputs(profile)
    parser = argparse.ArgumentParser(prog=f"build.sh run --profile {profile}")
    parser.add_argument("--uefi", action="store_true", help="boot with UEFI (OVMF), not BIOS")
    parser.add_argument("--fresh", action="store_true", help="start again from the image")
    parser.add_argument("--memory", type=int, default=1024, help="memory in MiB (1024)")
    parser.add_argument("--seed", type=Path, help="a NoCloud seed disk (cidata) to attach")
    parser.add_argument(
        "--vnc",
        type=int,
        metavar="N",
        help="show the screen (tty1: banner and network menu) on VNC display 127.0.0.1:N",
    )
    for guest, (_protos, host) in FORWARDS.items():
        parser.add_argument(
            f"--port-{guest}",
            type=int,
            default=host,
            metavar="PORT",
            help=f"local port for the appliance's port {guest} ({host})",
        )
    args = parser.parse_args(argv)
    # Each profile keeps its own appliance disk: dist/run/ and dist/run-caching/.
    state = DIST / ("run" if profile == DEFAULT else f"run-{profile}")
    state.mkdir(parents=True, exist_ok=True)
    overlay = state / "appliance.qcow2"
    made_from = state / "made-from"
    stamp = out.stamp.read_text()
    if (
        args.fresh
        or not overlay.exists()
        or not made_from.exists()
        or made_from.read_text() != stamp
    ):
        print("==> a fresh appliance disk (the image changed, or --fresh)", file=sys.stderr)
        make_overlay(out.qcow2, overlay)
        (state / "OVMF_VARS.fd").unlink(missing_ok=True)
        made_from.write_text(stamp)
    forwards: dict[tuple[str, int], int] = {}
    for guest, (protos, _default) in FORWARDS.items():
        for proto in protos:
            forwards[(proto, guest)] = getattr(args, f"port_{guest}")
    machine = Machine(
        disk=overlay,
        firmware="uefi" if args.uefi else "bios",
        memory_mb=args.memory,
        forwards=forwards,
        seed=args.seed,
        vars_file=state / "OVMF_VARS.fd",
        display=f"vnc=127.0.0.1:{args.vnc}" if args.vnc is not None else "none",
    )
    cmd = machine.argv()
    p = {g: getattr(args, f"port_{g}") for g in FORWARDS}
    qname, qtype = DNS_PROBE[profile]
    print(
        f"""==> booting {out.qcow2.name} ({machine.firmware}, {accel()}); state kept in {overlay}
    The console is below (Ctrl-A X quits qemu). When the banner says "burrow: ready":
      web console   https://127.0.0.1:{p[443]}/
      API           curl -k https://127.0.0.1:{p[1231]}/api/v1/health
      DNS           dig @127.0.0.1 -p {p[53]} {qname} {qtype}
      diag shell    ssh -p {p[22]} diag@127.0.0.1
    Compare the certificate fingerprints with the ones the banner shows.""",
        file=sys.stderr,
        flush=True,
    )
    os.execvp(cmd[0], cmd)  # noqa: S606
    return 0  # not reached
