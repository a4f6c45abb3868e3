"""The image recipe: what goes into the appliance image, declared in one place.

There is one image per profile (services.common.profile): ``dns-dhcp`` (BIND and Kea) and
``caching`` (Unbound, no DHCP). Their bases differ only in the daemons' packages.

The base of a profile (Debian packages, made by mmdebstrap) is cached by a key over everything
in this module that shapes it, so a change of its package list rebuilds it and nothing else does.
"""

from __future__ import annotations

import hashlib
import json

from services.common.profile import DEFAULT, PROFILES, Profile

SUITE = "bookworm"

MIRRORS = (
    "deb http://deb.debian.org/debian bookworm main",
    "deb http://deb.debian.org/debian bookworm-updates main",
    "deb http://deb.debian.org/debian-security bookworm-security main",
)

#: Debian 12 packages of every appliance, by what needs them; the daemons of each profile go
#: between the network and time packages (``packages``).
SYSTEM = (
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
)
#: The daemons supervisord runs, per profile.
DAEMONS: dict[Profile, tuple[str, ...]] = {
    "dns-dhcp": (
        "bind9",
        "bind9-utils",
        "bind9-dnsutils",
        "kea-dhcp4-server",
        "kea-dhcp6-server",
        "kea-ctrl-agent",
        "kea-dhcp-ddns-server",
    ),
    # Unbound with the root trust anchor; dig (bind9-dnsutils) for the diagnostic shell. No
    # BIND server, no Kea.
    "caching": (
        "unbound",
        "dns-root-data",
        "bind9-dnsutils",
    ),
}
SERVICES = (
    # time and remote syslog (services.common.ntp, services.common.syslog)
    "chrony",
    "rsyslog",
    "rsyslog-gnutls",
    # the project's virtual environment
    "python3",
    "python3-venv",
)


def packages(profile: Profile = DEFAULT) -> tuple[str, ...]:
    """Debian packages of ``profile``'s image."""
    return (*SYSTEM, *DAEMONS[profile], *SERVICES)


#: The packages of the DNS/DHCP appliance (the default profile).
PACKAGES = packages(DEFAULT)

#: Files left out of the image to keep it small (dpkg path filters).
DPKG_OPTIONS = (
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/locale/*",
    "path-exclude=/usr/share/info/*",
)

APT_OPTIONS = ('APT::Install-Recommends "false"',)


def mmdebstrap_argv(output: str, profile: Profile = DEFAULT) -> list[str]:
    """The mmdebstrap command that makes ``profile``'s base tarball ``output``."""
    argv = [
        "mmdebstrap",
        "--mode=root",
        "--variant=minbase",
        "--format=tar",
        f"--include={','.join(packages(profile))}",
    ]
    argv += [f"--dpkgopt={opt}" for opt in DPKG_OPTIONS]
    argv += [f"--aptopt={opt}" for opt in APT_OPTIONS]
    return [*argv, SUITE, output, *MIRRORS]


def base_key(profile: Profile = DEFAULT) -> str:
    """Cache key of ``profile``'s base tarball: changes when the recipe of that base changes."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}")
    blob = json.dumps(mmdebstrap_argv("-", profile), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
