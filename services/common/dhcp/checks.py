"""Validation of a DHCP change against a whole Kea configuration, with errors naming the field.

Each check returns a list of ``Problem`` (field, message); ``raise_problems`` turns a non-empty
list into one ``InvalidChangeError`` (HTTP 422) that carries them all, as octoDNS collects reasons.
A scope whose subnet is already on the server is a ``ConflictError`` with the sentence
administrators know: "A scope with address X already exists on the server".
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from typing import Any

from services.common.dhcp.contract import (
    ClientClass,
    OptionDef,
    OptionValue,
    Reservation,
    Scope,
    ServerProperties,
    SharedNetwork,
)
from services.common.dhcp.kea import (
    LIFETIMES,
    V4_ONLY_PROPERTIES,
    V6_ONLY_PROPERTIES,
    inherited_from,
    iter_subnets,
    option_def_from_kea,
    own_values,
)
from services.common.dhcp.options import (
    Family,
    OptionDefinition,
    base_space,
    check_value,
    max_code,
    reserved,
    standard,
)
from services.common.errors import ConflictError, FieldProblem, ValidationError

Json = dict[str, Any]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a change: the field (dotted path) and why."""

    field: str
    message: str


class InvalidChangeError(ValidationError):
    """A change that fails validation; ``problems`` lists every reason, ``field`` the first."""

    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(
            f"{first.field}: {first.message}{more}",
            problems=[FieldProblem(p.field, p.message) for p in problems],
        )


def raise_problems(problems: list[Problem]) -> None:
    if problems:
        raise InvalidChangeError(problems)


def scope_exists_message(subnet: str) -> str:
    return f"A scope with address {subnet} already exists on the server"


# --- options --------------------------------------------------------------------------
def custom_definitions(config: Json) -> list[OptionDefinition]:
    return [
        OptionDefinition(
            code=int(d["code"]),
            name=str(d["name"]),
            type=str(d["type"]),
            array=bool(d.get("array", False)),
            space=str(d.get("space", "")),
            record_types=str(d.get("record-types", "")),
        )
        for d in config.get("option-def", [])
    ]


def check_options(
    options: list[OptionValue], family: Family, config: Json, where: str
) -> list[Problem]:
    problems: list[Problem] = []
    base = base_space(family)
    customs = custom_definitions(config)
    for index, option in enumerate(options):
        field = f"{where}[{index}]"
        space = option.space or base
        definition: OptionDefinition | None = None
        known_code = False
        if space == base:
            table = standard(family)
            if option.code is not None:
                definition = table.get(option.code)
                known_code = option.code in reserved(family)
            elif option.name is not None:
                definition = next((d for d in table.values() if d.name == option.name), None)
        if definition is None:
            for custom in customs:
                if (custom.space or base) != space:
                    continue
                if (option.code is not None and custom.code == option.code) or (
                    option.code is None and custom.name == option.name
                ):
                    definition = custom
                    break
        if definition is None and not known_code:
            if space != base or option.code is None:
                # Vendor and other spaces hold Kea's own definitions (docsis3, vendor-4491...)
                # and names Central does not type: Kea's config-test judges them.
                continue
            if option.code is not None:
                problems.append(
                    Problem(
                        f"{field}.code",
                        f"option code {option.code} has no definition in space {space}; "
                        "define it first (option definitions)",
                    )
                )
            else:
                problems.append(
                    Problem(f"{field}.name", f"no option named {option.name!r} in space {space}")
                )
            continue
        if definition is None:
            continue  # a code Kea defines itself; config-test checks its data
        if option.name is not None and option.code is not None and definition.name != option.name:
            problems.append(
                Problem(
                    f"{field}.name",
                    f"option code {option.code} is {definition.name!r}, not {option.name!r}",
                )
            )
            continue
        if not option.csv_format:
            reason = check_value("binary", option.data)
        else:
            reason = check_value(
                definition.type,
                option.data,
                array=definition.array,
                record_types=definition.record_types,
            )
        if reason:
            problems.append(Problem(f"{field}.data", f"{definition.name}: {reason}"))
    return problems


