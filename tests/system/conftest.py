"""Fixtures of the system tests: the built images, and one booted appliance per module.

An image is built when its inputs changed (``image.build.build`` keeps a stamp per profile), so
a second run reuses it. Figures (build and boot times, image size) are written to
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
from services.common.profile import DEFAULT, Profile
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


#: The caching appliance's seed: no DHCP server, so no DHCP settings; its eth1 is on the LAN
#: namespace, whose clients Unbound refuses until an access rule allows them.
CACHING_SEED = {
    "meta-data": "instance-id: burrow-caching-test\nlocal-hostname: cache-test.example\n",
    "user-data": f"""#cloud-config
hostname: cache-test
burrow:
  admin_password: "{ADMIN_PASSWORD}"
""",
    "network-config": SEED["network-config"],
}


def record(name: str, value: float | str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "image-figures.json"
    figures = json.loads(path.read_text()) if path.exists() else {}
    figures[name] = value
    path.write_text(json.dumps(figures, indent=2) + "\n")


def _built(profile: Profile) -> Path:
    if os.geteuid() != 0:
        pytest.fail("the system tests need root (qemu's tap device, network namespaces)")
    out = image_build.outputs(profile)
    label = "" if profile == DEFAULT else f"{profile} "
    started = time.monotonic()
    was_current = image_build.image_is_current(profile)
    image_build.build(profile=profile)
    if not was_current:
        record(f"{label}image build seconds", round(time.monotonic() - started, 1))
    record(f"{label}qcow2 MB", round(out.qcow2.stat().st_size / 1024**2, 1))
    return out.qcow2


@pytest.fixture(scope="session")
def image() -> Path:
    """dist/burrow.qcow2, the DNS/DHCP appliance."""
    return _built(DEFAULT)


@pytest.fixture(scope="session")
def caching_image() -> Path:
    """dist/burrow-caching.qcow2, the caching appliance (Unbound)."""
    return _built("caching")


def _boot(
    image: Path,
    firmware: str,
    name: str,
    seed: dict[str, str] | None,
    profile: Profile = DEFAULT,
) -> Iterator[Appliance]:
    with tempfile.TemporaryDirectory(prefix=f"burrow-{name}-") as tmp:
        work = Path(tmp)
        disk = work / "disk.qcow2"
        make_overlay(image, disk)
        seed_file = None
        if seed is not None:
            seed_file = work / "seed.img"
            make_seed(seed_file, seed)
        vm = Appliance(
            work, disk, seed_file, prefix=f"{PREFIX}{name}", firmware=firmware, profile=profile
        )
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
    yield from _boot(image, "bios", "b", SEED)


@pytest.fixture()
def uefi_appliance(image: Path) -> Iterator[Appliance]:
    """The image booted by UEFI (OVMF) with no first-boot settings at all."""
    yield from _boot(image, "uefi", "u", None)


@pytest.fixture(scope="module")
def caching_appliance(caching_image: Path) -> Iterator[Appliance]:
    """The caching image booted by BIOS with its NoCloud seed and a LAN namespace on eth1."""
    yield from _boot(caching_image, "bios", "c", CACHING_SEED, profile="caching")
