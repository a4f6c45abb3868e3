"""IPAM for the console: Central's IPAM answers as models, the calls the IPAM pages make, and
what the pages compute from them (an address's state in the grid, what covers a block or a
range, property values read from a form).

An address's **state** is the one colour of its cell in a range's grid, chosen from its
sources: a disagreement between them wins, then a claim, a lease, a reservation, a DNS
record, discovery; an address no source uses is free. Each state also has a letter and a
name, so that colour is never the only cue.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from webui.central import Central
from webui.forms import FormErrors, FormInputError
from webui.models import Answer, Listing

IPAM = "/ipam"
#: Addresses in one page of a range's grid.
GRID_PAGE = 256


# --- Central's answers ---------------------------------------------------------------------
class Block(Answer):
    id: int
    parent_id: int | None = None
    family: int = 4
    prefix: str
    name: str = ""
    description: str = ""
    properties: dict[str, Any] = {}


class Range(Answer):
    id: int
    block_id: int | None = None
    family: int = 4
    start: str
    end: str
    name: str = ""
    description: str = ""
    properties: dict[str, Any] = {}

    @property
    def first(self) -> int:
        return int(ipaddress.ip_address(self.start))

    @property
    def last(self) -> int:
        return int(ipaddress.ip_address(self.end))

    @property
    def size(self) -> int:
        return self.last - self.first + 1


class TreeNode(Answer):
    block: Block
    blocks: list[TreeNode] = []
    ranges: list[Range] = []


class Tree(Answer):
    blocks: list[TreeNode] = []
    ranges: list[Range] = []


class Property(Answer):
    id: int
    name: str
    kind: str
    choices: list[str] = []
    description: str = ""


class Utilisation(Answer):
    size: int
    used: int
    free: int
    percent: float
    by_source: dict[str, int] = {}
    warnings: list[str] = []


class Source(Answer):
    kind: str
    name: str | None = None
    data: str | None = None
    zone_id: int | None = None
    server_id: int | None = None
    scope_id: int | None = None
    owner: str | None = None
    hw_address: str | None = None
    client_id: str | None = None
    duid: str | None = None
    expires: int | None = None
    seen_by: str | None = None
    last_seen: str | None = None


class AddressItem(Answer):
    address: str
    sources: list[Source] = []
    problems: list[str] = []


class AddressPage(Answer):
    items: list[AddressItem] = []
    total: int = 0
    warnings: list[str] = []


class Claim(Answer):
    address: str
    owner: str = ""
    comment: str = ""
    claimed_by: str = ""
    created_at: str = ""


class NextFree(Answer):
    address: str | None = None
    claimed: bool = False
    claim: Claim | None = None
    warnings: list[str] = []


# --- the calls -----------------------------------------------------------------------------
class IpamApi:
    """Central's IPAM routes, for one user's token."""

    def __init__(self, central: Central, token: str) -> None:
        self.central = central
        self.token = token

    def _call(self, method: str, path: str, answer: Any = None, **kwargs: Any) -> Any:
        return self.central.api(method, IPAM + path, self.token, answer, **kwargs)

    def tree(self) -> Tree:
        found: Tree = self._call("GET", "/tree", Tree)
        return found

    def block(self, block_id: int) -> Block:
        found: Block = self._call("GET", f"/blocks/{block_id}", Block)
        return found

    def create_block(self, body: dict[str, Any]) -> Block:
        found: Block = self._call("POST", "/blocks", Block, body=body)
        return found

    def change_block(self, block_id: int, body: dict[str, Any]) -> None:
        self._call("PATCH", f"/blocks/{block_id}", body=body)

    def delete_block(self, block_id: int, comment: str) -> None:
        self._call("DELETE", f"/blocks/{block_id}", params={"comment": comment})

    def range(self, range_id: int) -> Range:
        found: Range = self._call("GET", f"/ranges/{range_id}", Range)
        return found

    def create_range(self, body: dict[str, Any]) -> Range:
        found: Range = self._call("POST", "/ranges", Range, body=body)
        return found

    def change_range(self, range_id: int, body: dict[str, Any]) -> None:
        self._call("PATCH", f"/ranges/{range_id}", body=body)

    def delete_range(self, range_id: int, comment: str) -> None:
        self._call("DELETE", f"/ranges/{range_id}", params={"comment": comment})

    def utilisation(self, range_id: int) -> Utilisation:
        found: Utilisation = self._call("GET", f"/ranges/{range_id}/utilisation", Utilisation)
        return found

    def addresses(self, range_id: int, first: str, last: str, limit: int) -> AddressPage:
        params = {"first": first, "last": last, "limit": limit}
        found: AddressPage = self._call("GET", f"/ranges/{range_id}/addresses", AddressPage,
                                        params=params)  # fmt: skip
        return found

    def next_free(self, range_id: int) -> NextFree:
        found: NextFree = self._call("GET", f"/ranges/{range_id}/next-free-address", NextFree)
        return found

    def claim_next_free(self, range_id: int, owner: str, comment: str) -> NextFree:
        found: NextFree = self._call(
            "POST", f"/ranges/{range_id}/next-free-address", NextFree,
            params={"claim": "true"}, body={"owner": owner, "comment": comment},
        )  # fmt: skip
        return found

    def claim(self, range_id: int, address: str, owner: str, comment: str) -> Claim:
        body = {"address": address, "owner": owner, "comment": comment}
        found: Claim = self._call("POST", f"/ranges/{range_id}/claims", Claim, body=body)
        return found

    def release(self, range_id: int, address: str, comment: str) -> None:
        self._call("DELETE", f"/ranges/{range_id}/claims/{address}", params={"comment": comment})

    def properties(self) -> list[Property]:
        found: Listing[Property] = self._call("GET", "/properties", Listing[Property],
                                              params={"limit": 1000})  # fmt: skip
        return found.items

    def create_property(self, body: dict[str, Any]) -> None:
        self._call("POST", "/properties", body=body)

    def change_property(self, name: str, body: dict[str, Any]) -> None:
        self._call("PATCH", f"/properties/{name}", body=body)

    def delete_property(self, name: str, comment: str) -> None:
        self._call("DELETE", f"/properties/{name}", params={"comment": comment})


# --- an address's state --------------------------------------------------------------------
@dataclass(frozen=True)
class State:
    key: str
    letter: str
    label: str
    meaning: str


STATES = (
    State("free", "·", "free", "no source uses it"),
    State("dns", "D", "DNS only", "an A, AAAA or PTR record, and nothing else"),
    State("reserved", "R", "reserved", "a DHCP reservation"),
    State("leased", "L", "leased", "a DHCP lease"),
    State("claimed", "C", "claimed", "claimed by a user or a script"),
    State("discovered", "S", "discovered", "seen on the network by a ping sweep or a router"),
    State("problem", "!", "disagreement", "its sources disagree (see the address's page)"),
)
STATE = {s.key: s for s in STATES}
#: What each disagreement means, in words.
PROBLEMS = {
    "a-without-ptr": "an A/AAAA record has no PTR record",
    "ptr-without-a": "a PTR record has no A/AAAA record",
    "ptr-mismatch": "the PTR record names none of the A/AAAA records' names",
    "lease-on-reserved": "leased to another client than the one it is reserved for",
    "discovered-unknown": "found on the network, and nothing else knows it: nobody claimed it",
}
#: The sources' kinds in words.
KINDS = {
    "claim": "Claim", "a": "A record", "aaaa": "AAAA record", "ptr": "PTR record",
    "reservation": "DHCP reservation", "lease": "DHCP lease", "discovered": "Discovered",
}  # fmt: skip


def state_of(item: AddressItem | None) -> State:
    """The state an address's cell shows."""
    if item is None or not item.sources:
        return STATE["free"]
    if item.problems:
        return STATE["problem"]
    kinds = {s.kind for s in item.sources}
    for key, wanted in (("claimed", {"claim"}), ("leased", {"lease"}),
                        ("reserved", {"reservation"}), ("dns", {"a", "aaaa", "ptr"}),
                        ("discovered", {"discovered"})):  # fmt: skip
        if kinds & wanted:
            return STATE[key]
    return STATE["free"]


