"""The server options named runs, read back from its configuration (``named-checkconf -p``).

``named-checkconf -p`` prints the configuration in BIND's canonical form: one statement a
line, blocks indented by tabs, ACL names quoted, addresses with their prefix length. The few
options Burrow manages are read from its ``options`` block and mapped to ``ServerOptions`` with
named's own defaults for what is left out (BIND 9.18 ARM: recursion yes, listen-on and
listen-on-v6 any, forward first, dnssec-validation auto, allow-recursion localnets and
localhost). Something the model cannot hold (a negated element, a key, a listen prefix) makes
the read-back give up: the caller keeps the options it stored.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from pathlib import Path

from pydantic import ValidationError as PydanticValidationError

from services.common.dns.options import BUILTIN_ACLS, ServerOptions
from services.common.proc import run

log = logging.getLogger(__name__)

_STATEMENT = re.compile(r"^\t([a-z0-9-]+)(?:\s+(.*?))?\s*(\{|;)$")
_ELEMENT = re.compile(r"^\t\t(.+);$")


class UnreadableOptionsError(Exception):
    """named's options hold something ``ServerOptions`` cannot express."""


def options_block(canonical: str) -> dict[str, str | list[str]]:
    """The top-level ``options`` statements of canonical text: value, or list of elements."""
    found: dict[str, str | list[str]] = {}
    lines = canonical.splitlines()
    try:
        start = lines.index("options {")
    except ValueError:
        return found
    current: list[str] | None = None
    for line in lines[start + 1 :]:
        if line == "};":
            break
        if current is not None:
            if line == "\t};":
                current = None
                continue
            element = _ELEMENT.match(line)
            if element is None:  # a nested block (e.g. a key list): not ours to read
                raise UnreadableOptionsError(f"cannot read {line.strip()!r}")
            current.append(element.group(1).strip())
            continue
        statement = _STATEMENT.match(line)
        if statement is None:
            continue
        name, value, end = statement.groups()
        if end == "{":
            if value:  # "listen-on port 5353 {": a port or dscp Burrow does not set
                raise UnreadableOptionsError(f"cannot read {name} {value}")
            current = []
            found[name] = current
        else:
            found[name] = value or ""
    return found


def _elements(items: list[str]) -> list[str]:
    return [item.strip('"') for item in items]


def _addresses(name: str, items: list[str], prefix: int) -> list[str] | None:
    """A listen-on list: None for "any", [] for "none", else host addresses."""
    elements = _elements(items)
    if elements == ["any"]:
        return None
    if elements == ["none"]:
        return []
    out = []
    for element in elements:
        try:
            network = ipaddress.ip_network(element)
        except ValueError:
            raise UnreadableOptionsError(f"{name}: cannot read {element!r}") from None
        if network.prefixlen != prefix:
            raise UnreadableOptionsError(f"{name}: {element} is not one address")
        out.append(str(network.network_address))
    return out


def _match_list(name: str, items: list[str]) -> list[str]:
    out = []
    for element in _elements(items):
        if element in BUILTIN_ACLS:
            out.append(element)
            continue
        try:
            out.append(str(ipaddress.ip_network(element)))
        except ValueError:
            raise UnreadableOptionsError(f"{name}: cannot read {element!r}") from None
    return out


def _list(block: dict[str, str | list[str]], name: str) -> list[str] | None:
    value = block.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        raise UnreadableOptionsError(f"{name} is not a list")
    return value


def parse_options(canonical: str) -> ServerOptions:
    """``ServerOptions`` from the canonical text of a configuration (see the module docstring)."""
    block = options_block(canonical)
    recursion = block.get("recursion", "yes") == "yes"
    listen = _list(block, "listen-on")
    listen6 = _list(block, "listen-on-v6")
    allow = _list(block, "allow-recursion")
    forwarders = _list(block, "forwarders") or []
    validation = block.get("dnssec-validation", "auto")
    allow_recursion = _match_list("allow-recursion", allow) if allow is not None else []
    if allow is None and recursion:
        allow_recursion = ["localnets", "localhost"]
    try:
        return ServerOptions.model_validate(
            {
                "forwarders": _elements(forwarders),
                "forward_only": bool(forwarders) and block.get("forward") == "only",
                "recursion": recursion,
                "allow_recursion": allow_recursion if recursion else [],
                "listen_on": None if listen is None else _addresses("listen-on", listen, 32),
                "listen_on_v6": (
                    None if listen6 is None else _addresses("listen-on-v6", listen6, 128)
                ),
                "dnssec_validation": validation,
            }
        )
    except PydanticValidationError as exc:
        raise UnreadableOptionsError(str(exc.errors()[0].get("msg"))) from exc


def running_options(named_conf: Path) -> ServerOptions | None:
    """The options of ``named_conf`` (what named loaded last), or None if they cannot be read."""
    if not named_conf.exists():
        return None
    proc = run(["named-checkconf", "-p", str(named_conf)], check=False, timeout=120)
    if proc.returncode != 0:
        log.warning("named-checkconf -p %s failed: %s", named_conf, proc.stdout[-300:])
        return None
    try:
        return parse_options(proc.stdout)
    except UnreadableOptionsError as exc:
        log.warning("the options of %s cannot be read back: %s", named_conf, exc)
        return None
