"""Kea's refusals in the caller's terms: which field, and why in plain words.

When Kea's ``config-test`` refuses a configuration it answers one line of text that ends with
where in the command it stopped: ``... (<wire>:0:133)``, the offset of the element in the
JSON it was sent. Burrow sends that JSON itself (``services.dhcp.kea_client.request_body``),
so the offset leads back to a path in Kea's configuration (``Dhcp4.subnet4[3].option-data[0]
.data``), and the operation that made the change turns it into the field of its request
(``options[0].data``; see ``services.dhcp.manage``). Kea's text stays, as the reason, without
the position and with Kea's internal phrases (``intValue() called on non-integer Element``)
said in plain words.

``KeaRefusedError`` is a 422 of its own type (``urn:burrow:problem:refused-by-daemon``): the
input passed Burrow's checks and Kea refused it; nothing was changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from services.common.errors import FieldProblem, ValidationError

#: A path in Kea's configuration: keys and list indexes from the top (``["Dhcp4", ...]``).
KeaPath = list[str | int]
#: Turns the Kea path of a refusal into the field of the request (None: the operation's field).
Locate = Callable[[KeaPath], str | None]

_POSITION = re.compile(r"\s*(?:\bat\s*)?\((?:<wire>|<string>|[^()\s]+):(\d+)[:.](\d+)(?:-\d+)?\)")
_INNER_POSITION = re.compile(r"<(?:string|wire)>:\d+\.(\d+)(?:-\d+)?:\s*")
_ELEMENT_TYPE = re.compile(
    r"\b(int|bool|string|double|map|list)Value\(\) called on non-\w+ Element"
)
_TYPE_WORDS = {
    "int": "must be a whole number",
    "bool": "must be true or false",
    "string": "must be text",
    "double": "must be a number",
    "map": "must be an object",
    "list": "must be a list",
}


class KeaRefusedError(ValidationError):
    """Kea's config-test refused a change that passed Burrow's own checks; nothing changed."""

    code = "refused-by-daemon"
    title = "Refused by the DHCP server"


def plain(text: str) -> str:
    """Kea's answer text without positions in its input and without its internal phrases."""
    text = _POSITION.sub("", text.strip())
    text = _INNER_POSITION.sub(lambda m: f"at character {m.group(1)}: ", text)
    found = _ELEMENT_TYPE.search(text)
    if found:
        text = _TYPE_WORDS[found.group(1)]
    return text.rstrip(". ") or "no reason given"


def position(text: str) -> int | None:
    """The offset Kea names in ``text`` (``(<wire>:0:133)`` -> 133), if any. Kea names the
    element that failed first, then the ones around it: the first is the most precise."""
    found = _POSITION.search(text)
    return int(found.group(2)) if found else None


def path_at(data: bytes, offset: int) -> KeaPath:
    """The path of the JSON element of compact ``data`` that starts at ``offset`` (or the
    innermost one around it): ``b'{"a":[1,{"b":2}]}'`` at 11 -> ``["a", 1, "b"]``.

    Kea names a map's value by the ``:`` before it; that counts as the value.
    """
    stack: list[list[Any]] = []  # [kind "{" or "[", key or index, expecting a key]
    i, end = 0, min(offset, len(data))
    while i < end:
        char = data[i : i + 1]
        if char == b"{":
            stack.append([b"{", None, True])
        elif char == b"[":
            stack.append([b"[", 0, False])
        elif char in (b"}", b"]"):
            if stack:
                stack.pop()
        elif char == b",":
            if stack and stack[-1][0] == b"[":
                stack[-1][1] += 1
            elif stack:
                stack[-1][2] = True
        elif char == b'"':
            close = i + 1
            while close < len(data) and data[close : close + 1] != b'"':
                close += 2 if data[close : close + 1] == b"\\" else 1
            if stack and stack[-1][0] == b"{" and stack[-1][2]:
                stack[-1][1] = data[i + 1 : close].decode(errors="replace")
                stack[-1][2] = False
            i = close
        i += 1
    return [frame[1] for frame in stack if frame[1] is not None]


def dotted(path: Sequence[str | int]) -> str:
    """``["Dhcp4", "subnet4", 3, "pools", 0]`` -> ``Dhcp4.subnet4[3].pools[0]``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


#: Kea's keys as the fields of Burrow's models (the rest: ``-`` becomes ``_``); None: the key
#: is part of its parent's field (a pool's ``pool`` text is the pool itself).
_FIELD_NAMES: dict[str, str | None] = {
    "option-data": "options",
    "relay": "relay_addresses",
    "ip-address": "ip_addresses[0]",  # a DHCPv4 reservation's one address
    "pool": None,
    "prefix": "prefix",
    "prefix-len": "prefix",
}


def model_field(path: Sequence[str | int], prefix: str = "") -> str:
    """A path inside one Kea object as the field of Burrow's model of it:
    ``["option-data", 0, "data"]`` -> ``options[0].data``, ``["relay", "ip-addresses", 1]``
    -> ``relay_addresses[1]``; ``prefix`` goes in front."""
    out = prefix
    previous: str | int | None = None
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "ip-addresses" and previous == "relay":
            pass  # relay.ip-addresses is relay_addresses
        else:
            name = _FIELD_NAMES.get(part, part.replace("-", "_"))
            if name is not None:
                out += f".{name}" if out else name
        previous = part
    return out


def refusal(
    text: str, config: bytes, skip: int | None, field: str, locate: Locate | None
) -> KeaRefusedError:
    """The error for Kea's refusal ``text`` of the configuration ``config`` (compact JSON),
    which Kea received ``skip`` bytes into the command (None: unknown, as when the Control
    Agent re-wrote the command); ``locate`` names the field from the Kea path."""
    reason = plain(text)
    where = position(text)
    extra: dict[str, Any] = {}
    named = field
    if where is not None and skip is not None:
        offset = where - 1 - skip  # Kea counts from 1
        if 0 <= offset < len(config):
            if config[offset : offset + 1] == b":":
                offset += 1
            path = path_at(config, offset)
            if path:
                extra["kea_path"] = dotted(path)
                named = (locate(path) if locate is not None else None) or field
    message = f"the DHCP server (Kea) refused it: {reason}"
    return KeaRefusedError(
        f"{named}: {message}",
        hint="nothing was changed; correct the field and try again",
        problems=[FieldProblem(named, message, extra)],
    )
