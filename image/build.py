"""Build the appliance image, or boot it: ``python -m image.build image|run [--profile P]``.

Stages of ``image`` (each shown as it starts, each cached where its inputs allow):

1. tools    check that every program the build needs is here
2. base     Debian 12 packages with mmdebstrap, kept as image/cache/base-KEY.tar
            (image/cache/base-caching-KEY.tar for the caching profile)
3. wheels   the project and its pinned dependencies as wheels (image/cache/wheels-KEY/)
4. tree     unpack the base, install the wheels into /opt/burrow/venv (chroot, no mounts),
            lay rootfs/ over it, enable Burrow's units and mask Debian's units of the daemons
            that supervisord runs (named and Kea, or Unbound)
5. disk     partitions, GRUB for BIOS and UEFI, ext4 from the tree: dist/burrow.raw
6. qcow2    dist/burrow.qcow2

The profile (services.common.profile) chooses the daemons: ``dns-dhcp`` (the default) builds
dist/burrow.qcow2 and dist/burrow.raw, ``caching`` dist/burrow-caching.qcow2 and
dist/burrow-caching.raw. A finished image is stamped with a hash of everything it was made from
(dist/burrow.stamp, dist/burrow-caching.stamp); ``image`` does nothing when the stamp matches,
unless ``--force``.
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
from dataclasses import dataclass
from pathlib import Path

from image import recipe
from image.disk import assemble
from services.common.errors import BurrowError, SetupError
from services.common.proc import run
from services.common.profile import DEFAULT, PROFILES, Profile
from webui import vendor

log = logging.getLogger(__name__)

PROJECT = Path(__file__).resolve().parents[1]
CACHE = PROJECT / "image/cache"
DIST = PROJECT / "dist"
VENV = "/opt/burrow/venv"
WHEELS_IN_TREE = "/tmp/burrow-wheels"  # noqa: S108 - a path inside the image tree, at build time
DISK_SIZE = 4 * 1024**3
# transparent_hugepage=madvise: Debian's kernel backs every anonymous mapping with 2 MiB pages
# ("always"), so each Python heap's partly used regions count as whole huge pages in use.
# Only programs that ask for huge pages (madvise) get them.
KERNEL_CMDLINE = (
    "console=tty0 console=ttyS0,115200n8 net.ifnames=0 quiet transparent_hugepage=madvise"
)


@dataclass(frozen=True)
class Outputs:
    """The files of one profile's image in dist/."""

    profile: Profile

    @property
    def name(self) -> str:
        return "burrow" if self.profile == DEFAULT else f"burrow-{self.profile}"

    @property
    def raw(self) -> Path:
        return DIST / f"{self.name}.raw"

    @property
    def qcow2(self) -> Path:
        return DIST / f"{self.name}.qcow2"

    @property
    def stamp(self) -> Path:
        return DIST / f"{self.name}.stamp"


def outputs(profile: Profile = DEFAULT) -> Outputs:
    if profile not in PROFILES:
        raise SetupError(f"unknown profile {profile!r}", hint=f"one of: {', '.join(PROFILES)}")
    return Outputs(profile)


RAW = outputs().raw
QCOW2 = outputs().qcow2
STAMP = outputs().stamp

