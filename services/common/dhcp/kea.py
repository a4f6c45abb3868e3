"""Translation between the DHCP model and Kea's JSON configuration (``Dhcp4`` / ``Dhcp6``).

Every object keeps what Central does not model: the Kea keys the model has no field for, and
values the model refuses (a form Kea takes and Central does not), go verbatim into the
object's ``extra`` and are written back from it; an object given without ``extra`` keeps the
unmodeled keys it has on the server. A list whose items cannot be read at all stays verbatim in
its parent's ``extra``. Values Kea copies from the level above (config-get spells inherited
lifetimes out in every subnet) are not the scope's own: ``own_values`` and ``strip_inherited``
leave them out. Key names follow the Kea 2.2 manual, sections 8.2 and 9.2.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

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


# --- what Central does not model: kept verbatim ---------------------------------------
M = TypeVar("M", bound=BaseModel)


def _tolerant(model: type[M], values: Json, keys: Mapping[str, str], entry: Json,
              extra: Json) -> M:  # fmt: skip
    """``model`` from the ``values`` read out of the Kea ``entry``; a value the model refuses
    (a form Kea takes and Central's model does not) is not dropped but kept under its Kea key
    (``keys``) in ``extra``, with the keys Central does not model at all, and written back
    from there. Raises ValueError when the object cannot be made at all."""
    values = dict(values)
    for _ in range(len(values) + 1):
        try:
            return model.model_validate({**values, "extra": extra or None})
        except ValidationError as exc:
            bad = {str(e["loc"][0]) for e in exc.errors() if e["loc"]} & values.keys()
            if not bad:
                raise ValueError(_reason(exc)) from None
            for attr in bad:
                values.pop(attr)
                key = keys.get(attr, attr.replace("_", "-"))
                if key in entry:
                    extra[key] = entry[key]
    raise ValueError(f"cannot read this {model.__name__}")


def _reason(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])


def _unmodeled(entry: Json, modeled: Iterable[str]) -> Json:
    return {k: v for k, v in entry.items() if k not in modeled}


def _with_extra(out: Json, extra: Json | None, base: Json | None, modeled: Iterable[str]) -> Json:
    """``out`` over the unmodeled keys: ``extra`` when given, else those of ``base`` (the
    object as it is on the server)."""
    kept = extra if extra is not None else _unmodeled(base or {}, modeled)
    # A list kept verbatim (its items could not be read) stays unless the object has items.
    return {**kept, **{k: v for k, v in out.items() if not (v == [] and k in kept)}}


def _items(entries: Any, read: Callable[[Json], M]) -> list[M]:
    """Objects of a Kea list; raises ValueError when one of them cannot be read at all (its
    parent then keeps the whole list verbatim)."""
    if not isinstance(entries, list):
        raise ValueError("not a list")
    return [read(e) for e in entries]


def _list_or_extra(entry: Json, key: str, read: Callable[[Json], M], extra: Json) -> list[M]:
    try:
        return _items(entry.get(key, []), read)
    except (ValueError, KeyError, TypeError):
        extra[key] = entry[key]
        return []


# --- options ------------------------------------------------------------------------
_OPTION_KEYS = ("code", "name", "space", "data", "csv-format", "always-send")


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
    return {**(option.extra or {}), **out}


def option_from_kea(entry: Json) -> OptionValue:
    values = {
        "code": entry.get("code"),
        "name": entry.get("name"),
        "space": entry.get("space"),
        "data": entry.get("data", ""),
        "csv_format": entry.get("csv-format", True),
        "always_send": entry.get("always-send", False),
    }
    keys = {"csv_format": "csv-format", "always_send": "always-send"}
    return _tolerant(OptionValue, values, keys, entry, _unmodeled(entry, _OPTION_KEYS))


def options_from(entry: Json) -> list[OptionValue]:
    return _items(entry.get("option-data", []), option_from_kea)


def _options(entry: Json, extra: Json) -> list[OptionValue]:
    return _list_or_extra(entry, "option-data", option_from_kea, extra)


_DEF_KEYS = ("name", "code", "type", "array", "record-types", "space", "encapsulate")


def option_def_to_kea(definition: OptionDef, family: Family) -> Json:
    out = {
        "name": definition.name,
        "code": definition.code,
        "type": definition.type,
        "array": definition.array,
        "record-types": definition.record_types,
        "space": definition.space or ("dhcp4" if family == "v4" else "dhcp6"),
        "encapsulate": definition.encapsulate,
    }
    return {**(definition.extra or {}), **out}


def option_def_from_kea(entry: Json) -> OptionDef:
    values = {
        "code": entry.get("code"),
        "name": entry.get("name"),
        "type": entry.get("type"),
        "array": entry.get("array", False),
        "space": entry.get("space"),
        "record_types": entry.get("record-types", ""),
        "encapsulate": entry.get("encapsulate", ""),
    }
    return _tolerant(OptionDef, values, {}, entry, _unmodeled(entry, _DEF_KEYS))


# --- pools, reservations, scopes ----------------------------------------------------
_POOL_KEYS = ("pool", "client-class", "option-data")
_PD_POOL_KEYS = ("prefix", "prefix-len", "delegated-len", "client-class", "option-data")


def pool_to_kea(pool: Pool) -> Json:
    out: Json = {"pool": f"{pool.start} - {pool.end}"}
    if pool.client_class:
        out["client-class"] = pool.client_class
    if pool.options:
        out["option-data"] = [option_to_kea(o) for o in pool.options]
    return {**(pool.extra or {}), **out}


def pool_from_kea(entry: Json) -> Pool:
    text = str(entry["pool"])
    if "/" in text and "-" not in text:
        network = ipaddress.ip_network(text.strip(), strict=False)
        start, end = network[0], network[-1]
    else:
        first, _, last = text.partition("-")
        start, end = ipaddress.ip_address(first.strip()), ipaddress.ip_address(last.strip())
    extra = _unmodeled(entry, _POOL_KEYS)
    values = {
        "start": start,
        "end": end,
        "client_class": entry.get("client-class") or None,
        "options": _options(entry, extra),
    }
    return _tolerant(Pool, values, {}, entry, extra)


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
    return {**(pool.extra or {}), **out}


def prefix_pool_from_kea(entry: Json) -> PrefixPool:
    prefix = ipaddress.IPv6Network(f"{entry['prefix']}/{entry['prefix-len']}", strict=False)
    extra = _unmodeled(entry, _PD_POOL_KEYS)
    values = {
        "prefix": prefix,
        "delegated_len": entry["delegated-len"],
        "client_class": entry.get("client-class") or None,
        "options": _options(entry, extra),
    }
    return _tolerant(PrefixPool, values, {}, entry, extra)


#: Kea keys of a reservation that the model holds (Kea prints the empty ones too).
_RESERVATION_KEYS = (
    "hw-address", "client-id", "duid", "circuit-id", "flex-id", "ip-address", "ip-addresses",
    "prefixes", "hostname", "option-data", "client-classes", "next-server", "server-hostname",
    "boot-file-name",
)  # fmt: skip


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
        if reservation.prefixes:
            out["prefixes"] = [str(p) for p in reservation.prefixes]
    if reservation.hostname:
        out["hostname"] = reservation.hostname
    if reservation.options:
        out["option-data"] = [option_to_kea(o) for o in reservation.options]
    if reservation.client_classes:
        out["client-classes"] = list(reservation.client_classes)
    return {**(reservation.extra or {}), **out}


def reservation_from_kea(entry: Json) -> Reservation:
    addresses: list[Any] = list(entry.get("ip-addresses", []))
    if entry.get("ip-address") and entry["ip-address"] != "0.0.0.0":
        addresses = [entry["ip-address"]]
    next_server = entry.get("next-server")
    extra = _unmodeled(entry, _RESERVATION_KEYS)
    values = {
        "hw_address": entry.get("hw-address"),
        "client_id": entry.get("client-id"),
        "duid": entry.get("duid"),
        "circuit_id": entry.get("circuit-id"),
        "flex_id": entry.get("flex-id"),
        "ip_addresses": addresses,
        "prefixes": list(entry.get("prefixes", [])),
        "hostname": entry.get("hostname") or None,
        "options": _options(entry, extra),
        "client_classes": list(entry.get("client-classes", [])),
        "next_server": next_server if next_server and next_server != "0.0.0.0" else None,
        "server_hostname": entry.get("server-hostname") or None,
        "boot_file_name": entry.get("boot-file-name") or None,
    }
    keys = {"ip_addresses": "ip-addresses" if "ip-addresses" in entry else "ip-address"}
    return _tolerant(Reservation, values, keys, entry, extra)


def reservations_from(entry: Json) -> list[Reservation]:
    """The reservations of a Kea object (a subnet, or the global ``reservations``)."""
    return _items(entry.get("reservations", []), reservation_from_kea)


#: A scope's lifetimes and timers (model field: Kea key), inherited from a shared network and
#: the server when the scope leaves them out.
LIFETIMES = {
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
) | frozenset(LIFETIMES.values())


def scope_to_kea(scope: Scope, base: Json | None = None) -> Json:
    """The Kea subnet entry of ``scope``. The keys the model does not manage are ``extra``
    when the scope has it, else those of ``base`` (the entry on the server)."""
    family = scope.family
    out: Json = {}
    out["id"] = scope.id
    out["subnet"] = str(scope.subnet)
    out["pools"] = [pool_to_kea(p) for p in scope.pools]
    if family == "v6" and scope.pd_pools:  # Kea's DHCPv4 server knows no pd-pools
        out["pd-pools"] = [prefix_pool_to_kea(p) for p in scope.pd_pools]
    if scope.relay_addresses:
        out["relay"] = {"ip-addresses": [str(a) for a in scope.relay_addresses]}
    if scope.interface:
        out["interface"] = scope.interface
    if scope.client_class:
        out["client-class"] = scope.client_class
    for attr, key in LIFETIMES.items():
        value = getattr(scope, attr)
        if value is not None and not (attr == "preferred_lifetime" and family == "v4"):
            out[key] = value
    out["option-data"] = [option_to_kea(o) for o in scope.options]
    out["reservations"] = [reservation_to_kea(r, family) for r in scope.reservations]
    return _with_extra(out, scope.extra, base, SCOPE_KEYS)


#: Subnet keys config-get always shows that say nothing at their default (DHCPv4-over-DHCPv6
#: off): not shown as the scope's raw part, and Kea puts them back when they are left out.
_SILENT_SUBNET_KEYS: Json = {"4o6-interface": "", "4o6-interface-id": "", "4o6-subnet": ""}


def scope_from_kea(
    entry: Json, shared_network: str | None = None, parent: Json | None = None
) -> Scope:
    """The scope of a Kea subnet entry. ``parent``: the values the subnet inherits (its
    shared network's over the server's, ``inherited_from``): values equal to them are Kea's
    copies of inherited values, not the scope's own, and are left out."""
    family: Family = "v4" if ipaddress.ip_network(entry["subnet"], strict=False).version == 4 \
        else "v6"  # fmt: skip
    if parent is not None:
        entry = own_values(entry, parent)
    extra = {k: v for k, v in _unmodeled(entry, SCOPE_KEYS).items()
             if _SILENT_SUBNET_KEYS.get(k, ...) != v}  # fmt: skip
    relay = entry.get("relay") or {}
    addresses = list(relay.get("ip-addresses", []))
    if relay.get("ip-address") and relay["ip-address"] not in ("0.0.0.0", "::"):
        addresses.append(relay["ip-address"])
    numbers = {attr: entry[key] for attr, key in LIFETIMES.items() if key in entry}
    if family == "v4" and "preferred_lifetime" in numbers:
        numbers.pop("preferred_lifetime")
        extra["preferred-lifetime"] = entry["preferred-lifetime"]
    values = {
        "subnet": ipaddress.ip_network(entry["subnet"], strict=False),
        "id": entry.get("id"),
        "pools": _list_or_extra(entry, "pools", pool_from_kea, extra),
        "pd_pools": _list_or_extra(entry, "pd-pools", prefix_pool_from_kea, extra),
        "relay_addresses": addresses,
        "shared_network": shared_network,
        "interface": entry.get("interface") or None,
        "client_class": entry.get("client-class") or None,
        "options": _options(entry, extra),
        "reservations": _list_or_extra(entry, "reservations", reservation_from_kea, extra),
        **numbers,
    }
    return _tolerant(Scope, values, LIFETIMES, entry, extra)


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
    """Every scope of a daemon configuration, with only the values set on each."""
    networks = {n.get("name"): n for n in config.get("shared-networks", [])}
    out = []
    for entry, net, _ in iter_subnets(config, family):
        parent = inherited_from(config, networks.get(net))
        out.append(scope_from_kea(entry, net, parent))
    return out


# --- inherited values ---------------------------------------------------------------
#: Values Kea 2.2's config-get copies into every shared network and subnet from the level
#: above (measured: a subnet that sets none of them shows all of them). ``min-`` and ``max-``
#: bounds that no level above sets are copies of the level's own lifetime.
INHERITED_KEYS = frozenset(
    (
        "valid-lifetime", "renew-timer", "rebind-timer", "calculate-tee-times", "t1-percent",
        "t2-percent", "store-extended-info", "preferred-lifetime", "rapid-commit",
        "min-valid-lifetime", "max-valid-lifetime", "min-preferred-lifetime",
        "max-preferred-lifetime",
    )
)  # fmt: skip
#: What Kea takes for an inherited key the server level does not show.
_KEA_DEFAULTS: Json = {"rapid-commit": False}
_BOUNDS = {
    "min-valid-lifetime": "valid-lifetime",
    "max-valid-lifetime": "valid-lifetime",
    "min-preferred-lifetime": "preferred-lifetime",
    "max-preferred-lifetime": "preferred-lifetime",
}


def inherited_from(config: Json, network: Json | None = None) -> Json:
    """The values a subnet inherits: its shared network's (as Kea shows it) over the
    server's, over Kea's defaults."""
    values = {**_KEA_DEFAULTS, **{k: config[k] for k in INHERITED_KEYS if k in config}}
    if network is not None:
        values.update({k: network[k] for k in INHERITED_KEYS if k in network})
    return values


def own_values(entry: Json, parent: Json) -> Json:
    """``entry`` (a subnet or shared network as Kea shows it) without the values that are
    Kea's copies of inherited ones: equal to ``parent``'s, or a bound equal to the lifetime
    when no level above sets that bound. A value set to the same as the level above is
    indistinguishable from a copy and is taken as inherited too (same meaning now, and a later
    change above reaches it)."""
    out = dict(entry)
    for key in INHERITED_KEYS & entry.keys():
        value = entry[key]
        if key in parent:
            if parent[key] == value and type(parent[key]) is type(value):
                del out[key]
        elif key in _BOUNDS:
            lifetime = entry.get(_BOUNDS[key], parent.get(_BOUNDS[key]))
            if value == lifetime:
                del out[key]
    return out


def strip_inherited(config: Json, family: Family) -> Json:
    """A daemon configuration (inside ``Dhcp4``) edited in place to hold in each shared
    network and subnet only its own values, so that Kea derives the rest again at the next
    config-set and a later server-wide change reaches every scope that did not set its own."""
    key = subnet_key(family)
    for network in config.get("shared-networks", []):
        parent = inherited_from(config, network)
        network[key] = [own_values(s, parent) for s in network.get(key, [])]
    server = inherited_from(config)
    if "shared-networks" in config:
        config["shared-networks"] = [own_values(n, server) for n in config["shared-networks"]]
    if key in config:
        config[key] = [own_values(s, server) for s in config[key]]
    return config


_NETWORK_KEYS = ("name", "interface", "client-class", "relay", "option-data")


def shared_network_to_kea(network: SharedNetwork, family: Family, base: Json | None) -> Json:
    out: Json = {"name": network.name}
    if network.interface:
        out["interface"] = network.interface
    if network.client_class:
        out["client-class"] = network.client_class
    if network.relay_addresses:
        out["relay"] = {"ip-addresses": [str(a) for a in network.relay_addresses]}
    out["option-data"] = [option_to_kea(o) for o in network.options]
    key = subnet_key(family)
    out[key] = (base or {}).get(key, [])
    modeled = (*_NETWORK_KEYS, "subnet4", "subnet6")
    extra = {k: v for k, v in (network.extra or {}).items() if k not in (key,)}
    return _with_extra(out, extra if network.extra is not None else None, base, modeled)


def shared_network_from_kea(entry: Json, parent: Json | None = None) -> SharedNetwork:
    """A shared network; ``parent``: the server's values (see ``scope_from_kea``)."""
    if parent is not None:
        entry = own_values(entry, parent)
    extra = _unmodeled(entry, (*_NETWORK_KEYS, "subnet4", "subnet6"))
    relay = entry.get("relay") or {}
    addresses = list(relay.get("ip-addresses", []))
    if relay.get("ip-address") and relay["ip-address"] not in ("0.0.0.0", "::"):
        addresses.append(relay["ip-address"])
    values = {
        "name": entry.get("name"),
        "interface": entry.get("interface") or None,
        "relay_addresses": addresses,
        "client_class": entry.get("client-class") or None,
        "options": _options(entry, extra),
    }
    return _tolerant(SharedNetwork, values, {"relay_addresses": "relay"}, entry, extra)


# --- classes and server properties -------------------------------------------------
CLASS_KEYS = (
    "name", "test", "only-if-required", "option-data", "next-server", "server-hostname",
    "boot-file-name",
)  # fmt: skip


def class_to_kea(cls: ClientClass, family: Family, base: Json | None = None) -> Json:
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
    return _with_extra(out, cls.extra, base, CLASS_KEYS)


def class_from_kea(entry: Json) -> ClientClass:
    next_server = entry.get("next-server")
    extra = _unmodeled(entry, CLASS_KEYS)
    values = {
        "name": entry.get("name"),
        "test": entry.get("test", ""),
        "only_if_required": entry.get("only-if-required", False),
        "options": _options(entry, extra),
        "next_server": next_server if next_server and next_server != "0.0.0.0" else None,
        "server_hostname": entry.get("server-hostname") or None,
        "boot_file_name": entry.get("boot-file-name") or None,
    }
    return _tolerant(ClientClass, values, {}, entry, extra)


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
    "reservations_global": "reservations-global",
    "reservations_in_subnet": "reservations-in-subnet",
    "reservations_out_of_pool": "reservations-out-of-pool",
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
    identifiers = config.get("host-reservation-identifiers")
    if isinstance(identifiers, list):
        values["host_reservation_identifiers"] = [str(i).replace("-", "_") for i in identifiers]
    if values.get("next_server") == "0.0.0.0":
        values.pop("next_server")
    return ServerProperties(**values)


def apply_properties(config: Json, props: ServerProperties) -> None:
    """Write the set (non-None) properties into a daemon configuration."""
    for attr, key in _PROPERTY_KEYS.items():
        value = getattr(props, attr)
        if value is not None:
            config[key] = str(value) if attr == "next_server" else value
    if props.host_reservation_identifiers is not None:
        config["host-reservation-identifiers"] = [
            i.replace("_", "-") for i in props.host_reservation_identifiers
        ]
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
