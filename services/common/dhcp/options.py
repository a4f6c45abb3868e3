"""DHCP option types, Kea's standard option definitions and the checking of option values.

The definitions follow the Kea 2.2 manual, sections 8.2.10 ("Standard DHCPv4 Options") and
9.2.10 ("Standard DHCPv6 Options"). Only the options an administrator sets are typed here;
the codes Kea reserves for itself or defines otherwise are listed so that a custom definition
cannot take them.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Literal

Family = Literal["v4", "v6"]

#: Option data types Kea knows (Kea manual 8.2.13, "Custom DHCPv4 Options").
OPTION_TYPES = (
    "binary",
    "boolean",
    "empty",
    "fqdn",
    "ipv4-address",
    "ipv6-address",
    "ipv6-prefix",
    "psid",
    "record",
    "string",
    "tuple",
    "uint8",
    "uint16",
    "uint32",
    "int8",
    "int16",
    "int32",
)

_INT_RANGES = {
    "uint8": (0, 2**8 - 1),
    "uint16": (0, 2**16 - 1),
    "uint32": (0, 2**32 - 1),
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
}
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")
_HEX = re.compile(r"^(0x)?([0-9A-Fa-f]{2}[: ]?)*$")


@dataclass(frozen=True)
class OptionDefinition:
    """What an option code means in one option space."""

    code: int
    name: str
    type: str
    array: bool = False
    space: str = "dhcp4"
    record_types: str = ""


def _defs(space: str, rows: list[tuple[int, str, str, bool]]) -> dict[int, OptionDefinition]:
    return {code: OptionDefinition(code, name, kind, arr, space) for code, name, kind, arr in rows}


STANDARD_V4 = _defs(
    "dhcp4",
    [
        (1, "subnet-mask", "ipv4-address", False),
        (2, "time-offset", "int32", False),
        (3, "routers", "ipv4-address", True),
        (4, "time-servers", "ipv4-address", True),
        (5, "name-servers", "ipv4-address", True),
        (6, "domain-name-servers", "ipv4-address", True),
        (7, "log-servers", "ipv4-address", True),
        (9, "lpr-servers", "ipv4-address", True),
        (12, "host-name", "string", False),
        (13, "boot-size", "uint16", False),
        (15, "domain-name", "fqdn", False),
        (16, "swap-server", "ipv4-address", False),
        (17, "root-path", "string", False),
        (19, "ip-forwarding", "boolean", False),
        (23, "default-ip-ttl", "uint8", False),
        (26, "interface-mtu", "uint16", False),
        (28, "broadcast-address", "ipv4-address", False),
        (40, "nis-domain", "string", False),
        (41, "nis-servers", "ipv4-address", True),
        (42, "ntp-servers", "ipv4-address", True),
        (44, "netbios-name-servers", "ipv4-address", True),
        (46, "netbios-node-type", "uint8", False),
        (47, "netbios-scope", "string", False),
        (60, "vendor-class-identifier", "string", False),
        (64, "nisplus-domain-name", "string", False),
        (65, "nisplus-servers", "ipv4-address", True),
        (66, "tftp-server-name", "string", False),
        (67, "boot-file-name", "string", False),
        (69, "smtp-server", "ipv4-address", True),
        (70, "pop-server", "ipv4-address", True),
        (72, "www-server", "ipv4-address", True),
        (119, "domain-search", "fqdn", True),
        (150, "tftp-server-address", "ipv4-address", True),
    ],
)

#: Every code Kea 2.2 knows in the dhcp4 space (its dhcp4.h: defined options and protocol
#: codes) and the two that are not options at all (0 pad, 255 end): a custom definition may
#: take none of them, and option data by one of them is left to Kea's config-test.
RESERVED_V4 = frozenset(
    (0, 255, *range(1, 84), *range(85, 96), *range(97, 102), 108, *range(112, 126))
) | frozenset((*range(136, 143), 144, 145, 146, *range(150, 160), 210, 211, 212, 213, 220, 221))

STANDARD_V6 = _defs(
    "dhcp6",
    [
        (7, "preference", "uint8", False),
        (12, "unicast", "ipv6-address", False),
        (21, "sip-server-dns", "fqdn", True),
        (22, "sip-server-addr", "ipv6-address", True),
        (23, "dns-servers", "ipv6-address", True),
        (24, "domain-search", "fqdn", True),
        (27, "nis-servers", "ipv6-address", True),
        (28, "nisp-servers", "ipv6-address", True),
        (29, "nis-domain-name", "fqdn", True),
        (30, "nisp-domain-name", "fqdn", True),
        (31, "sntp-servers", "ipv6-address", True),
        (32, "information-refresh-time", "uint32", False),
        (59, "bootfile-url", "string", False),
    ],
)

#: Codes Kea 2.2 defines in the dhcp6 space (protocol options included).
RESERVED_V6 = frozenset([0, *range(1, 101), *range(103, 113), 134, 135, 136, 143])


def standard(family: Family) -> dict[int, OptionDefinition]:
    return STANDARD_V4 if family == "v4" else STANDARD_V6


def reserved(family: Family) -> frozenset[int]:
    return RESERVED_V4 if family == "v4" else RESERVED_V6


def base_space(family: Family) -> str:
    return "dhcp4" if family == "v4" else "dhcp6"


def max_code(family: Family) -> int:
    return 254 if family == "v4" else 65535


def check_value(kind: str, data: str, *, array: bool = False, record_types: str = "") -> str | None:
    """Why ``data`` (Kea's comma-separated text form) is not a valid ``kind``; None if it is."""
    if kind == "empty":
        return None if data.strip() == "" else "this option carries no data"
    if kind == "record":
        fields = [f.strip() for f in record_types.split(",") if f.strip()]
        values = [v.strip() for v in data.split(",")]
        if len(values) < len(fields) or (len(values) > len(fields) and not array):
            return f"expected {len(fields)} comma-separated values ({record_types})"
        for index, value in enumerate(values):
            field = fields[min(index, len(fields) - 1)]
            reason = _check_one(field, value)
            if reason:
                return f"value {index + 1}: {reason}"
        return None
    if kind in ("binary", "string", "tuple") and not array:
        return _check_one(kind, data)
    values = [v.strip() for v in data.split(",")] if array else [data.strip()]
    for index, value in enumerate(values):
        reason = _check_one(kind, value)
        if reason:
            return reason if len(values) == 1 else f"value {index + 1}: {reason}"
    return None


def _check_one(kind: str, value: str) -> str | None:
    try:
        if kind in _INT_RANGES:
            low, high = _INT_RANGES[kind]
            number = int(value, 0)
            if not low <= number <= high:
                return f"{value!r} is outside {low}..{high} ({kind})"
        elif kind == "ipv4-address":
            ipaddress.IPv4Address(value)
        elif kind == "ipv6-address":
            ipaddress.IPv6Address(value)
        elif kind == "ipv6-prefix":
            ipaddress.IPv6Network(value, strict=False)
        elif kind == "boolean":
            if value.lower() not in ("true", "false", "1", "0"):
                return f"{value!r} is not a boolean (true or false)"
        elif kind == "fqdn":
            labels = value.rstrip(".").split(".")
            if not value or not all(_LABEL.match(label) for label in labels):
                return f"{value!r} is not a domain name"
        elif kind == "binary":
            if not _HEX.match(value.strip()):
                return f"{value!r} is not hexadecimal data"
        elif kind in ("string", "tuple"):
            if value == "":
                return "an empty string is not allowed"
        elif kind == "psid":
            psid, _, length = value.partition("/")
            if not (0 <= int(psid) <= 65535 and 0 <= int(length) <= 16):
                return f"{value!r} is not a PSID (number/length)"
        else:
            return f"unknown option type {kind!r}"
    except ValueError:
        return f"{value!r} is not a valid {kind}"
    return None
