"""The shared DHCP model: option values, definitions, scope checks and Kea translation."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from pydantic import ValidationError as PydanticError

from services.common.dhcp.checks import (
    InvalidChangeError,
    check_option_def,
    check_options,
    check_properties,
    check_scope,
)
from services.common.dhcp.contract import (
    OptionDef,
    OptionValue,
    Pool,
    Reservation,
    Scope,
    ServerProperties,
)
from services.common.dhcp.kea import (
    apply_properties,
    properties_from_config,
    scope_from_kea,
    scope_to_kea,
)
from services.common.dhcp.options import check_value
from services.common.errors import ConflictError


def config_with(*subnets: str) -> dict[str, Any]:
    return {
        "subnet4": [
            {"id": n + 1, "subnet": s, "pools": [{"pool": f"{ipaddress.ip_network(s)[10]} - "
                                                         f"{ipaddress.ip_network(s)[20]}"}]}
            for n, s in enumerate(subnets)
        ],
        "option-def": [],
        "client-classes": [{"name": "lab", "test": "pkt4.mac == 0x020000000001"}],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "data", "array", "ok"),
    [
        ("ipv4-address", "198.51.100.1", False, True),
        ("ipv4-address", "198.51.100.1, 198.51.100.2", True, True),
        ("ipv4-address", "198.51.100.300", False, False),
        ("ipv4-address", "198.51.100.1, nope", True, False),
        ("uint8", "255", False, True),
        ("uint8", "256", False, False),
        ("int32", "-5", False, True),
        ("boolean", "true", False, True),
        ("boolean", "maybe", False, False),
        ("fqdn", "example.org", False, True),
        ("fqdn", "bad..name", False, False),
        ("ipv6-address", "2001:db8::1", False, True),
        ("binary", "0a:0b", False, True),
        ("binary", "zz", False, False),
        ("empty", "", False, True),
        ("empty", "x", False, False),
        ("string", "", False, False),
    ],
)
def test_option_values(kind: str, data: str, array: bool, ok: bool) -> None:
    assert (check_value(kind, data, array=array) is None) is ok


def test_record_values() -> None:
    assert check_value("record", "1, 198.51.100.1", record_types="uint8, ipv4-address") is None
    assert check_value("record", "1", record_types="uint8, ipv4-address") is not None
    assert check_value("record", "x, 198.51.100.1", record_types="uint8, ipv4-address")


def test_options_by_code_and_name_with_errors_naming_the_field() -> None:
    config = config_with("198.51.100.0/24")
    good = [OptionValue(code=6, data="198.51.100.1"), OptionValue(name="domain-name", data="a.b")]
    assert check_options(good, "v4", config, "options") == []
    bad = [
        OptionValue(code=6, data="not-an-address"),
        OptionValue(code=222, data="1"),
        OptionValue(code=3, name="domain-name", data="198.51.100.1"),
    ]
    fields = [p.field for p in check_options(bad, "v4", config, "options")]
    assert fields == ["options[0].data", "options[1].code", "options[2].name"]
    # Names Central does not type (Kea defines more than the table: vivso-suboptions...) and
    # options of other spaces (vendor-4491) are left to Kea's config-test.
    lenient = [
        OptionValue(name="vivso-suboptions", data="4491"),
        OptionValue(code=2, space="vendor-4491", data="10.1.1.202"),
    ]
    assert check_options(lenient, "v4", config, "options") == []


def test_custom_definition_makes_its_code_usable() -> None:
    config = config_with("198.51.100.0/24")
    config["option-def"] = [{"code": 222, "name": "burrow-x", "type": "uint16", "space": "dhcp4"}]
    assert check_options([OptionValue(code=222, data="80")], "v4", config, "o") == []
    problems = check_options([OptionValue(code=222, data="70000")], "v4", config, "o")
    assert problems and problems[0].field == "o[0].data"


def test_option_definition_codes() -> None:
    config = config_with()
    assert check_option_def(OptionDef(code=224, name="x-a", type="uint8"), "v4", config) == []
    taken = check_option_def(OptionDef(code=6, name="x-b", type="uint8"), "v4", config)
    assert taken[0].field == "code" and "not available" in taken[0].message
    invalid = check_option_def(OptionDef(code=300, name="x-c", type="uint8"), "v4", config)
    assert invalid[0].field == "code" and "invalid" in invalid[0].message
    vendor = OptionDef(code=300, name="x-d", type="uint8", space="vendor-4491")
    assert check_option_def(vendor, "v6", config) == []
    config["option-def"] = [{"code": 224, "name": "x-a", "type": "uint8", "space": "dhcp4"}]
    clash = check_option_def(OptionDef(code=224, name="x-e", type="uint8"), "v4", config)
    assert clash[0].field == "code"
    with pytest.raises(PydanticError):
        OptionDef(code=224, name="x-f", type="float")


def test_scope_conflict_and_overlap() -> None:
    config = config_with("198.51.100.0/24")
    with pytest.raises(ConflictError) as same:
        check_scope(Scope(subnet="198.51.100.0/24"), config, "v4", replacing=None)  # type: ignore[arg-type]
    assert str(same.value) == "A scope with address 198.51.100.0/24 already exists on the server"
    with pytest.raises(InvalidChangeError) as overlap:
        check_scope(Scope(subnet="198.51.100.0/25"), config, "v4", replacing=None)  # type: ignore[arg-type]
    assert overlap.value.field == "subnet"
    # the scope being replaced does not conflict with itself
    check_scope(Scope(subnet="198.51.100.0/24", id=1), config, "v4", replacing=1)  # type: ignore[arg-type]


def test_pool_and_reservation_outside_the_subnet() -> None:
    config = config_with()
    scope = Scope(
        subnet="203.0.113.0/27",  # type: ignore[arg-type]
        pools=[Pool(start="203.0.113.10", end="203.0.113.40")],  # type: ignore[arg-type]
        reservations=[
            Reservation(hw_address="02:00:00:00:00:01", ip_addresses=["198.51.100.5"]),  # type: ignore[list-item]
        ],
    )
    with pytest.raises(InvalidChangeError) as err:
        check_scope(scope, config, "v4", replacing=None)
    fields = [p.field for p in err.value.problems]
    assert fields == ["pools[0].end", "reservations[0].ip_addresses[0]"]


def test_reservation_needs_one_identifier_and_class_must_exist() -> None:
    with pytest.raises(PydanticError):
        Reservation(hw_address="02:00:00:00:00:01", client_id="01:02")
    with pytest.raises(PydanticError):
        Reservation()
    scope = Scope(subnet="203.0.113.0/27", client_class="nope")  # type: ignore[arg-type]
    with pytest.raises(InvalidChangeError) as err:
        check_scope(scope, config_with(), "v4", replacing=None)
    assert err.value.field == "client_class"


def test_v6_scope_in_v4_family_is_refused() -> None:
    with pytest.raises(InvalidChangeError) as err:
        check_scope(Scope(subnet="2001:db8::/64"), config_with(), "v4", replacing=None)  # type: ignore[arg-type]
    assert err.value.field == "subnet"


def test_scope_round_trip_keeps_unmanaged_keys() -> None:
    scope = Scope(
        subnet="203.0.113.0/27",  # type: ignore[arg-type]
        id=7,
        pools=[Pool(start="203.0.113.10", end="203.0.113.20", client_class="lab")],  # type: ignore[arg-type]
        relay_addresses=["203.0.113.1"],  # type: ignore[list-item]
        valid_lifetime=600,
        options=[OptionValue(name="routers", data="203.0.113.1")],
        reservations=[Reservation(client_id="01-02-03", ip_addresses=["203.0.113.25"],  # type: ignore[list-item]
                                  hostname="printer")],
    )  # fmt: skip
    entry = scope_to_kea(scope, base={"t1-percent": 0.5, "valid-lifetime": 1})
    assert entry["t1-percent"] == 0.5 and entry["valid-lifetime"] == 600
    assert entry["pools"] == [{"pool": "203.0.113.10 - 203.0.113.20", "client-class": "lab"}]
    assert entry["reservations"][0]["client-id"] == "01:02:03"
    back = scope_from_kea(entry)
    assert back.reservations[0].client_id == "01:02:03"
    assert back.pools == scope.pools and back.relay_addresses == scope.relay_addresses


def test_properties() -> None:
    config: dict[str, Any] = {"valid-lifetime": 4000, "renew-timer": 1000, "rebind-timer": 2000}
    props = ServerProperties(valid_lifetime=7200, next_server="203.0.113.2", echo_client_id=False)  # type: ignore[arg-type]
    check_properties(props, config, "v4")
    apply_properties(config, props)
    assert config["next-server"] == "203.0.113.2" and config["echo-client-id"] is False
    assert properties_from_config(config, "v4").valid_lifetime == 7200
    with pytest.raises(InvalidChangeError) as v6:
        check_properties(ServerProperties(match_client_id=True), config, "v6")
    assert v6.value.field == "match_client_id"
    with pytest.raises(InvalidChangeError) as timers:
        check_properties(ServerProperties(renew_timer=3000), config, "v4")
    assert timers.value.field == "renew_timer"


def test_scope_lifetime_within_the_bounds_it_inherits() -> None:
    config = config_with()
    config["shared-networks"] = [{"name": "campus", "min-valid-lifetime": 4000,
                                  "max-valid-lifetime": 4000, "subnet4": []}]  # fmt: skip
    scope = Scope(subnet="203.0.113.0/27", shared_network="campus", valid_lifetime=600)  # type: ignore[arg-type]
    with pytest.raises(InvalidChangeError) as err:
        check_scope(scope, config, "v4", replacing=None)
    assert err.value.field == "valid_lifetime"
    bounded = scope.model_copy(update={"min_valid_lifetime": 300, "max_valid_lifetime": 900})
    check_scope(bounded, config, "v4", replacing=None)