def kea_option_def(entry: Json) -> OptionDef | None:
    try:
        return option_def_from_kea(entry)
    except (ValueError, KeyError, TypeError):
        return None


def check_option_def(definition: OptionDef, family: Family, config: Json) -> list[Problem]:
    """An unavailable or invalid code is a clear error (Kea manual 8.2.13)."""
    problems: list[Problem] = []
    base = base_space(family)
    space = definition.space or base
    if any(
        d == definition
        for d in (kea_option_def(e) for e in config.get("option-def", []))
        if d is not None
    ):
        return []  # the definition the server has, put back as it is
    limit = max_code(family) if space in (base, "dhcp4", "dhcp6") or family == "v4" else 65535
    if not 1 <= definition.code <= limit:
        problems.append(Problem("code", f"code {definition.code} is invalid: use 1 to {limit}"))
    elif space == base and definition.code in reserved(family):
        taken = standard(family).get(definition.code)
        what = f"the standard option {taken.name!r}" if taken else "a standard option"
        problems.append(
            Problem("code", f"code {definition.code} is not available: it is {what} of {space}")
        )
    if space == base and any(d.name == definition.name for d in standard(family).values()):
        problems.append(Problem("name", f"{definition.name!r} is the name of a standard option"))
    for other in custom_definitions(config):
        if (other.space or base) != space:
            continue
        if other.code == definition.code and other.name != definition.name:
            problems.append(
                Problem(
                    "code",
                    f"code {definition.code} is not available: {other.name!r} uses it in {space}",
                )
            )
        elif other.name == definition.name and other.code != definition.code:
            problems.append(Problem("name", f"{other.name!r} is already code {other.code}"))
    return problems


# --- scopes ---------------------------------------------------------------------------
def check_scope(scope: Scope, config: Json, family: Family, *, replacing: int | None) -> None:
    """Raise ConflictError or InvalidChangeError when ``scope`` does not fit ``config``."""
    problems: list[Problem] = []
    subnet = scope.subnet
    if scope.family != family:
        raise_problems([Problem("subnet", f"{subnet} is not an {family} subnet")])
    own = _span(subnet)
    for entry, _net, _list in iter_subnets(config, family):
        if replacing is not None and entry.get("id") == replacing:
            continue
        other = _network(entry["subnet"])
        version, first, last = _span(other)
        if other == subnet:
            raise ConflictError(scope_exists_message(str(subnet)), field="subnet")
        if version == own[0] and first <= own[2] and own[1] <= last:
            problems.append(
                Problem("subnet", f"{subnet} overlaps the scope {other} (id {entry.get('id')})")
            )
        if scope.id is not None and entry.get("id") == scope.id:
            problems.append(Problem("id", f"scope id {scope.id} is taken by {other}"))
        for pd in entry.get("pd-pools", []):
            taken = _network(f"{pd['prefix']}/{pd['prefix-len']}")
            for index, prefix_pool in enumerate(scope.pd_pools):
                if taken.overlaps(prefix_pool.prefix):
                    problems.append(
                        Problem(f"pd_pools[{index}]", f"overlaps the prefix pool {taken} of "
                                f"scope {other}")
                    )  # fmt: skip
        for pool in entry.get("pools", []):
            low, high = pool_bounds(pool)
            for index, mine in enumerate(scope.pools):
                if int(mine.start) <= high and low <= int(mine.end):
                    problems.append(
                        Problem(f"pools[{index}]", f"overlaps the pool of scope {other}")
                    )
    for index, pool in enumerate(scope.pools):
        for end in ("start", "end"):
            address = getattr(pool, end)
            if address.version != subnet.version or address not in subnet:
                problems.append(Problem(f"pools[{index}].{end}", f"{address} is outside {subnet}"))
        for other_index, other_pool in enumerate(scope.pools[:index]):
            if pool.overlaps(other_pool):
                problems.append(Problem(f"pools[{index}]", f"overlaps pools[{other_index}]"))
        problems += check_class_ref(pool.client_class, config, f"pools[{index}].client_class")
        problems += check_options(pool.options, family, config, f"pools[{index}].options")
    if family == "v4" and scope.pd_pools:
        problems.append(Problem("pd_pools", "prefix delegation is DHCPv6 only"))
    for index, prefix_pool in enumerate(scope.pd_pools):
        for other_index, earlier in enumerate(scope.pd_pools[:index]):
            if prefix_pool.prefix.overlaps(earlier.prefix):
                problems.append(Problem(f"pd_pools[{index}]", f"overlaps pd_pools[{other_index}]"))
        problems += check_class_ref(
            prefix_pool.client_class, config, f"pd_pools[{index}].client_class"
        )
        problems += check_options(prefix_pool.options, family, config, f"pd_pools[{index}].options")
    for index, relay in enumerate(scope.relay_addresses):
        if relay.version != subnet.version:
            problems.append(Problem(f"relay_addresses[{index}]", f"{relay} is not an {family}"))
    problems += check_options(scope.options, family, config, "options")
    problems += check_class_ref(scope.client_class, config, "client_class")
    if scope.shared_network is not None and not any(
        n.get("name") == scope.shared_network for n in config.get("shared-networks", [])
    ):
        problems.append(
            Problem("shared_network", f"there is no shared network {scope.shared_network!r}")
        )
    if family == "v4" and scope.preferred_lifetime is not None:
        problems.append(Problem("preferred_lifetime", "DHCPv4 has no preferred lifetime"))
    if _lifetimes_changed(scope, config, family, replacing):
        inherited = inherited_lifetimes(config, scope.shared_network)
        problems += check_lifetimes(scope, inherited, same_level=False)
    problems += check_reservations(scope.reservations, config, family, subnet)
    raise_problems(problems)


