"""The appliance's network settings as data: addresses, static routes, resolvers, hostname.

Shared by the appliance-agent (which reads and changes the live network with pyroute2, see
``services.appliance.network``) and Central (``PUT /api/v1/appliance/network``). Everything
here is pure: models, canonical ordering and the checks that name the wrong field.

The **management address** (``address``, ``address6`` of ``etc/burrow/appliance.json``) is the
one the appliance was installed with and Central's own agents are reached at. **Extra
addresses** and **routes** are what an administrator adds on top; Burrow manages those and
removes them again when they leave the settings. A route's ``gateway`` must be reachable
on-link: inside a network of one of the interface's addresses (or an IPv6 link-local one).
Fields in errors are named as the request names them: ``extra_addresses[1]``,
``routes[0].gateway``; ``check`` reports every wrong field, in order, not only the first.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
    model_validator,
)

from services.common.errors import FieldProblem, ValidationError
from services.common.model import Input

IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _parser(kind: type[Any], parse: Any, what: str) -> Any:
    """A pydantic validator for an IPv4-or-IPv6 value with one clear message (no union noise)."""

    def validate(value: Any) -> Any:
        if isinstance(value, kind):
            return value
        if not isinstance(value, str):
            raise ValueError(f"{what} must be a string")
        try:
            return parse(value)
        except ValueError as exc:
            raise ValueError(str(exc)) from None

    return PlainValidator(validate)


_AS_TEXT = PlainSerializer(str, return_type=str)
#: An address with prefix, IPv4 or IPv6 (``198.51.100.9/24``).
AnyInterface = Annotated[
    IPInterface,
    _parser((ipaddress.IPv4Interface, ipaddress.IPv6Interface), ipaddress.ip_interface,
            "an address with prefix"),
    _AS_TEXT,
    WithJsonSchema({"type": "string", "examples": ["198.51.100.9/24"]}),
]  # fmt: skip
#: An address, IPv4 or IPv6.
AnyAddress = Annotated[
    IPAddress,
    _parser((ipaddress.IPv4Address, ipaddress.IPv6Address), ipaddress.ip_address, "an address"),
    _AS_TEXT,
    WithJsonSchema({"type": "string", "examples": ["198.51.100.1"]}),
]
#: A network, IPv4 or IPv6, without host bits (``203.0.113.0/24``).
AnyNetwork = Annotated[
    IPNetwork,
    _parser((ipaddress.IPv4Network, ipaddress.IPv6Network), ipaddress.ip_network, "a network"),
    _AS_TEXT,
    WithJsonSchema({"type": "string", "examples": ["203.0.113.0/24"]}),
]

#: The version of the captured network's layout (in backups: the manifest's ``network``).
CAPTURE_FORMAT = 1
MAX_EXTRA_ADDRESSES = 64
MAX_ROUTES = 256
#: The C library reads at most three ``nameserver`` lines (resolv.conf(5)).
MAX_RESOLVERS = 3


class StaticRoute(Input):
    """A route to ``destination`` through ``gateway`` (or straight on the interface)."""

    destination: AnyNetwork = Field(description="a network, e.g. 203.0.113.0/24 or 0.0.0.0/0")
    gateway: AnyAddress | None = Field(default=None, description="next hop, reachable on-link")

    @model_validator(mode="after")
    def _same_family(self) -> StaticRoute:
        if self.gateway is not None and self.gateway.version != self.destination.version:
            raise ValueError(
                f"gateway {self.gateway} is not of the destination's family "
                f"(IPv{self.destination.version})"
            )
        return self

    def key(self) -> tuple[int, int, int, int]:
        """Canonical order: IPv4 first, then by destination and gateway."""
        gateway = int(self.gateway) if self.gateway is not None else -1
        dst = self.destination
        return (dst.version, int(dst.network_address), dst.prefixlen, gateway)

    def text(self) -> str:
        via = f" via {self.gateway}" if self.gateway is not None else ""
        return f"{self.destination}{via}"


def address_key(value: IPInterface) -> tuple[int, int, int]:
    return (value.version, int(value.ip), value.network.prefixlen)


def sorted_addresses(values: Iterable[IPInterface]) -> list[IPInterface]:
    return sorted(values, key=address_key)


def sorted_routes(values: Iterable[StaticRoute]) -> list[StaticRoute]:
    return sorted(values, key=StaticRoute.key)


class NetworkChange(Input):
    """What an administrator may change (``null`` or missing: leave as it is): the body of
    the appliance-agent's ``PUT /network``."""

    hostname: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
    )
    extra_addresses: list[AnyInterface] | None = Field(
        default=None,
        max_length=MAX_EXTRA_ADDRESSES,
        description="addresses with prefix beside the management address (replaces the list)",
    )
    routes: list[StaticRoute] | None = Field(
        default=None, max_length=MAX_ROUTES, description="static routes (replaces the list)"
    )
    resolvers: list[AnyAddress] | None = Field(
        default=None, max_length=MAX_RESOLVERS, description="DNS resolvers, at most three"
    )


