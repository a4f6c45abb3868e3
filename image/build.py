"""Build the appliance image, or boot it: ``python -m image.build image|run``.

Stages of ``image`` (each shown as it starts, each cached where its inputs allow):

1. tools    check that every program the build needs is here
2. base     Debian 12 packages with mmdebstrap, kept as image/cache/base-KEY.tar
3. wheels   the project and its pinned dependencies as wheels (image/cache/wheels-KEY/)
4. tree     unpack the base, install the wheels into /opt/burrow/venv (chroot, no mounts),
            lay rootfs/ over it, enable Burrow's units and mask Debian's named and Kea units
5. disk     partitions, GRUB for BIOS and UEFI, ext4 from the tree: dist/burrow.raw
6. qcow2    dist/burrow.qcow2

The finished image is stamped with a hash of everything it was made from
(dist/burrow.stamp); ``image`` does nothing when the stamp matches, unless ``--force``.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from image import recipe
from image.disk import assemble
from services.common.errors import BurrowError, SetupError
from services.common.proc import run
from webui import vendor

log = logging.getLogger(__name__)

PROJECT = Path(__file__).resolve().parents[1]
CACHE = PROJECT / "image/cache"
DIST = PROJECT / "dist"
RAW = DIST / "burrow.raw"
QCOW2 = DIST / "burrow.qcow2"
STAMP = DIST / "burrow.stamp"
VENV = "/opt/burrow/venv"
WHEELS_IN_TREE = "/tmp/burrow-wheels"  # noqa: S108 - a path inside the image tree, at build time
DISK_SIZE = 4 * 1024**3
# transparent_hugepage=madvise: Debian's kernel backs every anonymous mapping with 2 MiB pages
# ("always"), so each Python heap's partly used regions count as whole huge pages in use.
# Only programs that ask for huge pages (madvise) get them.
KERNEL_CMDLINE = (
    "console=tty0 console=ttyS0,115200n8 net.ifnames=0 quiet transparent_hugepage=madvise"
)

#: Debian's own units for the daemons that supervisord runs.
MASKED_UNITS = (
    "named.service",
    "bind9.service",
    "kea-dhcp4-server.service",
    "kea-dhcp6-server.service",
    "kea-ctrl-agent.service",
    "kea-dhcp-ddns-server.service",
    "named-resolvconf.service",
    # supervisord runs chronyd and rsyslogd with Burrow's own configurations.
    "chrony.service",
    "chronyd.service",
    "rsyslog.service",
    "syslog.service",
    # An appliance is updated by a new image, not by apt in the background.
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    # Not needed on an appliance, and each costs CPU time while the services start (most of
    # all under software emulation) or memory afterwards: gettys on tty2-tty6 (tty1 is the
    # console menu, ttyS0 the serial login), e2scrub (the root file system is checked by
    # fsck at boot; e2scrub needs LVM), binfmt_misc (no foreign executables).
    "getty-static.service",
    "e2scrub_reap.service",
    "e2scrub_all.timer",
    "systemd-binfmt.service",
    "proc-sys-fs-binfmt_misc.automount",
)
BURROW_UNITS = (
    "burrow-firstboot.service",
    "burrow.service",
    "burrow-banner.service",
    "burrow-console.service",
)

#: Programs the build needs, and the Debian package each comes from.
TOOLS = {
    "mmdebstrap": "mmdebstrap",
    "mke2fs": "e2fsprogs",
    "sfdisk": "fdisk",
    "mkfs.vfat": "dosfstools",
    "mcopy": "mtools",
    "mmd": "mtools",
    "grub-mkimage": "grub-common",
    "qemu-img": "qemu-utils",
    "chroot": "coreutils",
    "systemctl": "systemd",
}
GRUB_FILES = {
    "/usr/lib/grub/i386-pc/boot.img": "grub-pc-bin",
    "/usr/lib/grub/x86_64-efi/linux.mod": "grub-efi-amd64-bin",
}

#: Sources of the project that end up in the image.
SOURCE_PARTS = (
    "services",
    "central",
    "webui",
    "rootfs",
    "image",
    "pyproject.toml",
    "constraints.txt",
)


class Progress:
    """Prints one line per stage with the time each took."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.count = 0
        self.started = time.monotonic()
        self._stage_started = self.started

    def stage(self, name: str, what: str) -> None:
        self._finish()
        self.count += 1
        self._stage_started = time.monotonic()
        print(f"==> [{self.count}/{self.total}] {name}: {what}", file=sys.stderr, flush=True)

    def note(self, text: str) -> None:
        print(f"    {text}", file=sys.stderr, flush=True)

    def _finish(self) -> None:
        if self.count:
            self.note(f"({time.monotonic() - self._stage_started:.1f} s)")

    def done(self) -> float:
        self._finish()
        return time.monotonic() - self.started


