"""Server options of named that an administrator sets: forwarders, recursion, listen addresses,
DNSSEC validation.

The dns-agent stores them in ``etc/bind/burrow-options.json``; the launcher and the agent both
render named.conf from them, so that a restart keeps what the agent set. Every value is a typed
address, network or keyword, so nothing a user types reaches named.conf as free text.

The model is kept in one normal form, so that options read back from named.conf compare equal
to the options that produced it: 127.0.0.1 is always listened on and never listed, "localhost
only" is the empty ``allow_recursion``, and ``forward_only`` needs forwarders.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_core import ValidationError as PydanticValidationError

from services.common.files import read_json, write_json
from services.common.model import Input

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: named's built-in address match lists (BIND ARM, "Address Match Lists"); Burrow defines no
#: acl statements of its own, so these are the ACL names an option may use.
BUILTIN_ACLS = ("any", "none", "localhost", "localnets")
LOOPBACK = ipaddress.IPv4Address("127.0.0.1")


def field_errors(model: str, problems: list[tuple[str, str]]) -> PydanticValidationError:
    """A validation error of ``model`` naming each field at fault, for a model validator to
    raise: pydantic places the fields under the model's own place in the request
    (``zones[0].forwarders``), where a plain ``ValueError`` would name no field."""
    return PydanticValidationError.from_exception_data(
        model,
        [
            InitErrorDetails(
                type=PydanticCustomError("value_error", message), loc=_loc(field), input=None
            )
            for field, message in problems
        ],
    )


def _loc(field: str) -> tuple[str | int, ...]:
    """``forwarders[2]`` as pydantic's location ``("forwarders", 2)``."""
    return tuple(int(part) if part.isdigit() else part for part in re.findall(r"[^.\[\]]+", field))


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("give the address as a string")
    return value.strip()


def _address(value: object) -> IPAddress:
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return value
    text = _text(value)
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address") from None


def _v4(value: object) -> ipaddress.IPv4Address:
    address = _address(value)
    if not isinstance(address, ipaddress.IPv4Address):
        raise ValueError(f"{address} is not an IPv4 address")
    return address


def _v6(value: object) -> ipaddress.IPv6Address:
    address = _address(value)
    if not isinstance(address, ipaddress.IPv6Address):
        raise ValueError(f"{address} is not an IPv6 address")
    return address


def _match(value: object) -> str:
    """An element of an address match list: an address, a prefix or a built-in ACL name."""
    text = _text(value)
    if text.lower() in BUILTIN_ACLS:
        return text.lower()
    try:
        return str(ipaddress.ip_network(text, strict=True))
    except ValueError:
        raise ValueError(
            f"{text!r} is not an address, a prefix (with no host bits set) or one of the ACL "
            f"names {', '.join(BUILTIN_ACLS)}"
        ) from None


Address = Annotated[
    IPAddress,
    PlainValidator(_address),
    PlainSerializer(str),
    WithJsonSchema({"type": "string", "format": "ipvanyaddress"}),
]
Address4 = Annotated[
    ipaddress.IPv4Address,
    PlainValidator(_v4),
    PlainSerializer(str),
    WithJsonSchema({"type": "string", "format": "ipv4"}),
]
Address6 = Annotated[
    ipaddress.IPv6Address,
    PlainValidator(_v6),
    PlainSerializer(str),
    WithJsonSchema({"type": "string", "format": "ipv6"}),
]
MatchElement = Annotated[
    str,
    PlainValidator(_match),
    WithJsonSchema(
        {"type": "string", "description": "an address, a prefix, or any/none/localhost/localnets"}
    ),
]