class NetworkSettings(BaseModel):
    """The whole network of an appliance: what ``capture`` returns and ``apply`` takes (the
    answer of the appliance-agent's ``GET`` and ``PUT /network``).

    ``addresses`` (every address of the interface, read back) is information only: ``apply``
    makes the interface carry ``address``, ``address6`` and ``extra_addresses``.
    """

    model_config = ConfigDict(extra="ignore")
    format: int = CAPTURE_FORMAT
    interface: str = Field(min_length=1, max_length=15)
    hostname: str = Field(pattern=r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
    address: ipaddress.IPv4Interface
    address6: ipaddress.IPv6Interface | None = None
    extra_addresses: list[AnyInterface] = Field(default=[], max_length=MAX_EXTRA_ADDRESSES)
    routes: list[StaticRoute] = Field(default=[], max_length=MAX_ROUTES)
    resolvers: list[AnyAddress] = Field(default=[], max_length=MAX_RESOLVERS)
    addresses: list[AnyInterface] = []

    def managed_addresses(self) -> list[IPInterface]:
        """The addresses the interface must carry, in canonical order."""
        wanted: list[IPInterface] = [self.address, *self.extra_addresses]
        if self.address6 is not None:
            wanted.append(self.address6)
        return sorted_addresses(wanted)

    def canonical(self) -> NetworkSettings:
        """The same settings with lists in canonical order (stable for backups and diffs)."""
        return self.model_copy(
            update={
                "extra_addresses": sorted_addresses(self.extra_addresses),
                "routes": sorted_routes(self.routes),
                "addresses": sorted_addresses(self.addresses),
            }
        )

    def public(self) -> dict[str, Any]:
        """JSON-serialisable, canonical order."""
        return self.canonical().model_dump(mode="json")

    def changed(self, change: NetworkChange) -> NetworkSettings:
        """These settings with ``change`` applied (fields left ``None`` are kept)."""
        update = {k: v for k, v in change.model_dump(exclude_none=True).items()}
        merged = self.model_dump(mode="json") | update
        return NetworkSettings.model_validate(merged)


# --- checks ------------------------------------------------------------------------------
def _unusable(value: IPInterface) -> str:
    """Why ``value`` cannot be put on an interface, or ''."""
    ip, network = value.ip, value.network
    if ip.is_loopback or ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return "is not a unicast address"
    if ip.is_link_local:
        return "is link-local (the kernel makes those itself)"
    if ip.version == 4 and network.prefixlen < 31:
        if ip == network.network_address:
            return f"is the network address of {network}"
        if ip == network.broadcast_address:
            return f"is the broadcast address of {network}"
    elif ip.version == 6 and network.prefixlen < 127 and ip == network.network_address:
        return f"is the subnet-router anycast address of {network}"
    return ""


def _on_link(gateway: IPAddress, addresses: list[IPInterface]) -> bool:
    if gateway.version == 6 and gateway.is_link_local:
        return True
    return any(gateway in a.network and gateway != a.ip for a in addresses)


def problems(settings: NetworkSettings) -> list[FieldProblem]:
    """Every inconsistency of ``settings``, in the order of the fields, each naming its field
    (``extra_addresses[1]``, ``routes[0].gateway``); empty when all is consistent."""
    found: list[FieldProblem] = []

    def add(field: str, message: str) -> None:
        found.append(FieldProblem(field, message))

    seen: dict[IPAddress, str] = {settings.address.ip: "address"}
    if settings.address6 is not None:
        seen[settings.address6.ip] = "address6"
    for index, value in enumerate(settings.extra_addresses):
        field = f"extra_addresses[{index}]"
        why = _unusable(value)
        if why:
            add(field, f"Address {value} {why}: not usable on a network.")
        elif value.ip in seen:
            add(field, f"Address {value.ip} is given twice (also as {seen[value.ip]}).")
        else:
            seen[value.ip] = field
    addresses = settings.managed_addresses()
    routes: dict[IPNetwork, str] = {}
    for index, route in enumerate(settings.routes):
        field = f"routes[{index}]"
        dst = route.destination
        if dst.version == 6 and dst.subnet_of(ipaddress.IPv6Network("fe80::/10")):
            add(f"{field}.destination",
                f"Route to {dst} is link-local: the kernel keeps that route itself.")  # fmt: skip
        elif dst.is_multicast or (
            dst.version == 4 and dst.subnet_of(ipaddress.IPv4Network("127.0.0.0/8"))
        ):
            add(f"{field}.destination", f"Route to {dst} is not a unicast route.")
        elif dst in routes:
            add(f"{field}.destination", f"Route to {dst} is given twice (also as {routes[dst]}).")
        else:
            routes[dst] = field
        gateway = route.gateway
        if gateway is None:
            continue
        if gateway in seen or gateway.is_unspecified or gateway.is_multicast:
            add(f"{field}.gateway", f"Gateway {gateway} is not a next hop (it is this "
                "appliance's own address, or not unicast).")  # fmt: skip
        elif not _on_link(gateway, addresses):
            add(f"{field}.gateway", f"Gateway {gateway} is not reachable on-link: it is in none "
                "of the networks of the appliance's addresses.")  # fmt: skip
    resolvers: set[IPAddress] = set()
    for index, resolver in enumerate(settings.resolvers):
        field = f"resolvers[{index}]"
        if resolver.is_unspecified or resolver.is_multicast:
            add(field, f"Resolver {resolver} is not a unicast address.")
        elif resolver in resolvers:
            add(field, f"Resolver {resolver} is given twice.")
        resolvers.add(resolver)
    return found


def check(settings: NetworkSettings) -> None:
    """Raise ValidationError naming every wrong field; return when all is consistent."""
    found = problems(settings)
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise ValidationError(f"{found[0].field}: {found[0].message}{more}", problems=found)


def changes(
    live_addresses: Iterable[IPInterface],
    live_routes: Iterable[StaticRoute],
    wanted: NetworkSettings,
    keep: Iterable[IPInterface] = (),
) -> tuple[list[IPInterface], list[IPInterface], list[StaticRoute], list[StaticRoute]]:
    """What to add and remove to go from the live network to ``wanted``.

    Returns (addresses to add, addresses to remove, routes to add, routes to remove), each in
    canonical order. Addresses in ``keep`` (the management addresses in use) are never
    removed. Live routes count as equal to wanted ones by destination and gateway.
    """
    live_a = {address_key(a): a for a in live_addresses}
    want_a = {address_key(a): a for a in wanted.managed_addresses()}
    kept = {address_key(a) for a in keep}
    add_a = [want_a[k] for k in sorted(want_a.keys() - live_a.keys())]
    del_a = [live_a[k] for k in sorted(live_a.keys() - want_a.keys() - kept)]
    live_r = {r.key(): r for r in live_routes}
    want_r = {r.key(): r for r in wanted.routes}
    add_r = [want_r[k] for k in sorted(want_r.keys() - live_r.keys())]
    del_r = [live_r[k] for k in sorted(live_r.keys() - want_r.keys())]
    return add_a, del_a, add_r, del_r
