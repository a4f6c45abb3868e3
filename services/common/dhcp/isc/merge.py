"""A translated dhcpd.conf put into a Kea DHCPv4 configuration, with Burrow's checks.

``merge`` takes the server's configuration (Kea's ``Dhcp4`` object) and returns a new one with
the translation in it: option definitions, classes, shared networks, server-wide options and
lifetimes, then every scope with its reservations, each checked on the way by the checks
every change through Burrow passes (``services.common.dhcp.checks``). A problem is named by
the dhcpd.conf line it comes from; a subnet the server already has is a conflict (409), as
for a scope created by hand. The caller applies the result as one change, or nothing.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from services.common.dhcp import kea
from services.common.dhcp.checks import (
    Problem,
    check_class,
    check_option_def,
    check_options,
    check_properties,
    check_reservations,
    check_scope,
    check_shared_network,
    raise_problems,
)
from services.common.dhcp.contract import OptionDef, OptionValue, Scope
from services.common.dhcp.isc.translate import NotCarried, Translation
from services.common.dhcp.options import Family
from services.common.errors import BurrowError, ConflictError, FieldProblem, ValidationError

Json = dict[str, Any]


def _at(line: int, what: str, where: str, run: Callable[[], Any]) -> Any:
    """Run a check; its problems come back named by ``where`` and the dhcpd.conf ``line``."""
    at = f"line {line} ({what})" if line else what
    try:
        return run()
    except BurrowError as exc:
        if not isinstance(exc, ConflictError) and exc.status != 422:
            raise
        kind = ConflictError if isinstance(exc, ConflictError) else ValidationError
        raise kind(
            f"{at}: {exc.message}",
            problems=[FieldProblem(f"{where}.{p.field}" if p.field else where,
                                   f"{at}: {p.message}", {"line": line})
                      for p in exc.problems],
        ) from None  # fmt: skip


def _taken(line: int, where: str, what: str, name: str) -> ConflictError:
    """The conflict of an imported ``what`` (a client class, a shared network) the server has."""
    message = f"line {line}: the server has a {what} {name!r} already"
    return ConflictError(message, problems=[FieldProblem(f"{where}.name", message, {"line": line})])


def _raise(problems: list[Problem]) -> None:
    raise_problems(problems)


def _global_reservations(translation: Translation, top: Json, family: Family) -> None:
    """The imported global reservations after the server's (an identifier it has: 409)."""
    if not translation.global_reservations:
        return
    existing = kea.reservations_from(top)
    have = {r.identifier: r for r in existing}
    for index, (line, reservation) in enumerate(translation.global_reservations):
        if reservation.identifier in have:
            kind, value = reservation.identifier
            message = f"line {line}: the server has a global reservation for {value} already"
            raise ConflictError(message, problems=[FieldProblem(
                f"global_reservations[{index}].{kind}", message, {"line": line})])  # fmt: skip
    new = [r for _line, r in translation.global_reservations]
    problems = check_reservations([*existing, *new], top, family, None, "global_reservations")
    if problems:
        first = problems[0]
        index = int(first.field.split("[", 1)[1].split("]", 1)[0]) - len(existing)
        line = translation.global_reservations[max(index, 0)][0]
        field = f"global_reservations[{max(index, 0)}]" + first.field.split("]", 1)[1]
        message = f"line {line}: {first.message}"
        raise ValidationError(message, problems=[FieldProblem(field, message, {"line": line})])
    top.setdefault("reservations", []).extend(kea.reservation_to_kea(r, family) for r in new)


def _option_def(definition: OptionDef, top: Json, family: Family) -> None:
    raise_problems(check_option_def(definition, family, top))


def _next_id(top: Json, family: Family) -> int:
    ids = [int(e.get("id", 0)) for e, _n, _l in kea.iter_subnets(top, family)]
    return max(ids, default=0) + 1


