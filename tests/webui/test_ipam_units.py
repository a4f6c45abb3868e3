"""What the IPAM pages compute without Central: an address's state, a grid page's cells and
bounds, the addresses a reverse zone holds, property values read from a form."""

from __future__ import annotations

import ipaddress

import pytest

from webui.forms import FormInputError
from webui.ipam import (
    GRID_PAGE,
    AddressItem,
    Property,
    Range,
    Source,
    grid,
    offset_of,
    page_bounds,
    property_values,
    reverse_network,
    state_of,
)
from webui.pages.users import ROLES
from webui.session import WRITES


def _item(*kinds: str, problems: tuple[str, ...] = ()) -> AddressItem:
    return AddressItem(address="10.0.0.1", sources=[Source(kind=k) for k in kinds],
                       problems=list(problems))  # fmt: skip


def test_the_state_a_disagreement_first_then_claim_lease_reservation_dns_discovery() -> None:
    assert state_of(None).key == "free"
    assert state_of(_item("a", "ptr")).key == "dns"
    assert state_of(_item("a", problems=("a-without-ptr",))).key == "problem"
    assert state_of(_item("reservation", "lease", "claim")).key == "claimed"
    assert state_of(_item("reservation", "lease")).key == "leased"
    assert state_of(_item("reservation", "a", "ptr")).key == "reserved"
    assert state_of(_item("discovered", "claim")).key == "claimed"
    assert state_of(_item("discovered", problems=("discovered-unknown",))).key == "problem"
    letters = {state_of(_item(k)).letter for k in ("a", "reservation", "lease", "claim")}
    assert len(letters) == 4, "each state has a letter of its own"


def test_a_grid_page_of_a_big_range_and_its_last_short_page() -> None:
    rng = Range(id=1, start="10.1.0.0", end="10.1.255.255")
    assert rng.size == 65536
    assert offset_of(rng, "513") == 512
    assert offset_of(rng, None, "10.1.3.7") == 3 * GRID_PAGE
    assert offset_of(rng, "-5") == 0 and offset_of(rng, "nonsense") == 0
    assert offset_of(rng, "999999") == 65536 - GRID_PAGE
    assert offset_of(rng, None, "10.2.0.0") == 65536 - GRID_PAGE
    assert page_bounds(rng, 512) == ("10.1.2.0", "10.1.2.255")
    cells = grid(rng, 512, [AddressItem(address="10.1.2.9", sources=[Source(kind="claim")])])
    assert len(cells) == GRID_PAGE and cells[0].address == "10.1.2.0"
    assert (cells[9].short, cells[9].state.key, cells[9].about) == (
        "9",
        "claimed",
        "claimed (Claim)",
    )
    assert cells[10].about == "free"
    short = Range(id=2, start="10.2.0.0", end="10.2.1.9")
    assert len(grid(short, offset_of(short, "256"), [])) == 10
    six = Range(id=3, family=6, start="2001:db8::", end="2001:db8::ffff:ffff")
    cells = grid(six, offset_of(six, None, "2001:db8::1:0"), [])
    assert (cells[0].address, cells[0].short) == ("2001:db8::1:0", "0")


def test_reverse_zones_and_the_addresses_they_hold() -> None:
    assert reverse_network("100.51.198.in-addr.arpa.") == ipaddress.ip_network("198.51.100.0/24")
    assert reverse_network("10.in-addr.arpa") == ipaddress.ip_network("10.0.0.0/8")
    assert reverse_network("8.b.d.0.1.0.0.2.ip6.arpa.") == ipaddress.ip_network("2001:db8::/32")
    assert reverse_network("0/26.2.1.in-addr.arpa.") is None
    assert reverse_network("example.test.") is None
    assert reverse_network("300.1.in-addr.arpa.") is None


def test_property_values_in_their_types_and_removed_when_emptied() -> None:
    defined = [Property(id=1, name="vlan", kind="number"),
               Property(id=2, name="dmz", kind="boolean"),
               Property(id=3, name="site", kind="choice", choices=["lab"]),
               Property(id=4, name="note", kind="text")]  # fmt: skip
    form = {"prop-vlan": "12", "prop-dmz": "yes", "prop-site": "lab", "prop-note": " x "}
    assert property_values(form, defined) == {"vlan": 12, "dmz": True, "site": "lab",
                                              "note": "x"}  # fmt: skip
    assert property_values({"prop-vlan": "1.5"}, defined) == {"vlan": 1.5}
    assert property_values({"prop-vlan": "nan"}, defined) == {"vlan": "nan"}  # Central says no
    assert property_values({}, defined) == {}
    assert property_values({}, defined, {"vlan": 3, "other": 1}) == {"vlan": None}
    with pytest.raises(FormInputError) as refused:
        property_values({"prop-dmz": "maybe"}, defined)
    assert "prop-dmz" in refused.value.errors


def test_ipam_administrators_and_administrators_get_the_ipam_forms() -> None:
    assert WRITES["ipam-admin"] == frozenset({"ipam"})
    assert "ipam" in WRITES["administrator"]
    assert not any("ipam" in WRITES[r] for r in ("dns-admin", "dhcp-admin", "read-only"))
    assert ("ipam-admin", "IPAM administrator") in ROLES