@dataclass(frozen=True)
class Cell:
    address: str
    short: str
    state: State
    about: str


def _short(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """The part of an address a cell shows: the last octet, or the last group of IPv6."""
    if address.version == 4:
        return str(address).rsplit(".", 1)[1]
    return format(int(address) & 0xFFFF, "x")


def grid(rng: Range, offset: int, items: list[AddressItem]) -> list[Cell]:
    """The cells of one page of ``rng`` from ``offset`` (GRID_PAGE addresses at most)."""
    known = {int(ipaddress.ip_address(i.address)): i for i in items}
    first = rng.first + offset
    last = min(first + GRID_PAGE - 1, rng.last)
    cells = []
    for value in range(first, last + 1):
        address = ipaddress.ip_address(value)
        item = known.get(value)
        state = state_of(item)
        about = state.label
        if item is not None and item.sources:
            words = dict.fromkeys(KINDS.get(s.kind, s.kind) for s in item.sources)
            about = f"{state.label} ({', '.join(words)})"
        cells.append(Cell(str(address), _short(address), state, about))
    return cells


def page_bounds(rng: Range, offset: int) -> tuple[str, str]:
    """The first and last address of the grid's page at ``offset``."""
    first = rng.first + offset
    last = min(first + GRID_PAGE - 1, rng.last)
    return str(ipaddress.ip_address(first)), str(ipaddress.ip_address(last))


def offset_of(rng: Range, raw: str | None, address: str | None = None) -> int:
    """The grid page's offset from the query string: ``at`` (an address of the range: its
    page) or ``offset``; a multiple of GRID_PAGE inside the range."""
    value = 0
    if address:
        try:
            value = int(ipaddress.ip_address(address.strip())) - rng.first
        except ValueError:
            value = 0
    elif raw:
        try:
            value = int(raw)
        except ValueError:
            value = 0
    value = max(0, min(value, rng.size - 1))
    return value // GRID_PAGE * GRID_PAGE


# --- what covers a block or a range --------------------------------------------------------
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def span_of(node: Block | Range) -> tuple[int, int, int]:
    """``(family, first, last)`` of a block or a range."""
    if isinstance(node, Block):
        net = ipaddress.ip_network(node.prefix)
        return net.version, int(net.network_address), int(net.broadcast_address)
    return node.family, node.first, node.last


def reverse_network(zone: str) -> Network | None:
    """The addresses a reverse zone holds (``100.51.198.in-addr.arpa.``: 198.51.100.0/24), or
    None for another zone (RFC 2317 names included)."""
    name = zone.lower().rstrip(".")
    try:
        if name.endswith(".in-addr.arpa"):
            labels = name[: -len(".in-addr.arpa")].split(".")
            if not 1 <= len(labels) <= 4 or not all(x.isdigit() and int(x) < 256 for x in labels):
                return None
            octets = [*reversed(labels)] + ["0"] * (4 - len(labels))
            return ipaddress.IPv4Network(f"{'.'.join(octets)}/{8 * len(labels)}")
        if name.endswith(".ip6.arpa"):
            nibbles = name[: -len(".ip6.arpa")].split(".")
            if not 1 <= len(nibbles) <= 32 or not all(
                len(x) == 1 and x in "0123456789abcdef" for x in nibbles
            ):
                return None
            value = int("".join(reversed(nibbles)).ljust(32, "0"), 16)
            return ipaddress.IPv6Network((value, 4 * len(nibbles)))
    except ValueError:
        return None
    return None


def overlaps(net: Network, family: int, first: int, last: int) -> bool:
    return (net.version == family and int(net.network_address) <= last
            and first <= int(net.broadcast_address))  # fmt: skip


# --- custom property values from a form ----------------------------------------------------
PROPERTY_FIELD = "prop-"


def property_values(
    form: Mapping[str, str], defined: list[Property], before: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The properties a block or range form sets (fields ``prop-NAME``), in their JSON types.

    Empty fields are left out, or, when changing (``before``), remove a value set before.
    A number that is none is sent as typed: Central names it (``properties.NAME``)."""
    values: dict[str, Any] = {}
    errors = FormErrors()
    for prop in defined:
        raw = form.get(PROPERTY_FIELD + prop.name, "").strip()
        if not raw:
            if before is not None and prop.name in before:
                values[prop.name] = None
            continue
        if prop.kind == "number":
            values[prop.name] = _number(raw)
        elif prop.kind == "boolean":
            if raw.lower() not in ("yes", "no"):
                errors.at(PROPERTY_FIELD + prop.name, "takes yes or no")
            values[prop.name] = raw.lower() == "yes"
        else:
            values[prop.name] = raw
    if errors:
        raise FormInputError(errors)
    return values


def _number(raw: str) -> int | float | str:
    if re.fullmatch(r"[+-]?\d{1,18}", raw):
        return int(raw)
    if re.fullmatch(r"[+-]?\d{1,18}\.\d{1,18}", raw):
        return float(raw)
    return raw


def property_text(value: Any) -> str:
    """A property's value as a form field shows it."""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return "" if value is None else str(value)
