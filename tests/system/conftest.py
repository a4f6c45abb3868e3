"""Fixtures of the system tests: the built image, and one booted appliance per module.

The image is built when its inputs changed (``image.build.build`` keeps a stamp), so a
second run reuses it. Figures (build and boot times, image size) are written to
tests/.artifacts/image-figures.json.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from image import build as image_build
from image.seed import make_seed
from image.vm import make_overlay
from tests.system.appliance import LAN_ADDRESS, LAN_NETWORK, POOL, Appliance

ARTIFACTS = Path(__file__).resolve().parents[1] / ".artifacts"
PREFIX = os.environ.get("BURROW_TEST_PREFIX", "t") + "vm"

ADMIN_PASSWORD = "system-test horse battery 42"

SEED = {
    "meta-data": "instance-id: burrow-system-test\nlocal-hostname: ns-test.example\n",
    "user-data": f"""#cloud-config
hostname: ns-test
burrow:
  admin_password: "{ADMIN_PASSWORD}"
  dhcp_interfaces: [eth1]
  seed_subnet4:
    subnet: {LAN_NETWORK}
    pool_start: {POOL[0]}
    pool_end: {POOL[1]}
    routers: [{LAN_ADDRESS.split("/")[0]}]
""",
    "network-config": f"""version: 2
ethernets:
  mgmt:
    match: {{macaddress: "52:54:00:00:01:01"}}
    dhcp4: true
  lan:
    match: {{macaddress: "52:54:00:00:01:02"}}
    addresses: [{LAN_ADDRESS}]
""",
}


def record(name: str, value: float | str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "image-figures.json"
    figures = json.loads(path.read_text()) if path.exists() else {}
    figures[name] = value
    path.write_text(json.dumps(figures, indent=2) + "\n")


@pytest.fixture(scope="session")
def image() -> Path:
    if os.geteuid() != 0:
        pytest.fail("the system tests need root (qemu's tap device, network namespaces)")
    started = time.monotonic()
    was_current = image_build.image_is_current()
    image_build.build()
    if not was_current:
        record("image build seconds", round(time.monotonic() - started, 1))
    record("qcow2 MB", round(image_build.QCOW2.stat().st_size / 1024**2, 1))
    return image_build.QCOW2


def _boot(image: Path, firmware: str, name: str, seed: bool) -> Iterator[Appliance]:
    with tempfile.TemporaryDirectory(prefix=f"burrow-{name}-") as tmp:
        work = Path(tmp)
        disk = work / "disk.qcow2"
        make_overlay(image, disk)
        seed_file = None
        if seed:
            seed_file = work / "seed.img"
            make_seed(seed_file, SEED)
        vm = Appliance(work, disk, seed_file, prefix=f"{PREFIX}{name}", firmware=firmware)
        try:
            vm.start()
            yield vm
        finally:
            vm.stop()
            log = vm.serial_log
            if log.exists():
                ARTIFACTS.mkdir(exist_ok=True)
                (ARTIFACTS / f"serial-{name}.log").write_bytes(log.read_bytes())


@pytest.fixture(scope="module")
def appliance(image: Path) -> Iterator[Appliance]:
    """The image booted by BIOS with a NoCloud seed and a LAN namespace on its eth1."""
    yield from _boot(image, "bios", "b", seed=True)


@pytest.fixture()
def uefi_appliance(image: Path) -> Iterator[Appliance]:
    """The image booted by UEFI (OVMF) with no first-boot settings at all."""
    yield from _boot(image, "uefi", "u", seed=False)