def merge(translation: Translation, current: Json, family: Family = "v4") -> Merged:
    """``current`` (Kea's ``Dhcp4`` or ``Dhcp6`` object, not changed) with the translation in
    it, and notes on what the merge decided."""
    notes: list[NotCarried] = []
    top = copy.deepcopy(current)
    for index, (line, definition) in enumerate(translation.option_definitions):
        where = f"option_definitions[{index}]"
        _at(line, f"option {definition.name}", where,
            partial(_option_def, definition, top, family))  # fmt: skip
        top.setdefault("option-def", []).append(kea.option_def_to_kea(definition, family))
    names = {c.get("name") for c in top.get("client-classes", [])}
    for index, (line, cls) in enumerate(translation.classes):
        where = f"classes[{index}]"
        if cls.name in names:
            raise _taken(line, where, "client class", cls.name)
        _at(line, f"class {cls.name}", where, partial(check_class, cls, top, family))
        top.setdefault("client-classes", []).append(kea.class_to_kea(cls, family))
        names.add(cls.name)
    networks = {n.get("name") for n in top.get("shared-networks", [])}
    for index, (line, network) in enumerate(translation.shared_networks):
        where = f"shared_networks[{index}]"
        if network.name in networks:
            raise _taken(line, where, "shared network", network.name)
        _at(line, f"shared-network {network.name}", where,
            partial(check_shared_network, network, top, family))  # fmt: skip
        top.setdefault("shared-networks", []).append(
            kea.shared_network_to_kea(network, family, None)
        )
    if translation.options:
        _at(
            0,
            "global options",
            "options",
            lambda: _raise(check_options(translation.options, family, top, "options")),
        )
        top["option-data"] = _merged_options(top.get("option-data", []), translation.options)
    props = translation.properties
    if translation.global_reservations and not (
        top.get("reservations-global") and top.get("reservations-in-subnet", True)
    ):
        # dhcpd's hosts are global: Kea looks global reservations up only when told to
        props = props.model_copy(
            update={"reservations_global": True, "reservations_in_subnet": True}
        )
        notes.append(NotCarried(translation.global_reservations[0][0], "host (global)",
                                "the server now looks reservations up globally too "
                                "(reservations-global), as dhcpd does for hosts"))  # fmt: skip
    _at(0, "lease times", "properties", lambda: check_properties(props, top, family))
    kea.apply_properties(top, props)
    _global_reservations(translation, top, family)
    top.update(translation.extra)
    spans = _Spans(top, family)
    next_id = _next_id(top, family)
    for index, placed in enumerate(translation.scopes):
        scope = placed.scope.model_copy(update={"id": next_id})
        next_id += 1
        if family == "v6" and not scope.interface and not scope.relay_addresses:
            # dhcpd6 serves a subnet6 on the interface with an address in it; Kea's DHCPv6
            # serves directly connected clients of a scope only with ``interface`` set
            interface = _only_interface(top)
            if interface is not None:
                scope = scope.model_copy(update={"interface": interface})
                notes.append(NotCarried(placed.line, f"subnet6 {scope.subnet}",
                                        f"served on {interface}, the server's one DHCPv6 "
                                        "interface (dhcpd6 chose it by address)"))  # fmt: skip
            else:
                notes.append(NotCarried(placed.line, f"subnet6 {scope.subnet}",
                                        "set the scope's interface: Kea serves directly "
                                        "connected DHCPv6 clients only so"))  # fmt: skip
        where = f"scopes[{index}]"
        near = spans.around(top, scope)
        _at(placed.line, f"subnet {scope.subnet}", where,
            partial(check_scope, scope, near, family, replacing=None))  # fmt: skip
        entry = kea.scope_to_kea(scope, base=placed.extra)
        spans.add(entry, scope.shared_network)
        if scope.shared_network is None:
            top.setdefault(kea.subnet_key(family), []).append(entry)
        else:
            network = next(n for n in top["shared-networks"] if n["name"] == scope.shared_network)
            network.setdefault(kea.subnet_key(family), []).append(entry)
    return Merged(top, notes)


class _Spans:
    """The subnets of a configuration as address spans, to check a new scope against those it
    may clash with only (``check_scope`` reads every subnet of the configuration it is given:
    with 1,000 scopes imported, a million comparisons)."""

    def __init__(self, top: Json, family: Family) -> None:
        self.key = kea.subnet_key(family)
        self.items: list[tuple[int, int, Json, str | None]] = []
        for entry, network, _list in kea.iter_subnets(top, family):
            self.add(entry, network)

    def add(self, entry: Json, network: str | None) -> None:
        net = ipaddress.ip_network(entry["subnet"], strict=False)
        self.items.append((int(net.network_address), int(net.broadcast_address), entry, network))

    def around(self, top: Json, scope: Scope) -> Json:
        """``top`` with only the subnets that overlap ``scope`` (and every subnet with
        prefix pools, which may overlap its prefix pools): the same verdict, much faster."""
        first, last = int(scope.subnet.network_address), int(scope.subnet.broadcast_address)
        near = [(e, n) for lo, hi, e, n in self.items
                if (lo <= last and first <= hi) or e.get("pd-pools")]  # fmt: skip
        view = dict(top)
        view[self.key] = [e for e, n in near if n is None]
        view["shared-networks"] = [
            {**net, self.key: [e for e, n in near if n == net.get("name")]}
            for net in top.get("shared-networks", [])
        ]
        return view


@dataclass
class Merged:
    """The configuration with the import in it, and what the merge decided on its own."""

    config: Json
    notes: list[NotCarried]


def _only_interface(top: Json) -> str | None:
    names = (top.get("interfaces-config") or {}).get("interfaces") or []
    if len(names) != 1 or names[0] == "*":
        return None
    return str(names[0]).partition("/")[0]


def _merged_options(existing: list[Json], new: list[OptionValue]) -> list[Json]:
    """The server's global options with the imported ones put in (same option: replaced)."""

    def key(entry: Json) -> tuple[Any, Any, Any]:
        return entry.get("name"), entry.get("code"), entry.get("space") or ""

    added = [kea.option_to_kea(o) for o in new]
    taken = {key(e) for e in added}
    names = {e.get("name") for e in added if e.get("name")}
    kept = [e for e in existing if key(e) not in taken and e.get("name") not in names]
    return kept + added
