"""The system tests' watch for a VM that never gets past GRUB (tests/system/appliance.py)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.system.appliance import HANG_S, Appliance

BOOTING = "\x1b[1;1H  Booting `Burrow appliance'\r\n\r\n"


def _vm(tmp_path: Path, console: str, quiet_for: float) -> Appliance:
    disk = tmp_path / "disk.qcow2"
    disk.write_bytes(b"QFI")
    vm = Appliance(tmp_path, disk, None, prefix="x")
    vm.serial_log.write_text(console)
    then = time.time() - quiet_for
    for path in (disk, vm.serial_log):
        os.utime(path, (then, then))
    return vm


def test_a_vm_silent_after_grub_is_hung(tmp_path: Path) -> None:
    assert _vm(tmp_path, "GNU GRUB\r\n" + BOOTING, HANG_S + 5)._hung_after_grub()


def test_a_vm_still_within_its_time_or_past_grub_is_not(tmp_path: Path) -> None:
    assert not _vm(tmp_path, "GNU GRUB\r\n" + BOOTING, HANG_S - 60)._hung_after_grub()
    assert not _vm(tmp_path, BOOTING + "[  73.4] burrow: ready\r\n", HANG_S + 5)._hung_after_grub()


def test_a_disk_being_written_means_the_kernel_runs(tmp_path: Path) -> None:
    vm = _vm(tmp_path, BOOTING, HANG_S + 5)
    vm.disk.write_bytes(b"QFI written")
    assert not vm._hung_after_grub()
