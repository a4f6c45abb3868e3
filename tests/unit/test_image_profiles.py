"""The image recipe by profile: packages, cached bases, output files, masked units, and the
caching tree's own files (no build, no root)."""

from __future__ import annotations

from pathlib import Path

import pytest

from image import build, recipe
from services.common import profile
from services.common.errors import SetupError
from services.common.paths import StateRoot

#: The DNS/DHCP appliance's daemons, which the caching image must not carry.
DNS_DHCP_ONLY = {
    "bind9",
    "bind9-utils",
    "kea-dhcp4-server",
    "kea-dhcp6-server",
    "kea-ctrl-agent",
    "kea-dhcp-ddns-server",
}


def test_each_profile_has_its_daemons_and_the_same_system() -> None:
    dns_dhcp = recipe.packages("dns-dhcp")
    caching = recipe.packages("caching")
    assert recipe.PACKAGES == dns_dhcp
    assert DNS_DHCP_ONLY <= set(dns_dhcp)
    assert {"unbound", "dns-root-data", "bind9-dnsutils"} <= set(caching)
    assert not DNS_DHCP_ONLY & set(caching)
    assert set(dns_dhcp) - DNS_DHCP_ONLY - {"bind9-dnsutils"} == set(caching) - {
        "unbound",
        "dns-root-data",
        "bind9-dnsutils",
    }


def test_bases_are_cached_apart() -> None:
    assert recipe.base_key("dns-dhcp") == recipe.base_key()
    assert recipe.base_key("caching") != recipe.base_key("dns-dhcp")
    assert build.base_prefix("dns-dhcp") == "base-"
    assert build.base_prefix("caching") == "base-caching-"
    key = recipe.base_key("caching")
    caching_tar = Path(f"base-caching-{key}.tar")
    dns_dhcp_tar = Path(f"base-{recipe.base_key()}.tar")
    # A new base of one profile removes older bases of that profile only.
    assert build._is_base_of(caching_tar, "caching")
    assert not build._is_base_of(caching_tar, "dns-dhcp")
    assert build._is_base_of(dns_dhcp_tar, "dns-dhcp")
    assert not build._is_base_of(dns_dhcp_tar, "caching")
    assert build._is_base_of(Path(f"base-{key}.tar.partial"), "dns-dhcp")
    with pytest.raises(ValueError, match="unknown profile"):
        recipe.base_key("dhcp-only")  # type: ignore[arg-type]


def test_output_files_by_profile() -> None:
    assert build.outputs("dns-dhcp").qcow2.name == "burrow.qcow2"
    assert build.QCOW2 == build.outputs().qcow2
    caching = build.outputs("caching")
    assert (caching.qcow2.name, caching.raw.name, caching.stamp.name) == (
        "burrow-caching.qcow2",
        "burrow-caching.raw",
        "burrow-caching.stamp",
    )
    with pytest.raises(SetupError):
        build.outputs("dhcp-only")  # type: ignore[arg-type]


def test_masked_units_by_profile() -> None:
    caching = build.masked_units("caching")
    assert {"unbound.service", "unbound-resolvconf.service"} <= set(caching)
    assert "named.service" not in caching
    assert build.MASKED_UNITS == build.masked_units("dns-dhcp")
    assert "unbound.service" not in build.MASKED_UNITS
    assert set(build.SYSTEM_UNITS) <= set(caching)


def test_caching_tree_names_its_profile_and_drops_debians_unbound_config(tmp_path: Path) -> None:
    unbound = tmp_path / "etc/unbound"
    (unbound / "unbound.conf.d").mkdir(parents=True)
    (unbound / "unbound.conf").write_text(
        'include-toplevel: "/etc/unbound/unbound.conf.d/*.conf"\n'
    )
    (unbound / "unbound.conf.d/remote-control.conf").write_text("remote-control:\n")
    build.configure_caching(tmp_path)
    assert profile.load(StateRoot(tmp_path)) == "caching"
    assert (tmp_path / "etc/burrow/profile").stat().st_mode & 0o777 == 0o640
    assert list(unbound.iterdir()) == []