def check_reservations(
    reservations: list[Reservation],
    config: Json,
    family: Family,
    subnet: ipaddress.IPv4Network | ipaddress.IPv6Network | None,
    where: str = "reservations",
) -> list[Problem]:
    """Reservations of a scope (``subnet``) or the server's global ones (None): one per
    identifier, one per address, the identifier and fields of the family."""
    problems: list[Problem] = []
    seen_ids: dict[tuple[str, str], int] = {}
    seen_addresses: dict[str, int] = {}
    version = 4 if family == "v4" else 6
    for index, reservation in enumerate(reservations):
        field = f"{where}[{index}]"
        if reservation.identifier in seen_ids:
            problems.append(
                Problem(
                    f"{field}.{reservation.identifier[0]}",
                    f"already reserved in {where}[{seen_ids[reservation.identifier]}]",
                )
            )
        seen_ids.setdefault(reservation.identifier, index)
        if family == "v6" and reservation.circuit_id:
            problems.append(Problem(f"{field}.circuit_id", "circuit ids identify DHCPv4 clients "
                                    "(relay agent information)"))  # fmt: skip
        if family == "v4" and reservation.prefixes:
            problems.append(Problem(f"{field}.prefixes", "prefix delegation is DHCPv6 only"))
        if family == "v6" and reservation.client_id:
            problems.append(Problem(f"{field}.client_id", "client ids identify DHCPv4 clients"))
        if family == "v4" and len(reservation.ip_addresses) > 1:
            problems.append(Problem(f"{field}.ip_addresses", "DHCPv4 reserves one address"))
        for n, address in enumerate(reservation.ip_addresses):
            if address.version != version or (subnet is not None and address not in subnet):
                outside = subnet if subnet is not None else f"an {family} address"
                problems.append(
                    Problem(f"{field}.ip_addresses[{n}]", f"{address} is outside {outside}")
                    if subnet is not None else
                    Problem(f"{field}.ip_addresses[{n}]", f"{address} is not {outside}")
                )  # fmt: skip
            elif str(address) in seen_addresses:
                problems.append(
                    Problem(
                        f"{field}.ip_addresses[{n}]",
                        f"{address} is already reserved in {where}[{seen_addresses[str(address)]}]",
                    )
                )
            seen_addresses.setdefault(str(address), index)
        seen_prefixes: list[ipaddress.IPv6Network] = []
        for n, prefix in enumerate(reservation.prefixes):
            if any(prefix.overlaps(p) for p in seen_prefixes):
                problems.append(Problem(f"{field}.prefixes[{n}]", "overlaps another prefix"))
            seen_prefixes.append(prefix)
        if family == "v6" and (
            reservation.next_server or reservation.server_hostname or reservation.boot_file_name
        ):
            problems.append(Problem(f"{field}.next_server", "BOOTP fields are DHCPv4 only"))
        # A reservation's classes need no definition: Kea assigns them as tags (Kea 2.2
        # manual 8.3.9), which other classes' tests and pools can match.
        problems += check_options(reservation.options, family, config, f"{field}.options")
    return problems