def check_tools() -> None:
    """Fail with one sentence naming the first missing program."""
    if os.geteuid() != 0:
        raise SetupError("Building the image needs root.", hint="run ./build.sh image as root")
    for tool, package in TOOLS.items():
        if shutil.which(tool) is None:
            raise SetupError(f"{tool} is missing.", hint=f"apt-get install {package}")
    for path, package in GRUB_FILES.items():
        if not Path(path).exists():
            raise SetupError(f"GRUB's {path} is missing.", hint=f"apt-get install {package}")


def _files(parts: tuple[str, ...]) -> Iterator[Path]:
    for part in parts:
        path = PROJECT / part
        if path.is_file():
            yield path
            continue
        for file in sorted(path.rglob("*")):
            rel = file.relative_to(PROJECT).parts
            if "__pycache__" in rel or rel[:2] == ("image", "cache") or not file.is_file():
                continue
            yield file


def digest(parts: tuple[str, ...]) -> str:
    h = hashlib.sha256()
    for file in _files(parts):
        h.update(str(file.relative_to(PROJECT)).encode() + b"\0")
        h.update(file.read_bytes())
    return h.hexdigest()[:16]


def image_key() -> str:
    """Hash of everything the image is made from."""
    return f"{recipe.base_key()}-{digest(SOURCE_PARTS)}"


def image_is_current() -> bool:
    return (
        QCOW2.exists()
        and RAW.exists()
        and STAMP.exists()
        and STAMP.read_text().strip() == image_key()
    )


# --- stages ------------------------------------------------------------------
def make_base(progress: Progress) -> Path:
    key = recipe.base_key()
    tar = CACHE / f"base-{key}.tar"
    if tar.exists():
        progress.note(f"cached: {tar.relative_to(PROJECT)}")
        return tar
    CACHE.mkdir(parents=True, exist_ok=True)
    for old in CACHE.glob("base-*.tar*"):
        old.unlink()
    partial = tar.with_suffix(".tar.partial")
    progress.note("mmdebstrap (Debian packages; about a minute)")
    run(recipe.mmdebstrap_argv(str(partial)), timeout=3600)
    partial.replace(tar)
    return tar


def make_wheels(progress: Progress) -> Path:
    """Pinned dependencies as wheels (cached by the constraints), the project's wheel fresh."""
    key = digest(("pyproject.toml", "constraints.txt"))
    deps = CACHE / f"wheels-{key}"
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    if not deps.is_dir():
        for old in CACHE.glob("wheels-*"):
            shutil.rmtree(old)
        partial = CACHE / f"wheels-{key}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        progress.note("downloading and building the pinned dependencies")
        run(
            [
                *pip,
                "wheel",
                "-c",
                str(PROJECT / "constraints.txt"),
                "-w",
                str(partial),
                str(PROJECT),
            ],
            timeout=1800,
        )
        for wheel in partial.glob("burrow-*.whl"):
            wheel.unlink()
        partial.replace(deps)
    else:
        progress.note(f"cached dependencies: {deps.relative_to(PROJECT)}")
    # The console's htmx (npm registry, sha512 pinned) goes into the wheel with webui.
    vendor.ensure()
    project = CACHE / "wheel-project"
    shutil.rmtree(project, ignore_errors=True)
    build_dir = CACHE / "wheel-build"
    shutil.rmtree(build_dir, ignore_errors=True)
    # Build from a copy so that the source tree gets no build/ or egg-info.
    shutil.copytree(
        PROJECT,
        build_dir,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv",
            "dist",
            "cache",
            "__pycache__",
            "node_modules",
            "*.egg-info",
            "build",
            "tests",
            ".mypy_cache",
            ".ruff_cache",
            ".pytest_cache",
        ),
    )
    run([*pip, "wheel", "--no-deps", "-w", str(project), str(build_dir)], timeout=600)
    shutil.rmtree(build_dir)
    return deps


def _chroot(tree: Path, *argv: str, timeout: float = 900) -> None:
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root"}
    run(["chroot", str(tree), *argv], env=env, timeout=timeout)


def make_tree(progress: Progress, base: Path, deps: Path) -> Path:
    tree = CACHE / "tree"
    if tree.exists():
        shutil.rmtree(tree)
    tree.mkdir()
    progress.note("unpacking the base")
    run(["tar", "--numeric-owner", "-xpf", str(base), "-C", str(tree)], timeout=900)
    progress.note(f"installing Burrow into {VENV}")
    staging = tree / WHEELS_IN_TREE.lstrip("/")
    shutil.copytree(deps, staging)
    for wheel in (CACHE / "wheel-project").glob("*.whl"):
        shutil.copy2(wheel, staging)
    shutil.copy2(PROJECT / "constraints.txt", staging / "constraints.txt")
    _chroot(tree, "python3", "-m", "venv", VENV)
    _chroot(
        tree,
        f"{VENV}/bin/pip",
        "install",
        "-q",
        "--disable-pip-version-check",
        "--no-index",
        "--find-links",
        WHEELS_IN_TREE,
        "-c",
        f"{WHEELS_IN_TREE}/constraints.txt",
        "burrow",
    )
    shutil.rmtree(staging)
    progress.note("laying rootfs/ over the tree")
    run(["cp", "-a", "--no-preserve=ownership", f"{PROJECT / 'rootfs'}/.", str(tree)])
    configure_system(tree)
    return tree


