"""The DHCP model against what Kea 2.2 accepts: every identifier, prefix reservations, raw
(unmodeled) parts kept verbatim, inherited values kept inherited, one check of lifetimes."""

from __future__ import annotations

from typing import Any

import pytest

from central.dhcp.service import ConfigView
from services.common.dhcp.checks import InvalidChangeError, check_properties, check_scope
from services.common.dhcp.contract import OptionDef, Reservation, Scope, ServerProperties
from services.common.dhcp.kea import (
    own_values,
    reservation_from_kea,
    reservation_to_kea,
    scope_from_kea,
    scope_to_kea,
    scopes_from_config,
    strip_inherited,
)

Json = dict[str, Any]


def test_every_identifier_round_trips() -> None:
    for entry in (
        {"circuit-id": "01:11:22:33:44:55:66", "ip-address": "198.51.100.204"},
        {"flex-id": "'s0mEVaLue'", "ip-address": "198.51.100.206"},
        {"client-id": "01:0a:0b:0c:0d:0e:0f", "ip-address": "198.51.100.205"},
        {"duid": "01:02:03:04:05", "ip-address": "198.51.100.207"},
        {"hw-address": "1a:1b:1c:1d:1e:1f", "ip-address": "198.51.100.201"},
    ):
        reservation = reservation_from_kea(entry)
        assert reservation.extra is None
        assert reservation_to_kea(reservation, "v4") == entry


def test_prefix_reservation_round_trips_and_survives_a_scope_write() -> None:
    entry = {
        "id": 1, "subnet": "2001:db8:1::/64", "pools": [], "option-data": [],
        "reservations": [{"duid": "01:02:03:04:05:0a:0b:0c:0d:0e", "ip-addresses": [],
                          "prefixes": ["2001:db8:2:abcd::/64"]}],
    }  # fmt: skip
    scope = scope_from_kea(entry)
    assert [str(p) for p in scope.reservations[0].prefixes] == ["2001:db8:2:abcd::/64"]
    again = scope_to_kea(Scope.model_validate(scope.model_dump(mode="json")), base=entry)
    assert again["reservations"][0]["prefixes"] == ["2001:db8:2:abcd::/64"]


def test_numeric_and_vendor_option_spaces_are_valid() -> None:
    for space in ("339", "vendor-4491", "my-fancy-space"):
        assert OptionDef(code=2, name="foo", type="uint32", space=space).space == space


def test_unmodeled_keys_and_refused_values_are_kept_verbatim() -> None:
    entry = {
        "hw-address": "aa:bb:cc:dd:ee:ff", "ip-address": "198.51.100.9",
        "user-context": {"owner": "lab"}, "hostname": "not_a_hostname!",
    }  # fmt: skip
    reservation = reservation_from_kea(entry)
    assert reservation.extra == {"user-context": {"owner": "lab"}, "hostname": "not_a_hostname!"}
    assert reservation_to_kea(reservation, "v4") == entry
    # through the API's JSON and back
    again = Reservation.model_validate(reservation.model_dump(mode="json", exclude_none=True))
    assert reservation_to_kea(again, "v4") == entry


def test_a_scope_keeps_the_unmodeled_keys_of_the_server_when_given_none() -> None:
    entry = {
        "id": 3,
        "subnet": "198.51.100.0/24",
        "require-client-classes": ["x"],
        "pools": [{"pool": "198.51.100.10 - 198.51.100.20", "user-context": {"a": 1}}],
    }
    scope = scope_from_kea(entry)
    assert scope.extra == {"require-client-classes": ["x"]}
    assert scope.pools[0].extra == {"user-context": {"a": 1}}
    bare = Scope(subnet="198.51.100.0/24", id=3)  # type: ignore[arg-type]
    assert scope_to_kea(bare, base=entry)["require-client-classes"] == ["x"]
    emptied = bare.model_copy(update={"extra": {}})
    assert "require-client-classes" not in scope_to_kea(emptied, base=entry)


def _kea_like() -> Json:
    """A configuration as Kea 2.2's config-get shows it: inherited values spelled out."""
    return {
        "valid-lifetime": 4000, "renew-timer": 1000, "rebind-timer": 2000,
        "calculate-tee-times": False, "t1-percent": 0.5, "t2-percent": 0.875,
        "store-extended-info": False,
        "subnet4": [
            {"id": 1, "subnet": "198.51.100.0/27", "valid-lifetime": 600,
             "min-valid-lifetime": 600, "max-valid-lifetime": 600, "renew-timer": 1000,
             "rebind-timer": 2000, "calculate-tee-times": False, "t1-percent": 0.5,
             "t2-percent": 0.875, "store-extended-info": False, "4o6-interface": "",
             "pools": [], "option-data": [], "reservations": []},
            {"id": 2, "subnet": "198.51.100.32/27", "valid-lifetime": 4000,
             "min-valid-lifetime": 4000, "max-valid-lifetime": 4000, "renew-timer": 1000,
             "rebind-timer": 2000, "calculate-tee-times": False, "t1-percent": 0.5,
             "t2-percent": 0.875, "store-extended-info": False},
        ],
        "shared-networks": [
            {"name": "n1", "valid-lifetime": 5000, "min-valid-lifetime": 5000,
             "max-valid-lifetime": 5000, "renew-timer": 1000, "rebind-timer": 2000,
             "subnet4": [{"id": 3, "subnet": "198.51.100.64/27", "valid-lifetime": 5000,
                          "min-valid-lifetime": 5000, "max-valid-lifetime": 5000,
                          "renew-timer": 1000, "rebind-timer": 2000}]},
        ],
    }  # fmt: skip


