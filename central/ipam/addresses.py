"""Address arithmetic of IP address management: spans, keys, overlap, next free, reverse names.

An address is handled as an integer; a block or a range as a ``Span`` (family, first, last,
both inclusive). In the database each end is also kept as a ``key``: the integer as 32
hexadecimal digits, so that text comparison orders keys as numbers (IPv4 and IPv6 alike)
and overlap and containment are plain ``<=`` comparisons in SQL.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from services.common.errors import ValidationError

BITS = {4: 32, 6: 128}


def key(value: int) -> str:
    """The sortable text form of an address integer."""
    return f"{value:032x}"


def from_key(text: str) -> int:
    return int(text, 16)


def text(family: int, value: int) -> str:
    """The address ``value`` of ``family`` in its usual text form."""
    return str(ipaddress.IPv4Address(value) if family == 4 else ipaddress.IPv6Address(value))


@dataclass(frozen=True)
class Span:
    """A contiguous stretch of addresses of one family, ``first`` to ``last`` inclusive."""

    family: int
    first: int
    last: int

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    def contains(self, other: Span) -> bool:
        return self.family == other.family and self.first <= other.first <= other.last <= self.last

    def overlaps(self, other: Span) -> bool:
        return self.family == other.family and self.first <= other.last and other.first <= self.last

    def holds(self, value: int) -> bool:
        return self.first <= value <= self.last

    def describe(self) -> str:
        return f"{text(self.family, self.first)}-{text(self.family, self.last)}"


def parse_address(value: str, field: str) -> tuple[int, int]:
    """``(family, integer)`` of an address in text, or a 422 naming ``field``."""
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        raise ValidationError(f"{value!r} is not an IPv4 or IPv6 address", field=field) from None
    return address.version, int(address)


def parse_prefix(value: str, field: str) -> Span:
    """The span of a prefix such as ``10.0.0.0/8``; host bits set are refused (422)."""
    try:
        network = ipaddress.ip_network(value.strip(), strict=True)
    except ValueError as exc:
        reason = "has host bits set" if "host bits" in str(exc) else "is not a prefix"
        raise ValidationError(
            f"{value!r} {reason} (e.g. 10.0.0.0/8 or 2001:db8::/32)", field=field
        ) from None
    return Span(network.version, int(network.network_address), int(network.broadcast_address))


def prefix_text(span: Span) -> str:
    """The prefix a span aligned on a power of two is, e.g. ``10.0.0.0/8``."""
    length = BITS[span.family] - (span.size.bit_length() - 1)
    return f"{text(span.family, span.first)}/{length}"


def parse_range(start: str, end: str) -> Span:
    """The span ``start``-``end`` (422 naming ``start`` or ``end`` when wrong)."""
    family, first = parse_address(start, "start")
    end_family, last = parse_address(end, "end")
    if end_family != family:
        raise ValidationError("start and end must be of the same family", field="end")
    if last < first:
        raise ValidationError(f"end {end} comes before start {start}", field="end")
    return Span(family, first, last)


def first_gap(span: Span, used: Iterable[int], start: int | None = None) -> int | None:
    """The lowest address of ``span`` (from ``start``) not in ``used``, or None."""
    taken = sorted(u for u in set(used) if span.holds(u))
    candidate = span.first if start is None else max(start, span.first)
    for value in taken:
        if value < candidate:
            continue
        if value > candidate:
            break
        candidate += 1
    return candidate if candidate <= span.last else None


def next_free_prefix(block: Span, length: int, children: Iterable[Span]) -> Span | None:
    """The lowest prefix of ``length`` inside ``block`` that overlaps none of ``children``."""
    bits = BITS[block.family]
    size = 1 << (bits - length)
    ordered = sorted((c for c in children if c.overlaps(block)), key=lambda c: c.first)
    candidate = block.first  # a block is aligned, and so is every multiple of size from it
    for child in ordered:
        if child.last < candidate:
            continue
        if child.first > candidate + size - 1:
            break
        # the candidate overlaps this child: the next aligned prefix after the child's end
        candidate = ((child.last + 1 + size - 1) // size) * size
    if candidate + size - 1 > block.last:
        return None
    return Span(block.family, candidate, candidate + size - 1)


def reverse_name(family: int, value: int) -> str:
    """The PTR owner name of an address (``4.3.2.1.in-addr.arpa.``)."""
    return ipaddress.ip_address(text(family, value)).reverse_pointer + "."


def from_reverse_name(name: str) -> tuple[int, int] | None:
    """The ``(family, integer)`` a PTR owner name stands for, or None for any other name
    (a classless RFC 2317 name such as ``5.0/26.2.1.in-addr.arpa.`` is none)."""
    lowered = name.lower().rstrip(".")
    if lowered.endswith(".in-addr.arpa"):
        labels = lowered[: -len(".in-addr.arpa")].split(".")
        if len(labels) != 4 or not all(p.isdigit() and int(p) < 256 for p in labels):
            return None
        return 4, int(ipaddress.IPv4Address(".".join(reversed(labels))))
    if lowered.endswith(".ip6.arpa"):
        labels = lowered[: -len(".ip6.arpa")].split(".")
        if len(labels) != 32 or not all(len(p) == 1 and p in "0123456789abcdef" for p in labels):
            return None
        return 6, int("".join(reversed(labels)), 16)
    return None


def reverse_suffix(span: Span) -> str:
    """The reverse-zone suffix common to every address of ``span`` (a LIKE filter for PTRs):
    whole octets (IPv4) or nibbles (IPv6) shared by its first and last address."""
    if span.family == 4:
        first, last = span.first.to_bytes(4, "big"), span.last.to_bytes(4, "big")
        common: list[str] = []
        for a, b in zip(first, last, strict=True):
            if a != b:
                break
            common.append(str(a))
        return ".".join([*reversed(common), "in-addr.arpa."])
    nibbles: list[str] = []
    for x, y in zip(f"{span.first:032x}", f"{span.last:032x}", strict=True):
        if x != y:
            break
        nibbles.append(x)
    return ".".join([*reversed(nibbles), "ip6.arpa."])


def text_prefix(span: Span) -> str:
    """For IPv4, the text every address of ``span`` begins with (whole octets and a dot,
    e.g. ``10.1.``): a LIKE filter for A records. Empty for IPv6 (its text forms vary)."""
    if span.family != 4:
        return ""
    first, last = span.first.to_bytes(4, "big"), span.last.to_bytes(4, "big")
    common = []
    for a, b in zip(first, last, strict=True):
        if a != b:
            break
        common.append(str(a))
    return "".join(f"{octet}." for octet in common[:3])
