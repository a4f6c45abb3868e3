"""Kea's own example configurations (``tests/data/kea``), adapted to run on an appliance.

The examples are Kea 2.2's ``doc/examples/kea4`` and ``kea6`` as ISC ships them, comments and
all. ``adapted`` turns one into the arguments of a ``config-set``, changing only what the
appliance must own, each named in ``ADAPTATIONS`` (and in tests/data/kea/README.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "data" / "kea"
HOOKS_DIR = Path("/usr/lib/x86_64-linux-gnu/kea/hooks")
Json = dict[str, Any]

#: The keys the appliance owns, taken from the appliance's own configuration instead.
OWNED = ("interfaces-config", "control-socket", "lease-database", "loggers")
ADAPTATIONS = {
    "interfaces-config": "the appliance's interfaces (the example's eth0... do not exist)",
    "control-socket": "the appliance's control socket (the dhcp-agent reaches Kea there)",
    "lease-database": "the appliance's lease file",
    "loggers": "the appliance's log outputs",
    "interface": "a subnet's or shared network's interface (eth0, eth1) is the appliance's "
    "interface (the first of its interfaces-config)",
    "hooks-libraries": "the appliance's hooks (lease_cmds, stat_cmds) stay; an example's "
    "hook is loaded from Debian's hooks directory when Debian ships it, else from the path "
    "the example names",
}


def examples() -> list[str]:
    """Every example, as ``kea4/NAME.json`` and ``kea6/NAME.json``."""
    return [f"{d}/{p.name}" for d in ("kea4", "kea6") for p in sorted((DATA / d).glob("*.json"))]


def without_comments(text: str) -> str:
    """Kea's configuration syntax without its comments (``//``, ``#``, ``/* */`` outside
    strings) and with ``.5`` written ``0.5``: plain JSON."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == '"':
            end = i + 1
            while end < n and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            out.append(text[i : end + 1])
            i = end + 1
        elif text.startswith("//", i) or char == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("/*", i):
            i = text.index("*/", i + 2) + 2
        else:
            if char == "." and "".join(out).rstrip()[-1:] in (":", ",", "["):
                out.append("0")  # Kea takes ``.5`` for 0.5; JSON does not
            out.append(char)
            i += 1
    return "".join(out)


def load(name: str) -> Json:
    loaded: Json = json.loads(without_comments((DATA / name).read_text()))
    return loaded


def adapted(name: str, appliance: Json) -> Json:
    """The example ``name`` as config-set arguments for an appliance whose configuration (as
    config-get answers it) is ``appliance``."""
    key = "Dhcp4" if name.startswith("kea4/") else "Dhcp6"
    example = load(name)
    config: Json = dict(example[key])
    own = appliance[key]
    for owned in OWNED:
        if owned in own:
            config[owned] = own[owned]
        else:
            config.pop(owned, None)
    interfaces = own.get("interfaces-config", {}).get("interfaces", [])
    ours = str(interfaces[0]).split("/")[0] if interfaces else None
    subnets = "subnet4" if key == "Dhcp4" else "subnet6"
    config["shared-networks"] = [
        _on(network, ours, subnets) for network in config.get("shared-networks", [])
    ]
    if not config["shared-networks"]:
        del config["shared-networks"]
    if subnets in config:
        config[subnets] = [_on(subnet, ours, subnets) for subnet in config[subnets]]
    hooks = list(own.get("hooks-libraries", []))
    have = {Path(h["library"]).name for h in hooks}
    for hook in config.get("hooks-libraries", []):
        library = Path(hook["library"])
        if library.name in have:
            continue
        if (HOOKS_DIR / library.name).exists():
            hook = {**hook, "library": str(HOOKS_DIR / library.name)}
        hooks.append(hook)
    if hooks:
        config["hooks-libraries"] = hooks
    return {key: config}


def _on(entry: Json, interface: str | None, subnets: str) -> Json:
    """A shared network or subnet (and a network's subnets) on the appliance's interface."""
    out = dict(entry)
    if "interface" in out:
        if interface is None:
            del out["interface"]
        else:
            out["interface"] = interface
    if subnets in out:
        out[subnets] = [_on(s, interface, subnets) for s in out[subnets]]
    return out