def configure_system(tree: Path) -> None:
    """Settings of the operating system in the tree: units, hostname, machine id."""
    # bind9.service is Debian's alias of named.service, chronyd.service of chrony.service and
    # syslog.service of rsyslog.service: drop the aliases, mask every name.
    for alias in ("bind9.service", "chronyd.service", "syslog.service"):
        (tree / "etc/systemd/system" / alias).unlink(missing_ok=True)
    run(["systemctl", f"--root={tree}", "mask", *MASKED_UNITS])
    run(["systemctl", f"--root={tree}", "enable", *BURROW_UNITS])
    # Debian's example configurations of Kea would be taken for Burrow's own: burrow-launch
    # writes Kea's configurations at the first start, and the dhcp-agent owns them after that.
    for example in (
        "kea-dhcp4.conf",
        "kea-dhcp6.conf",
        "kea-ctrl-agent.conf",
        "kea-dhcp-ddns.conf",
    ):
        (tree / "etc/kea" / example).unlink(missing_ok=True)
    (tree / "etc/hostname").write_text("burrow\n")
    (tree / "etc/hosts").write_text(
        "127.0.0.1\tlocalhost\n127.0.1.1\tburrow\n::1\tlocalhost ip6-localhost ip6-loopback\n"
    )
    # An empty machine-id makes systemd generate one at first boot: no two appliances share it.
    (tree / "etc/machine-id").write_text("")
    dbus_id = tree / "var/lib/dbus/machine-id"
    dbus_id.unlink(missing_ok=True)
    # Nothing of the build machine stays in the image.
    (tree / "etc/resolv.conf").unlink(missing_ok=True)
    (tree / "etc/resolv.conf").write_text("")
    for stale in ("initrd.img.old", "vmlinuz.old"):
        (tree / stale).unlink(missing_ok=True)


def make_disk(progress: Progress, tree: Path) -> None:
    DIST.mkdir(exist_ok=True)
    assemble(tree, RAW, DISK_SIZE, KERNEL_CMDLINE)
    progress.note(f"{RAW.relative_to(PROJECT)}: {DISK_SIZE // 1024**3} GiB disk (sparse)")


def make_qcow2(progress: Progress) -> None:
    partial = QCOW2.with_suffix(".qcow2.partial")
    partial.unlink(missing_ok=True)
    run(["qemu-img", "convert", "-O", "qcow2", "-c", str(RAW), str(partial)], timeout=1800)
    partial.replace(QCOW2)
    progress.note(f"{QCOW2.relative_to(PROJECT)}: {QCOW2.stat().st_size / 1024**2:.0f} MB")


def build(*, force: bool = False) -> float:
    """Build the image unless it is current; returns the seconds it took."""
    progress = Progress(6)
    progress.stage("tools", "checking the programs the build needs")
    check_tools()
    # htmx is part of what the image is made from: fetched before the hash is taken, so that
    # a fresh tree's first image is stamped with the hash the next build computes too.
    vendor.ensure()
    key = image_key()
    if not force and image_is_current():
        progress.note(f"{QCOW2.relative_to(PROJECT)} is up to date ({key})")
        return progress.done()
    progress.stage("base", "Debian 12 packages")
    base = make_base(progress)
    progress.stage("wheels", "the project and its pinned dependencies")
    deps = make_wheels(progress)
    progress.stage("tree", "the root file system")
    tree = make_tree(progress, base, deps)
    STAMP.unlink(missing_ok=True)
    progress.stage("disk", "partitions, GRUB for BIOS and UEFI, ext4")
    make_disk(progress, tree)
    progress.stage("qcow2", "converting")
    make_qcow2(progress)
    STAMP.write_text(key + "\n")
    shutil.rmtree(tree)
    elapsed = progress.done()
    print(f"==> image ready in {elapsed:.0f} s: {QCOW2} and {RAW}", file=sys.stderr)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="build.sh image|run", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("image", "run"))
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    args, rest = parser.parse_known_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "image":
            if rest:
                parser.error(f"unknown arguments: {' '.join(rest)}")
            build(force=args.force)
            return 0
        from image import vm

        build(force=args.force)
        return vm.run_cli(rest)
    except BurrowError as exc:
        print(f"build.sh: {exc}", file=sys.stderr)
        return 1
    except subprocess.TimeoutExpired as exc:
        print(f"build.sh: {exc.cmd[0]} took longer than {exc.timeout:.0f} s.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
