"""Assemble a partitioned, bootable disk image in a plain file: no loop devices, no mounts.

Layout (GPT, 512-byte sectors), bootable by BIOS and by UEFI:

=====  ==================  =======================================================
part   what                how it is filled
=====  ==================  =======================================================
1      BIOS boot, 1 MiB    GRUB's core image for BIOS (grub-mkimage -O i386-pc)
2      EFI system, 64 MiB  FAT made with mkfs.vfat in a file, EFI/BOOT/BOOTX64.EFI
                           copied in with mtools (the removable-media path: no NVRAM)
3      root, the rest      ext4 made from a directory with ``mke2fs -d``
=====  ==================  =======================================================

For BIOS, sector 0 gets GRUB's boot.img the way grub-bios-setup would write it: the
partition table stays, the LBA of the core image goes into the boot sector, and the core
image's first sector (diskboot) gets one block list entry for the rest of itself, which
lies contiguously in partition 1. Both GRUB images carry a small configuration that finds
the root file system by its UUID and reads /boot/grub/grub.cfg from it, so every module
they need is built in and nothing else is written outside partition 3.
"""

from __future__ import annotations

import logging
import os
import struct
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from services.common.proc import run

log = logging.getLogger(__name__)

SECTOR = 512
MIB = 1024 * 1024

BIOS_BOOT_TYPE = "21686148-6449-6E6F-744E-656564454649"
ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
LINUX_TYPE = "0FC63DAF-8483-4772-8E79-3D69C47D8E4F"

BIOS_START = 2048  # sectors
BIOS_SECTORS = 2048  # 1 MiB
ESP_START = BIOS_START + BIOS_SECTORS
ESP_SECTORS = 64 * MIB // SECTOR
ROOT_START = ESP_START + ESP_SECTORS
GPT_BACKUP_SECTORS = 34  # backup header and entries at the end of the disk

GRUB_PC_DIR = Path("/usr/lib/grub/i386-pc")
GRUB_EFI_DIR = Path("/usr/lib/grub/x86_64-efi")

# Offsets in GRUB's boot.img and diskboot.img (grub include/grub/i386/pc/boot.h).
BOOT_KERNEL_SECTOR = 0x5C  # u64: LBA of the core image's first sector
BOOT_DRIVE = 0x64  # u8: 0xff = the drive the BIOS booted from
BOOT_DRIVE_CHECK = 0x66  # a jmp, replaced by two nops for hard disks
BOOT_TABLE_START = 0x1B8  # disk signature, partition table and 0x55aa: kept from the disk
DISKBOOT_BLOCKLIST = SECTOR - 12  # u64 start, u16 length, u16 segment
KERNEL_SEGMENT = 0x820

_COMMON_MODULES = [
    "part_gpt",
    "ext2",
    "search",
    "search_fs_uuid",
    "configfile",
    "normal",
    "linux",
    "echo",
    "test",
    "serial",
    "terminal",
    "gzio",
    "sleep",
]
BIOS_MODULES = ["biosdisk", *_COMMON_MODULES]
EFI_MODULES = ["fat", "efi_gop", *_COMMON_MODULES]


@dataclass(frozen=True)
class DiskLayout:
    """Sizes of one disk image, in sectors."""

    total: int

    @property
    def root_sectors(self) -> int:
        # Align the end of the root partition down to 1 MiB, before the GPT backup.
        end = (self.total - GPT_BACKUP_SECTORS) // BIOS_SECTORS * BIOS_SECTORS
        return end - ROOT_START

    @property
    def root_bytes(self) -> int:
        return self.root_sectors * SECTOR


def early_config(root_uuid: str) -> str:
    """The configuration built into both GRUB images: find the root and read its grub.cfg."""
    return (
        f"search --no-floppy --fs-uuid {root_uuid} --set=root\n"
        "set prefix=($root)/boot/grub\n"
        "configfile ($root)/boot/grub/grub.cfg\n"
    )


def grub_cfg(root_uuid: str, cmdline: str) -> str:
    """/boot/grub/grub.cfg: one entry, shown on the screen and the first serial port."""
    return (
        "# Burrow appliance boot menu. Add burrow.* parameters to the linux line to set the\n"
        "# network at first boot (see the README, 'First boot').\n"
        "serial --unit=0 --speed=115200\n"
        "terminal_input console serial\n"
        "terminal_output console serial\n"
        "set timeout=1\n"
        "set default=0\n"
        'menuentry "Burrow appliance" {\n'
        f"    linux /vmlinuz root=UUID={root_uuid} ro {cmdline}\n"
        "    initrd /initrd.img\n"
        "}\n"
    )


def make_root_fs(tree: Path, image: Path, size: int, root_uuid: str) -> None:
    """An ext4 file system of ``size`` bytes filled from ``tree`` (mke2fs -d, no mount)."""
    image.unlink(missing_ok=True)
    run(
        [
            "mke2fs",
            "-q",
            "-F",
            "-t",
            "ext4",
            "-L",
            "burrow-root",
            "-U",
            root_uuid,
            "-E",
            "lazy_itable_init=1,lazy_journal_init=1",
            "-d",
            str(tree),
            str(image),
            f"{size // 1024}k",
        ],
        timeout=1800,
    )