def pool_bounds(entry: Json) -> tuple[int, int]:
    """First and last address (as integers) of a Kea pool entry: "a - b" or a prefix."""
    return _bounds(str(entry["pool"]))


# Every change checks against every scope on the server: with 1,000 scopes, parsing their
# addresses again each time costs more than the rest of the check. The same text always
# parses to the same (immutable) value.
@functools.lru_cache(maxsize=16384)
def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(text, strict=False)


def _span(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> tuple[int, int, int]:
    """IP version, first and last address of a network, as integers."""
    return network.version, int(network.network_address), int(network.broadcast_address)


@functools.lru_cache(maxsize=16384)
def _bounds(text: str) -> tuple[int, int]:
    if "-" in text:
        first, _, last = text.partition("-")
        return int(ipaddress.ip_address(first.strip())), int(ipaddress.ip_address(last.strip()))
    network = ipaddress.ip_network(text.strip(), strict=False)
    return int(network.network_address), int(network.broadcast_address)


#: Pairs that must be in order (lower, higher): Kea's effective values of a scope.
_ORDER = (
    ("min_valid_lifetime", "valid_lifetime"),
    ("valid_lifetime", "max_valid_lifetime"),
    ("renew_timer", "rebind_timer"),
    ("rebind_timer", "valid_lifetime"),
)


def inherited_lifetimes(config: Json, shared_network: str | None) -> dict[str, Any]:
    """The lifetimes and timers a scope inherits (its shared network's over the server's)."""
    network = next(
        (n for n in config.get("shared-networks", []) if n.get("name") == shared_network), None
    )
    values = inherited_from(config, network)
    return {attr: values[key] for attr, key in LIFETIMES.items() if key in values}


def check_lifetimes(
    item: Scope | ServerProperties, inherited: dict[str, Any], *, same_level: bool
) -> list[Problem]:
    """The one check of lifetimes and timers, for a new scope, a changed one and the server's
    properties: the values must be in order. ``inherited``: the other values of the same
    object (``same_level``: the server's properties the caller leaves as they are, judged
    with those it sends) or those it inherits (a scope: its lifetime must lie within bounds
    set above; timers are judged only when the scope sets both of a pair, since Kea takes a
    timer inherited from above that is longer than the scope's lifetime and leaves it out of
    its answers). The problem names the field the caller set."""
    problems: list[Problem] = []
    own = {a: getattr(item, a) for a in LIFETIMES if getattr(item, a, None) is not None}
    effective = {**{k: v for k, v in inherited.items() if isinstance(v, int)}, **own}
    words = {
        "min_valid_lifetime": "the minimum valid lifetime",
        "max_valid_lifetime": "the maximum valid lifetime",
        "valid_lifetime": "the valid lifetime",
        "renew_timer": "the renew timer",
        "rebind_timer": "the rebind timer",
    }
    for low, high in _ORDER:
        if low not in effective or high not in effective or effective[low] <= effective[high]:
            continue
        if low not in own and high not in own:
            continue  # not this change's doing
        if not same_level and "timer" in low and (low not in own or high not in own):
            continue  # a timer inherited from above longer than the lifetime: Kea omits it
        named, other = (low, high) if low in own else (high, low)
        origin = "" if other in own else (" as it is" if same_level else " inherited")
        relation = "above" if named == low else "below"
        problems.append(
            Problem(named, f"{effective[named]} is {relation} {words[other]} "
                    f"({other}: {effective[other]}{origin}); set {other} too or choose "
                    "another value")
        )  # fmt: skip
    return problems


def _lifetimes_changed(scope: Scope, config: Json, family: Family, replacing: int | None) -> bool:
    """Whether a change sets the scope's lifetimes otherwise than they are: values already
    on the server (a reservation added to a scope) are not judged again."""
    if replacing is None:
        return True
    for entry, network, _list in iter_subnets(config, family):
        if entry.get("id") == replacing:
            parent = inherited_from(
                config,
                next((n for n in config.get("shared-networks", []) if n.get("name") == network),
                     None),
            )  # fmt: skip
            own = own_values(entry, parent)
            return any(own.get(key) != getattr(scope, attr) for attr, key in LIFETIMES.items()
                       if not (attr == "preferred_lifetime" and family == "v4"))  # fmt: skip
    return True


#: Classes Kea defines itself (Kea 2.2 manual 14.2).
_BUILT_IN_CLASSES = ("KNOWN", "UNKNOWN", "ALL", "DROP", "BOOTP")


def check_class_ref(name: str | None, config: Json, field: str) -> list[Problem]:
    if name is None or name in _BUILT_IN_CLASSES or name.startswith(("VENDOR_CLASS_", "HA_")):
        return []
    if any(c.get("name") == name for c in config.get("client-classes", [])):
        return []
    return [Problem(field, f"there is no client class {name!r}")]


# --- shared networks, classes, properties ------------------------------------------
def check_shared_network(network: SharedNetwork, config: Json, family: Family) -> None:
    problems = check_options(network.options, family, config, "options")
    problems += check_class_ref(network.client_class, config, "client_class")
    for index, relay in enumerate(network.relay_addresses):
        if (relay.version == 4) != (family == "v4"):
            problems.append(Problem(f"relay_addresses[{index}]", f"{relay} is not an {family}"))
    raise_problems(problems)


def check_class(cls: ClientClass, config: Json, family: Family) -> None:
    problems = check_options(cls.options, family, config, "options")
    if family == "v6":
        for attr in ("next_server", "server_hostname", "boot_file_name"):
            if getattr(cls, attr) is not None:
                problems.append(Problem(attr, "BOOTP fields are DHCPv4 only"))
    raise_problems(problems)


def check_properties(props: ServerProperties, config: Json, family: Family) -> None:
    problems: list[Problem] = []
    wrong = V4_ONLY_PROPERTIES if family == "v6" else V6_ONLY_PROPERTIES
    for attr in wrong:
        if getattr(props, attr) is not None:
            problems.append(Problem(attr, f"is not a setting of the {family} server"))
    merged = {
        "valid_lifetime": config.get("valid-lifetime"),
        "min_valid_lifetime": config.get("min-valid-lifetime"),
        "max_valid_lifetime": config.get("max-valid-lifetime"),
        "renew_timer": config.get("renew-timer"),
        "rebind_timer": config.get("rebind-timer"),
    }
    current = {k: v for k, v in merged.items() if v is not None}
    problems += check_lifetimes(props, current, same_level=True)
    if family == "v6":
        for n, kind in enumerate(props.host_reservation_identifiers or []):
            if kind in ("client_id", "circuit_id"):
                problems.append(Problem(f"host_reservation_identifiers[{n}]",
                                        f"{kind} identifies DHCPv4 clients"))  # fmt: skip
    if props.control_socket is not None and not props.control_socket.startswith("/"):
        problems.append(Problem("control_socket", "must be an absolute path"))
    raise_problems(problems)
