"""The disk layout and GRUB's boot sector, checked on a small disk file (no VM)."""

from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path

from image import disk


def test_partitions_and_bios_boot_sector(tmp_path: Path) -> None:
    size = 256 * disk.MIB
    raw = tmp_path / "disk.raw"
    with raw.open("wb") as f:
        f.truncate(size)
    layout = disk.DiskLayout(size // disk.SECTOR)
    disk.partition(raw, layout, "5b3c3f9e-8a53-4a55-9b0e-4f1f2b0c1d2e")
    table = json.loads(
        subprocess.run(
            ["sfdisk", "-J", str(raw)], capture_output=True, text=True, check=True
        ).stdout
    )["partitiontable"]
    assert table["label"] == "gpt"
    parts = table["partitions"]
    assert [p["start"] for p in parts] == [disk.BIOS_START, disk.ESP_START, disk.ROOT_START]
    assert parts[0]["type"] == disk.BIOS_BOOT_TYPE
    assert parts[1]["type"] == disk.ESP_TYPE
    assert parts[2]["start"] + parts[2]["size"] <= layout.total - disk.GPT_BACKUP_SECTORS
    mbr_before = raw.read_bytes()[: disk.SECTOR]

    core, _efi = disk.make_grub_images(tmp_path, "5b3c3f9e-8a53-4a55-9b0e-4f1f2b0c1d2e")
    disk.install_bios_boot(raw, core)
    data = raw.read_bytes()
    boot = data[: disk.SECTOR]
    # The partition table and signature are kept; the boot code points at the core image.
    assert boot[disk.BOOT_TABLE_START :] == mbr_before[disk.BOOT_TABLE_START :]
    assert boot[510:] == b"\x55\xaa"
    assert struct.unpack_from("<Q", boot, disk.BOOT_KERNEL_SECTOR)[0] == disk.BIOS_START
    assert boot[disk.BOOT_DRIVE] == 0xFF
    first = data[disk.BIOS_START * disk.SECTOR : (disk.BIOS_START + 1) * disk.SECTOR]
    start, length, segment = struct.unpack_from("<QHH", first, disk.DISKBOOT_BLOCKLIST)
    sectors = -(-core.stat().st_size // disk.SECTOR)
    assert (start, length, segment) == (disk.BIOS_START + 1, sectors - 1, disk.KERNEL_SEGMENT)
    # The GPT still reads back after the boot sector was written.
    check = subprocess.run(["sfdisk", "--verify", str(raw)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_grub_configuration_finds_the_root_by_uuid() -> None:
    uuid = "5b3c3f9e-8a53-4a55-9b0e-4f1f2b0c1d2e"
    assert f"search --no-floppy --fs-uuid {uuid} --set=root" in disk.early_config(uuid)
    cfg = disk.grub_cfg(uuid, "console=ttyS0 quiet")
    assert f"linux /vmlinuz root=UUID={uuid} ro console=ttyS0 quiet" in cfg
    assert "initrd /initrd.img" in cfg