#: Debian's own units for the daemons that supervisord runs, per profile.
DAEMON_UNITS: dict[Profile, tuple[str, ...]] = {
    "dns-dhcp": (
        "named.service",
        "bind9.service",
        "kea-dhcp4-server.service",
        "kea-dhcp6-server.service",
        "kea-ctrl-agent.service",
        "kea-dhcp-ddns-server.service",
        "named-resolvconf.service",
    ),
    "caching": (
        "unbound.service",
        "unbound-resolvconf.service",
    ),
}
#: Debian's units of every profile that the appliance does not run.
SYSTEM_UNITS = (
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


def masked_units(profile: Profile = DEFAULT) -> tuple[str, ...]:
    """Every unit masked in ``profile``'s image."""
    return (*DAEMON_UNITS[profile], *SYSTEM_UNITS)


#: The units masked in the DNS/DHCP appliance (the default profile).
MASKED_UNITS = masked_units(DEFAULT)

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


def image_key(profile: Profile = DEFAULT) -> str:
    """Hash of everything ``profile``'s image is made from (its base key names the profile's
    packages; the sources are the same for every profile)."""
    return f"{recipe.base_key(profile)}-{digest(SOURCE_PARTS)}"


def image_is_current(profile: Profile = DEFAULT) -> bool:
    out = outputs(profile)
    return (
        out.qcow2.exists()
        and out.raw.exists()
        and out.stamp.exists()
        and out.stamp.read_text().strip() == image_key(profile)
    )


# --- stages ------------------------------------------------------------------
def base_prefix(profile: Profile) -> str:
    """How the cached base tarballs of ``profile`` are named: base-KEY.tar for dns-dhcp (as
    before profiles), base-caching-KEY.tar for caching."""
    return "base-" if profile == DEFAULT else f"base-{profile}-"


def _is_base_of(file: Path, profile: Profile) -> bool:
    """Whether ``file`` in the cache is a base tarball of ``profile`` (any key)."""
    prefix = base_prefix(profile)
    if not file.name.startswith(prefix):
        return False
    key = file.name[len(prefix) :].split(".", 1)[0]
    return len(key) == 16 and all(c in "0123456789abcdef" for c in key)


def make_base(progress: Progress, profile: Profile = DEFAULT) -> Path:
    key = recipe.base_key(profile)
    tar = CACHE / f"{base_prefix(profile)}{key}.tar"
    if tar.exists():
        progress.note(f"cached: {tar.relative_to(PROJECT)}")
        return tar
    CACHE.mkdir(parents=True, exist_ok=True)
    # Older bases of this profile go; the other profile's base stays.
    for old in CACHE.glob("base-*.tar*"):
        if _is_base_of(old, profile):
            old.unlink()
    partial = tar.with_suffix(".tar.partial")
    progress.note(f"mmdebstrap ({profile}: Debian packages; about a minute)")
    run(recipe.mmdebstrap_argv(str(partial), profile), timeout=3600)
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


def make_tree(progress: Progress, base: Path, deps: Path, profile: Profile = DEFAULT) -> Path:
    tree = CACHE / ("tree" if profile == DEFAULT else f"tree-{profile}")
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
    configure_system(tree, profile)
    return tree


def configure_system(tree: Path, profile: Profile = DEFAULT) -> None:
    """Settings of the operating system in the tree: units, hostname, machine id, profile."""
    # bind9.service is Debian's alias of named.service, chronyd.service of chrony.service and
    # syslog.service of rsyslog.service: drop the aliases, mask every name.
    for alias in ("bind9.service", "chronyd.service", "syslog.service"):
        (tree / "etc/systemd/system" / alias).unlink(missing_ok=True)
    run(["systemctl", f"--root={tree}", "mask", *masked_units(profile)])
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
    if profile == "caching":
        configure_caching(tree)
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


def configure_caching(tree: Path) -> None:
    """The caching appliance: its profile, and nothing of Debian's Unbound configuration."""
    # services.common.profile reads this: burrow-launch runs Unbound and no BIND or Kea.
    (tree / "etc/burrow").mkdir(parents=True, exist_ok=True)
    (tree / "etc/burrow/profile").write_text("caching\n")
    (tree / "etc/burrow/profile").chmod(0o640)
    # Debian's unbound.conf includes unbound.conf.d/*.conf (its own trust anchor file and
    # control socket): burrow-launch writes the whole unbound.conf from the caching settings
    # at every start, and none of Debian's pieces may be read as part of it.
    unbound_etc = tree / "etc/unbound"
    (unbound_etc / "unbound.conf").unlink(missing_ok=True)
    conf_d = unbound_etc / "unbound.conf.d"
    if conf_d.is_dir():
        shutil.rmtree(conf_d)


def make_disk(progress: Progress, tree: Path, out: Outputs) -> None:
    DIST.mkdir(exist_ok=True)
    assemble(tree, out.raw, DISK_SIZE, KERNEL_CMDLINE)
    progress.note(f"{out.raw.relative_to(PROJECT)}: {DISK_SIZE // 1024**3} GiB disk (sparse)")


def make_qcow2(progress: Progress, out: Outputs) -> None:
    partial = out.qcow2.with_suffix(".qcow2.partial")
    partial.unlink(missing_ok=True)
    run(["qemu-img", "convert", "-O", "qcow2", "-c", str(out.raw), str(partial)], timeout=1800)
    partial.replace(out.qcow2)
    size = out.qcow2.stat().st_size / 1024**2
    progress.note(f"{out.qcow2.relative_to(PROJECT)}: {size:.0f} MB")


def build(*, force: bool = False, profile: Profile = DEFAULT) -> float:
    """Build ``profile``'s image unless it is current; returns the seconds it took."""
    out = outputs(profile)
    progress = Progress(6)
    progress.stage("tools", "checking the programs the build needs")
    check_tools()
    # htmx is part of what the image is made from: fetched before the hash is taken, so that
    # a fresh tree's first image is stamped with the hash the next build computes too.
    vendor.ensure()
    key = image_key(profile)
    if not force and image_is_current(profile):
        progress.note(f"{out.qcow2.relative_to(PROJECT)} is up to date ({key})")
        return progress.done()
    progress.stage("base", f"Debian 12 packages ({profile})")
    base = make_base(progress, profile)
    progress.stage("wheels", "the project and its pinned dependencies")
    deps = make_wheels(progress)
    progress.stage("tree", "the root file system")
    tree = make_tree(progress, base, deps, profile)
    out.stamp.unlink(missing_ok=True)
    progress.stage("disk", "partitions, GRUB for BIOS and UEFI, ext4")
    make_disk(progress, tree, out)
    progress.stage("qcow2", "converting")
    make_qcow2(progress, out)
    out.stamp.write_text(key + "\n")
    shutil.rmtree(tree)
    elapsed = progress.done()
    print(f"==> image ready in {elapsed:.0f} s: {out.qcow2} and {out.raw}", file=sys.stderr)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="build.sh image|run", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("image", "run"))
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        default=DEFAULT,
        help="dns-dhcp (BIND and Kea: dist/burrow.qcow2, the default) or caching (Unbound: "
        "dist/burrow-caching.qcow2)",
    )
    args, rest = parser.parse_known_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "image":
            if rest:
                parser.error(f"unknown arguments: {' '.join(rest)}")
            build(force=args.force, profile=args.profile)
            return 0
        from image import vm

        build(force=args.force, profile=args.profile)
        return vm.run_cli(rest, profile=args.profile)
    except BurrowError as exc:
        print(f"build.sh: {exc}", file=sys.stderr)
        return 1
    except subprocess.TimeoutExpired as exc:
        print(f"build.sh: {exc.cmd[0]} took longer than {exc.timeout:.0f} s.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
