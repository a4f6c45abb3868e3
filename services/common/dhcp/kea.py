"""Translation between the DHCP model and Kea's JSON configuration (``Dhcp4`` / ``Dhcp6``).

Writing a scope into an existing Kea entry keeps the keys the model does not manage (Kea's
config-get fills in many defaults), so that a read-modify-write changes only what was asked.
Key names follow the Kea 2.2 manual, sections 8.2 and 9.2.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

from services.common.dhcp.contract import (
    ClientClass,
    OptionDef,
    OptionValue,
    Pool,
    PrefixPool,
    Reservation,
    Scope,
    ServerProperties,
    SharedNetwork,
)
from services.common.dhcp.options import Family

Json = dict[str, Any]


def top_key(family: Family) -> str:
    return "Dhcp4" if family == "v4" else "Dhcp6"


def subnet_key(family: Family) -> str:
    return "subnet4" if family == "v4" else "subnet6"


# --- options ------------------------------------------------------------------------
def option_to_kea(option: OptionValue) -> Json:
    out: Json = {}
    if option.code is not None:
        out["code"] = option.code
    if option.name is not None:
        out["name"] = option.name
    if option.space is not None:
        out["space"] = option.space
    out["data"] = option.data
    if not option.csv_format:
        out["csv-format"] = False
    if option.always_send:
        out["always-send"] = True
    return out


def option_from_kea(entry: Json) -> OptionValue:
    return OptionValue(
        code=entry.get("code"),
        name=entry.get("name"),
        space=entry.get("space"),
        data=str(entry.get("data", "")),
        csv_format=bool(entry.get("csv-format", True)),
        always_send=bool(entry.get("always-send", False)),
    )


def options_from(entry: Json) -> list[OptionValue]:
    return [option_from_kea(o) for o in entry.get("option-data", [])]


def option_def_to_kea(definition: OptionDef, family: Family) -> Json:
    return {
        "name": definition.name,
        "code": definition.code,
        "type": definition.type,
        "array": definition.array,
        "record-types": definition.record_types,
        "space": definition.space or ("dhcp4" if family == "v4" else "dhcp6"),
        "encapsulate": definition.encapsulate,
    }


def option_def_from_kea(entry: Json) -> OptionDef:
    return OptionDef(
        code=entry["code"],
        name=entry["name"],
        type=entry["type"],
        array=bool(entry.get("array", False)),
        space=entry.get("space"),
        record_types=entry.get("record-types", ""),
        encapsulate=entry.get("encapsulate", ""),
    )


# --- pools, reservations, scopes ----------------------------------------------------
def pool_to_kea(pool: Pool) -> Json:
    out: Json = {"pool": f"{pool.start} - {pool.end}"}
    if pool.client_class:
        out["client-class"] = pool.client_class
    if pool.options:
        out["option-data"] = [option_to_kea(o) for o in pool.options]
    return out


def pool_from_kea(entry: Json) -> Pool:
    text = str(entry["pool"])
    if "/" in text and "-" not in text:
        network = ipaddress.ip_network(text.strip(), strict=False)
        start, end = network[0], network[-1]
    else:
        first, _, last = text.partition("-")
        start, end = ipaddress.ip_address(first.strip()), ipaddress.ip_address(last.strip())
    return Pool(
        start=start,
        end=end,
        client_class=entry.get("client-class") or None,
        options=options_from(entry),
    )


def prefix_pool_to_kea(pool: PrefixPool) -> Json:
    out: Json = {
        "prefix": str(pool.prefix.network_address),
        "prefix-len": pool.prefix.prefixlen,
        "delegated-len": pool.delegated_len,
    }
    if pool.client_class:
        out["client-class"] = pool.client_class
    if pool.options:
        out["option-data"] = [option_to_kea(o) for o in pool.options]
    return out


def prefix_pool_from_kea(entry: Json) -> PrefixPool:
    prefix = ipaddress.IPv6Network(f"{entry['prefix']}/{entry['prefix-len']}", strict=False)
    return PrefixPool(
        prefix=prefix,
        delegated_len=int(entry["delegated-len"]),
        client_class=entry.get("client-class") or None,
        options=options_from(entry),
    )


def reservation_to_kea(reservation: Reservation, family: Family) -> Json:
    key, value = reservation.identifier
    out: Json = {key.replace("_", "-"): value}
    if family == "v4":
        if reservation.ip_addresses:
            out["ip-address"] = str(reservation.ip_addresses[0])
        if reservation.next_server is not None:
            out["next-server"] = str(reservation.next_server)
        if reservation.server_hostname is not None:
            out["server-hostname"] = reservation.server_hostname
        if reservation.boot_file_name is not None:
            out["boot-file-name"] = reservation.boot_file_name
    else:
        out["ip-addresses"] = [str(a) for a in reservation.ip_addresses]
    if reservation.hostname:
        out["hostname"] = reservation.hostname
    if reservation.options:
        out["option-data"] = [option_to_kea(o) for o in reservation.options]
    if reservation.client_classes:
        out["client-classes"] = list(reservation.client_classes)
    return out


def reservation_from_kea(entry: Json) -> Reservation:
    addresses: list[Any] = list(entry.get("ip-addresses", []))
    if entry.get("ip-address") and entry["ip-address"] != "0.0.0.0":
        addresses = [entry["ip-address"]]
    next_server = entry.get("next-server")
    return Reservation(
        hw_address=entry.get("hw-address"),
        client_id=entry.get("client-id"),
        duid=entry.get("duid"),
        ip_addresses=addresses,
        hostname=entry.get("hostname") or None,
        options=options_from(entry),
        client_classes=list(entry.get("client-classes", [])),
        next_server=next_server if next_server and next_server != "0.0.0.0" else None,
        server_hostname=entry.get("server-hostname") or None,
        boot_file_name=entry.get("boot-file-name") or None,
    )


_SCOPE_NUMBERS = {
    "valid_lifetime": "valid-lifetime",
    "min_valid_lifetime": "min-valid-lifetime",
    "max_valid_lifetime": "max-valid-lifetime",
    "preferred_lifetime": "preferred-lifetime",
    "renew_timer": "renew-timer",
    "rebind_timer": "rebind-timer",
}
#: Keys of a Kea subnet entry that the Scope model manages.
SCOPE_KEYS = frozenset(
    (
        "id",
        "subnet",
        "pools",
        "pd-pools",
        "relay",
        "interface",
        "client-class",
        "option-data",
        "reservations",
    )
)  # fmt: skip | frozenset(_SCOPE_NUMBERS.values())


def scope_to_kea(scope: Scope, base: Json | None = None) -> Json:
    """The Kea subnet entry of ``scope``; keys of ``base`` the model does not manage are kept."""
    family = scope.family
    out: Json = {k: v for k, v in (base or {}).items() if k not in SCOPE_KEYS}
    out["id"] = scope.id
    out["subnet"] = str(scope.subnet)
    out["pools"] = [pool_to_kea(p) for p in scope.pools]
    if family == "v6":  # Kea's DHCPv4 server knows no pd-pools
        out["pd-pools"] = [prefix_pool_to_kea(p) for p in scope.pd_pools]
    if scope.relay_addresses:
        out["relay"] = {"ip-addresses": [str(a) for a in scope.relay_addresses]}
    if scope.interface:
        out["interface"] = scope.interface
    if scope.client_class:
        out["client-class"] = scope.client_class
    for attr, key in _SCOPE_NUMBERS.items():
        value = getattr(scope, attr)
        if value is not None and not (attr == "preferred_lifetime" and family == "v4"):
            out[key] = value
    out["option-data"] = [option_to_kea(o) for o in scope.options]
    out["reservations"] = [reservation_to_kea(r, family) for r in scope.reservations]
    return out


def scope_from_kea(entry: Json, shared_network: str | None = None) -> Scope:
    relay = entry.get("relay") or {}
    addresses = list(relay.get("ip-addresses", []))
    if relay.get("ip-address") and relay["ip-address"] not in ("0.0.0.0", "::"):
        addresses.append(relay["ip-address"])
    numbers = {attr: entry[key] for attr, key in _SCOPE_NUMBERS.items() if key in entry}
    if ipaddress.ip_network(entry["subnet"], strict=False).version == 4:
        numbers.pop("preferred_lifetime", None)
    return Scope(
        subnet=ipaddress.ip_network(entry["subnet"], strict=False),
        id=entry.get("id"),
        pools=[pool_from_kea(p) for p in entry.get("pools", [])],
        pd_pools=[prefix_pool_from_kea(p) for p in entry.get("pd-pools", [])],
        relay_addresses=addresses,
        shared_network=shared_network,
        interface=entry.get("interface") or None,
        client_class=entry.get("client-class") or None,
        options=options_from(entry),
        reservations=[reservation_from_kea(r) for r in entry.get("reservations", [])],
        **numbers,
    )


def iter_subnets(config: Json, family: Family) -> Iterator[tuple[Json, str | None, list[Json]]]:
    """Every subnet entry of a daemon configuration: (entry, shared network name, its list)."""
    key = subnet_key(family)
    top = config.setdefault(key, [])
    for entry in top:
        yield entry, None, top
    for network in config.get("shared-networks", []):
        inner = network.setdefault(key, [])
        for entry in inner:
            yield entry, network.get("name"), inner


def scopes_from_config(config: Json, family: Family) -> list[Scope]:
    return [scope_from_kea(e, net) for e, net, _ in iter_subnets(config, family)]


def shared_network_to_kea(network: SharedNetwork, family: Family, base: Json | None) -> Json:
    out: Json = dict(base or {})
    out["name"] = network.name
    out.setdefault(subnet_key(family), [])
    for key in ("interface", "client-class", "relay"):
        out.pop(key, None)
    if network.interface:
        out["interface"] = network.interface
    if network.client_class:
        out["client-class"] = network.client_class
    if network.relay_addresses:
        out["relay"] = {"ip-addresses": [str(a) for a in network.relay_addresses]}
    out["option-data"] = [option_to_kea(o) for o in network.options]
    return out


def shared_network_from_kea(entry: Json) -> SharedNetwork:
    relay = entry.get("relay") or {}
    return SharedNetwork(
        name=entry["name"],
        interface=entry.get("interface") or None,
        relay_addresses=list(relay.get("ip-addresses", [])),
        client_class=entry.get("client-class") or None,
        options=options_from(entry),
    )


# --- classes and server properties -------------------------------------------------
def class_to_kea(cls: ClientClass, family: Family) -> Json:
    out: Json = {"name": cls.name}
    if cls.test:
        out["test"] = cls.test
    if cls.only_if_required:
        out["only-if-required"] = True
    out["option-data"] = [option_to_kea(o) for o in cls.options]
    if family == "v4":
        if cls.next_server is not None:
            out["next-server"] = str(cls.next_server)
        if cls.server_hostname is not None:
            out["server-hostname"] = cls.server_hostname
        if cls.boot_file_name is not None:
            out["boot-file-name"] = cls.boot_file_name
    return out


def class_from_kea(entry: Json) -> ClientClass:
    next_server = entry.get("next-server")
    return ClientClass(
        name=entry["name"],
        test=entry.get("test", ""),
        only_if_required=bool(entry.get("only-if-required", False)),
        options=options_from(entry),
        next_server=next_server if next_server and next_server != "0.0.0.0" else None,
        server_hostname=entry.get("server-hostname") or None,
        boot_file_name=entry.get("boot-file-name") or None,
    )


_PROPERTY_KEYS = {
    "valid_lifetime": "valid-lifetime",
    "min_valid_lifetime": "min-valid-lifetime",
    "max_valid_lifetime": "max-valid-lifetime",
    "preferred_lifetime": "preferred-lifetime",
    "renew_timer": "renew-timer",
    "rebind_timer": "rebind-timer",
    "next_server": "next-server",
    "echo_client_id": "echo-client-id",
    "match_client_id": "match-client-id",
    "decline_probation_period": "decline-probation-period",
    "server_tag": "server-tag",
}
V4_ONLY_PROPERTIES = ("next_server", "echo_client_id", "match_client_id")
V6_ONLY_PROPERTIES = ("preferred_lifetime",)


def properties_from_config(config: Json, family: Family) -> ServerProperties:
    values: dict[str, Any] = {}
    for attr, key in _PROPERTY_KEYS.items():
        skip = V6_ONLY_PROPERTIES if family == "v4" else V4_ONLY_PROPERTIES
        if key in config and attr not in skip:
            values[attr] = config[key]
    socket = (config.get("control-socket") or {}).get("socket-name")
    if socket:
        values["control_socket"] = socket
    if values.get("next_server") == "0.0.0.0":
        values.pop("next_server")
    return ServerProperties(**values)


def apply_properties(config: Json, props: ServerProperties) -> None:
    """Write the set (non-None) properties into a daemon configuration."""
    for attr, key in _PROPERTY_KEYS.items():
        value = getattr(props, attr)
        if value is not None:
            config[key] = str(value) if attr == "next_server" else value
    if props.control_socket is not None:
        socket = dict(config.get("control-socket") or {"socket-type": "unix"})
        socket["socket-name"] = props.control_socket
        config["control-socket"] = socket


#: Subnet keys that config-get always shows and that say nothing when empty: Kea parses the
#: same configuration without them (Kea 2.2 manual 8.2.x: all optional, these are their
#: defaults). Values inherited from the server (lifetimes, timers) are kept: leaving them out
#: would change what the subnet means.
_EMPTY_SUBNET_KEYS: dict[str, Any] = {
    "4o6-interface": "",
    "4o6-interface-id": "",
    "4o6-subnet": "",
    "option-data": [],
    "pd-pools": [],
    "relay": {"ip-addresses": []},
    "reservations": [],
}


def lean_config(config: Json, family: Family) -> Json:
    """``config`` (``{"Dhcp4": {...}}``, edited in place) without the empty subnet defaults.

    Kea's config-test and config-set take about half as long for 1,000 subnets written as an
    administrator writes them than for config-get's spelled-out form; these empty entries are
    the part of the difference that can go without changing the configuration's meaning.
    """
    for entry, _network, _container in iter_subnets(config[top_key(family)], family):
        for key, empty in _EMPTY_SUBNET_KEYS.items():
            if key in entry and entry[key] == empty:
                del entry[key]
        for pool in (*entry.get("pools", ()), *entry.get("pd-pools", ())):
            if pool.get("option-data") == []:
                del pool["option-data"]
    return config
