"""The image recipe: what goes into the appliance image, declared in one place.

The base (Debian packages, made by mmdebstrap) is cached by a key over everything in this
module that shapes it, so a change of the package list rebuilds it and nothing else does.
"""

from __future__ import annotations

import hashlib
import json

SUITE = "bookworm"

MIRRORS = (
    "deb http://deb.debian.org/debian bookworm main",
    "deb http://deb.debian.org/debian bookworm-updates main",
    "deb http://deb.debian.org/debian-security bookworm-security main",
)

#: Debian 12 packages of the appliance, by what needs them.
PACKAGES = (
    # boot and system
    "systemd",
    "systemd-sysv",
    "udev",
    "linux-image-cloud-amd64",
    "initramfs-tools",
    "zstd",
    "kmod",
    "e2fsprogs",
    "util-linux",
    "mount",
    "procps",
    "less",
    "ca-certificates",
    # network: static settings are applied with pyroute2, DHCP with dhclient
    "iproute2",
    "isc-dhcp-client",
    "iputils-ping",
    # the daemons supervisord runs
    "bind9",
    "bind9-utils",
    "bind9-dnsutils",
    "kea-dhcp4-server",
    "kea-dhcp6-server",
    "kea-ctrl-agent",
    "kea-dhcp-ddns-server",
    # time and remote syslog (services.common.ntp, services.common.syslog)
    "chrony",
    "rsyslog",
    "rsyslog-gnutls",
    # the project's virtual environment
    "python3",
    "python3-venv",
)

#: Files left out of the image to keep it small (dpkg path filters).
DPKG_OPTIONS = (
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/locale/*",
    "path-exclude=/usr/share/info/*",
)

APT_OPTIONS = ('APT::Install-Recommends "false"',)


def mmdebstrap_argv(output: str) -> list[str]:
    """The mmdebstrap command that makes the base tarball ``output``."""
    argv = [
        "mmdebstrap",
        "--mode=root",
        "--variant=minbase",
        "--format=tar",
        f"--include={','.join(PACKAGES)}",
    ]
    argv += [f"--dpkgopt={opt}" for opt in DPKG_OPTIONS]
    argv += [f"--aptopt={opt}" for opt in APT_OPTIONS]
    return [*argv, SUITE, output, *MIRRORS]


def base_key() -> str:
    """Cache key of the base tarball: changes when the recipe of the base changes."""
    blob = json.dumps(mmdebstrap_argv("-"), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