def test_inherited_values_are_not_a_scope_s_own() -> None:
    scopes = {s.id: s for s in scopes_from_config(_kea_like(), "v4")}
    assert scopes[1].valid_lifetime == 600
    assert (scopes[1].renew_timer, scopes[1].rebind_timer) == (None, None)
    assert scopes[1].min_valid_lifetime is None and scopes[1].extra is None
    assert scopes[2].valid_lifetime is None
    assert scopes[3].valid_lifetime is None  # the shared network's


def test_stripped_configuration_lets_a_server_wide_change_reach_the_scopes() -> None:
    config = strip_inherited(_kea_like(), "v4")
    assert config["subnet4"][1] == {"id": 2, "subnet": "198.51.100.32/27"}
    assert config["subnet4"][0]["valid-lifetime"] == 600
    assert "renew-timer" not in config["subnet4"][0]
    network = config["shared-networks"][0]
    assert network["valid-lifetime"] == 5000 and "renew-timer" not in network
    assert network["subnet4"][0] == {"id": 3, "subnet": "198.51.100.64/27"}
    assert own_values({"valid-lifetime": 7, "t1-percent": 0.5}, {"t1-percent": 0.5}) == {
        "valid-lifetime": 7
    }


def test_one_lifetime_check_naming_the_field_sent() -> None:
    config = strip_inherited(_kea_like(), "v4")
    # valid_lifetime 600 under the server's timers 1000/2000: Kea takes it (and leaves out
    # of its answers the timers longer than the lifetime); so does Central
    short = Scope(subnet="198.51.100.128/27", valid_lifetime=600)  # type: ignore[arg-type]
    check_scope(short, config, "v4", replacing=None)
    # both set on the scope and out of order: refused, naming the field
    bad = short.model_copy(update={"renew_timer": 200, "rebind_timer": 700})
    with pytest.raises(InvalidChangeError) as caught:
        check_scope(bad, config, "v4", replacing=None)
    assert [p.field for p in caught.value.problems] == ["rebind_timer"]
    assert caught.value.problems[0].message == (
        "700 is above the valid lifetime (valid_lifetime: 600); set valid_lifetime too or "
        "choose another value"
    )
    # scope 1 (valid 600, inherited timers 1000/2000) gets a reservation: its lifetimes are
    # not judged again
    existing = scopes_from_config(config, "v4")[0]
    more = existing.model_copy(update={"reservations": [
        Reservation(hw_address="02:00:00:00:00:01")]})  # fmt: skip
    check_scope(more, config, "v4", replacing=1)
    # the server's properties: what the caller sends is judged with what it leaves
    with pytest.raises(InvalidChangeError) as caught:
        check_properties(ServerProperties(valid_lifetime=600), config, "v4")
    assert [p.field for p in caught.value.problems] == ["valid_lifetime"]
    assert "(rebind_timer: 2000 as it is)" in caught.value.problems[0].message


def test_central_reads_what_it_can_and_names_what_it_keeps_raw() -> None:
    config = {"Dhcp4": {
        "subnet4": [
            {"id": 1, "subnet": "198.51.100.0/24",
             "reservations": [{"hw-address": "02:00:00:00:00:01", "ip-address": "198.51.100.5",
                               "user-context": {"x": 1}},
                              {"no-identifier-kea-knows": "1"}]},
            {"id": 2, "subnet": "198.51.101.0/24"},
        ],
        "reservations": [{"circuit-id": "'port-7'", "ip-address": "198.51.100.7"}],
        "option-def": [{"name": "foo", "code": 1, "type": "uint32", "space": "339"}],
    }}  # fmt: skip
    view = ConfigView(config, "v4")
    scopes = view["scopes"]
    assert [s["id"] for s in scopes] == [1, 2]
    assert "reservations" in scopes[0]["extra"]  # the list Central cannot read stays as it is
    assert view["reservations"][0]["circuit_id"] == "'port-7'"
    assert view["option_definitions"][0]["space"] == "339"
    notes = view.unmodeled()
    assert any("scopes[1]" in n and "reservations" in n for n in notes), notes