class ServerOptions(Input):
    """named's global options that Burrow manages (BIND ARM, "options" statement).

    A request body (``Input``): ``"recursion": "yes"`` is refused, not taken as true.
    """

    forwarders: list[Address] = Field(default=[], max_length=16)
    forward_only: bool = Field(
        default=False, description="forward only (never resolve by itself); needs forwarders"
    )
    recursion: bool = False
    allow_recursion: list[MatchElement] = Field(
        default=[],
        max_length=64,
        description="clients allowed to recurse (addresses, prefixes, ACL names); empty: "
        "localhost only",
    )
    listen_on: list[Address4] | None = Field(
        default=None, max_length=32, description="IPv4 addresses (127.0.0.1 always); null: any"
    )
    listen_on_v6: list[Address6] | None = Field(
        default=None, max_length=32, description="IPv6 addresses; null: any; []: none"
    )
    dnssec_validation: Literal["auto", "yes", "no"] = "no"

    @model_validator(mode="after")
    def _coherent(self) -> ServerOptions:
        problems: list[tuple[str, str]] = []
        if self.allow_recursion and not self.recursion:
            problems.append(("allow_recursion", "allow_recursion needs recursion on"))
        problems += forwarder_problems("forwarders", self.forwarders)
        if self.forward_only and not self.forwarders:
            problems.append(("forward_only", "forward_only needs at least one forwarder"))
        if problems:
            raise field_errors("ServerOptions", problems)
        if self.allow_recursion == ["localhost"]:
            self.allow_recursion = []
        if self.listen_on is not None:
            self.listen_on = _unique([a for a in self.listen_on if a != LOOPBACK])
        if self.listen_on_v6 is not None:
            self.listen_on_v6 = _unique(self.listen_on_v6)
        return self

    @classmethod
    def load(cls, path: Path) -> ServerOptions:
        """The stored options, or the defaults when none were set."""
        if not path.exists():
            return cls()
        return cls.model_validate(read_json(path))

    def save(self, path: Path) -> None:
        write_json(path, self.model_dump(mode="json"), mode=0o640)

    def template_vars(self) -> dict[str, Any]:
        """The variables of named.conf.j2 that these options set."""

        def acl(items: list[Any] | None, default: str) -> str:
            if items is None:
                return default
            if not items:
                return "none;"
            return " ".join(f"{item};" for item in items)

        recursion_acl = "localhost;" if not self.allow_recursion else acl(self.allow_recursion, "")
        # The dns-agent talks to named on 127.0.0.1: it is always listened on.
        listen_on = None if self.listen_on is None else [LOOPBACK, *self.listen_on]
        return {
            "listen_on": acl(listen_on, "any;"),
            "listen_on_v6": acl(self.listen_on_v6, "any;"),
            "recursion": self.recursion,
            "allow_recursion": recursion_acl if self.recursion else "none;",
            "forwarders": [str(f) for f in self.forwarders],
            "forward_only": self.forward_only,
            "dnssec_validation": self.dnssec_validation,
        }


def forwarder_problems(field: str, forwarders: list[Any]) -> list[tuple[str, str]]:
    """What is wrong with a list of forwarders, each problem naming its place
    (``forwarders[1]``): an unspecified address (0.0.0.0, ::), a loopback address (this
    appliance itself: named would ask itself), or one given twice. The agent also refuses the
    appliance's own addresses, which only it knows."""
    problems: list[tuple[str, str]] = []
    seen: set[Any] = set()
    for index, address in enumerate(forwarders):
        if address.is_unspecified:
            problems.append((f"{field}[{index}]", f"{address} is no server's address"))
        elif address.is_loopback:
            problems.append(
                (f"{field}[{index}]", f"{address} is this appliance: named would ask itself")
            )
        elif address in seen:
            problems.append((f"{field}[{index}]", f"{address} is listed twice"))
        seen.add(address)
    return problems


def recursion_warning(kind: str, recursion: bool) -> str | None:
    """Why a forward or stub zone does nothing while recursion is off, or None.

    named forwards, and follows a stub zone's name servers, only for recursive queries (BIND
    ARM, "forward" and "stub" zone types): with recursion off it answers them REFUSED."""
    if kind in ("forward", "stub") and not recursion:
        return (
            f"a {kind} zone is used only for recursive queries, and recursion is off on this "
            "server: turn it on in the server options (recursion, allow_recursion)"
        )
    return None


def _unique(items: list[Any]) -> list[Any]:
    return list(dict.fromkeys(items))