def make_esp(image: Path, efi_binary: Path) -> None:
    """The EFI system partition: FAT, with GRUB at the removable-media path."""
    image.unlink(missing_ok=True)
    run(["mkfs.vfat", "-n", "BURROW-ESP", "-C", str(image), str(ESP_SECTORS * SECTOR // 1024)])
    env = {**os.environ, "MTOOLS_SKIP_CHECK": "1"}
    run(["mmd", "-i", str(image), "::/EFI", "::/EFI/BOOT"], env=env)
    run(["mcopy", "-i", str(image), str(efi_binary), "::/EFI/BOOT/BOOTX64.EFI"], env=env)


def make_grub_images(work: Path, root_uuid: str) -> tuple[Path, Path]:
    """GRUB's core image for BIOS and its EFI binary, each with the early configuration."""
    config = work / "early.cfg"
    config.write_text(early_config(root_uuid))
    core = work / "core.img"
    run(
        [
            "grub-mkimage",
            "-O",
            "i386-pc",
            "-d",
            str(GRUB_PC_DIR),
            "-o",
            str(core),
            "-c",
            str(config),
            "-p",
            "/boot/grub",
            *BIOS_MODULES,
        ]
    )
    efi = work / "BOOTX64.EFI"
    run(
        [
            "grub-mkimage",
            "-O",
            "x86_64-efi",
            "-d",
            str(GRUB_EFI_DIR),
            "-o",
            str(efi),
            "-c",
            str(config),
            "-p",
            "/boot/grub",
            *EFI_MODULES,
        ]
    )
    if core.stat().st_size > BIOS_SECTORS * SECTOR:
        raise RuntimeError("GRUB's BIOS core image does not fit the 1 MiB BIOS boot partition")
    return core, efi


def partition(disk: Path, layout: DiskLayout, root_partuuid: str) -> None:
    """Write the GPT (and its protective MBR) with sfdisk."""
    script = (
        "label: gpt\n"
        "unit: sectors\n"
        f"start={BIOS_START}, size={BIOS_SECTORS}, type={BIOS_BOOT_TYPE}, name=bios\n"
        f"start={ESP_START}, size={ESP_SECTORS}, type={ESP_TYPE}, name=esp\n"
        f"start={ROOT_START}, size={layout.root_sectors}, type={LINUX_TYPE}, "
        f"uuid={root_partuuid}, name=root\n"
    )
    run(["sfdisk", "--no-reread", "--no-tell-kernel", "-q", str(disk)], input_text=script)


def install_bios_boot(disk: Path, core: Path) -> None:
    """Write GRUB's boot sector and core image the way grub-bios-setup lays them out."""
    core_data = bytearray(core.read_bytes())
    if len(core_data) % SECTOR:
        core_data += bytes(SECTOR - len(core_data) % SECTOR)
    sectors = len(core_data) // SECTOR
    # diskboot: load the remaining sectors, which follow it contiguously.
    struct.pack_into(
        "<QHH", core_data, DISKBOOT_BLOCKLIST, BIOS_START + 1, sectors - 1, KERNEL_SEGMENT
    )
    boot = bytearray((GRUB_PC_DIR / "boot.img").read_bytes())
    with disk.open("r+b") as f:
        mbr = f.read(SECTOR)
        boot[BOOT_TABLE_START:SECTOR] = mbr[BOOT_TABLE_START:SECTOR]
        struct.pack_into("<Q", boot, BOOT_KERNEL_SECTOR, BIOS_START)
        boot[BOOT_DRIVE] = 0xFF
        boot[BOOT_DRIVE_CHECK : BOOT_DRIVE_CHECK + 2] = b"\x90\x90"
        f.seek(0)
        f.write(boot)
        f.seek(BIOS_START * SECTOR)
        f.write(core_data)


def copy_into(disk: Path, part: Path, start_sector: int) -> None:
    """Copy a partition image into the disk at ``start_sector``, keeping holes as holes."""
    chunk = MIB
    zero = bytes(chunk)
    with part.open("rb") as src, disk.open("r+b") as dst:
        offset = start_sector * SECTOR
        while True:
            data = src.read(chunk)
            if not data:
                break
            if data != zero[: len(data)]:
                dst.seek(offset)
                dst.write(data)
            offset += len(data)


def assemble(tree: Path, disk: Path, size: int, cmdline: str) -> None:
    """Make the bootable raw disk ``disk`` of ``size`` bytes from the root tree ``tree``."""
    layout = DiskLayout(size // SECTOR)
    root_uuid = str(uuid.uuid4())
    (tree / "boot/grub").mkdir(parents=True, exist_ok=True)
    (tree / "boot/grub/grub.cfg").write_text(grub_cfg(root_uuid, cmdline))
    (tree / "etc/fstab").write_text(
        f"# <file system>  <mount point>  <type>  <options>  <dump>  <pass>\n"
        f"UUID={root_uuid}  /  ext4  errors=remount-ro  0  1\n"
    )
    with tempfile.TemporaryDirectory(prefix="burrow-disk-", dir=disk.parent) as tmp:
        work = Path(tmp)
        core, efi = make_grub_images(work, root_uuid)
        esp = work / "esp.img"
        make_esp(esp, efi)
        root = work / "root.img"
        make_root_fs(tree, root, layout.root_bytes, root_uuid)
        partial = disk.with_suffix(disk.suffix + ".partial")
        partial.unlink(missing_ok=True)
        with partial.open("wb") as f:
            f.truncate(size)
        partition(partial, layout, str(uuid.uuid4()))
        install_bios_boot(partial, core)
        copy_into(partial, esp, ESP_START)
        copy_into(partial, root, ROOT_START)
        partial.replace(disk)
