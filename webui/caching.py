"""The caching DNS server (Unbound) in the console: Central's answers as models, the calls
the Caching page makes, and its settings turned into form text and back.

Each list of the settings is a text field, one entry a line (or, for addresses and names,
apart by spaces), so that a long list is typed and read as text:

- forwarders: ``ADDRESS[@PORT]`` apart by spaces;
- forward and stub zones: ``NAME SERVER [SERVER...]``, a forward zone ``first`` at its end to
  resolve from the root when its servers do not answer;
- local zones: ``NAME [TYPE]`` at the start of a line, the zone's records on the lines below
  it, indented: ``  www.lan.example. 3600 IN A 10.0.0.5``;
- access rules: ``NETWORK [ACTION]`` (allow unless said).

What cannot be read is named at its field and line before anything is sent; what Central (or
the dns-agent behind it) refuses comes back at the field and entry its problem names.
"""

from __future__ import annotations

from typing import Any

from services.common.caching.contract import CacheFlushed, CacheStats, CachingSettings
from webui.central import Central
from webui.forms import Placement, Reader, format_duration
from webui.models import Answer

CACHING = "/caching"
#: The action of an access rule that names none.
DEFAULT_ACTION = "allow"
ACTIONS = ("allow", "refuse", "deny", "allow_snoop")
ZONE_TYPES = ("static", "transparent", "typetransparent", "redirect", "refuse", "deny",
              "always_nxdomain", "always_refuse")  # fmt: skip
LISTS = ("forwarders", "forward_zones", "stub_zones", "local_zones", "access", "insecure_domains")
NUMBERS = ("msg_cache_mb", "rrset_cache_mb")
DURATIONS = ("cache_min_ttl", "cache_max_ttl")
FLAGS = ("forward_first", "dnssec_validation", "prefetch", "serve_expired")
SETTINGS_FORM = Placement(
    {f"settings.{n}": n for n in (*LISTS, *NUMBERS, *DURATIONS, *FLAGS)}
    | {f"settings.{n}[]": n for n in LISTS}
    | {"settings": "forwarders", "comment": "comment"},
    entries={"forwarders": "forwarder", "forward_zones": "zone", "stub_zones": "zone",
             "local_zones": "local zone", "access": "rule", "insecure_domains": "name"},
)  # fmt: skip
FLUSH_FORM = Placement.same("name", "zone", "type", "negative", "comment", fields={"body": "name"})


# --- Central's answers -------------------------------------------------------------------------
class CachingServer(Answer):
    id: int
    name: str
    address: str = ""
    port: int = 1337
    local: bool = False
    state: str = "unknown"


class SettingsView(Answer):
    server_id: int
    server_name: str
    settings: CachingSettings


class StatsView(Answer):
    server_id: int
    server_name: str
    hit_ratio: float | None = None
    stats: CacheStats


class FlushView(Answer):
    server_id: int
    flushed: CacheFlushed


# --- the calls ---------------------------------------------------------------------------------
def servers(central: Central, token: str) -> list[CachingServer]:
    found: list[CachingServer] = central.api("GET", "/caching/servers", token, list[CachingServer])
    return found


def settings(central: Central, token: str, server_id: int) -> SettingsView:
    path = f"/caching/servers/{server_id}/settings"
    found: SettingsView = central.api("GET", path, token, SettingsView)
    return found


def set_settings(
    central: Central, token: str, server_id: int, body: dict[str, Any], comment: str
) -> None:
    central.api("PUT", f"/caching/servers/{server_id}/settings", token,
                body={"settings": body, "comment": comment})  # fmt: skip


def stats(central: Central, token: str, server_id: int) -> StatsView:
    found: StatsView = central.api("GET", f"/caching/servers/{server_id}/stats", token, StatsView)
    return found


def flush(central: Central, token: str, server_id: int, body: dict[str, Any]) -> FlushView:
    path = f"/caching/servers/{server_id}/flush"
    found: FlushView = central.api("POST", path, token, FlushView, body=body)
    return found


# --- settings as form text ---------------------------------------------------------------------
def form_values(settings: CachingSettings) -> dict[str, str]:
    """The settings as the form shows them."""
    zones = []
    for zone in settings.local_zones:
        zones.append(f"{zone.name} {zone.type}")
        zones.extend(f"  {record}" for record in zone.records)
    shown = {
        "forwarders": " ".join(t.text() for t in settings.forwarders),
        "forward_zones": "\n".join(
            " ".join([z.name, *(t.text() for t in z.servers)] + (["first"] if z.first else []))
            for z in settings.forward_zones
        ),
        "stub_zones": "\n".join(
            " ".join([z.name, *(t.text() for t in z.servers)]) for z in settings.stub_zones
        ),
        "local_zones": "\n".join(zones),
        "access": "\n".join(f"{r.network} {r.action}" for r in settings.access),
        "insecure_domains": " ".join(settings.insecure_domains),
        "msg_cache_mb": str(settings.msg_cache_mb),
        "rrset_cache_mb": str(settings.rrset_cache_mb),
        "cache_min_ttl": format_duration(settings.cache_min_ttl),
        "cache_max_ttl": format_duration(settings.cache_max_ttl),
    }
    shown |= {name: "yes" if getattr(settings, name) else "" for name in FLAGS}
    return shown


def _target(read: Reader, field: str, text: str, where: str) -> dict[str, Any] | None:
    """``ADDRESS`` or ``ADDRESS@PORT`` (Unbound's own notation)."""
    address, at, port = text.partition("@")
    if not at:
        return {"address": address}
    if not port.isdigit():
        read.errors.at(field, f"{where}: “{text[:60]}”: write the port after @ as digits, "
                       "such as 198.51.100.53@5353.")  # fmt: skip
        return None
    return {"address": address, "port": int(port)}


def _lines(text: str) -> list[tuple[int, str]]:
    """The lines of a text field that are not empty, numbered from 1 as shown."""
    return [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def _zones(read: Reader, field: str, *, forward: bool) -> list[dict[str, Any]]:
    zones = []
    for number, line in _lines(read.text(field)):
        words = line.split()
        first = forward and words[-1].lower() == "first"
        if first:
            words = words[:-1]
        if len(words) < 2:
            read.errors.at(field, f"line {number}: write the zone's name, then its servers.")
            continue
        servers = [_target(read, field, w, f"line {number}") for w in words[1:]]
        zone: dict[str, Any] = {"name": words[0], "servers": [s for s in servers if s]}
        if forward:
            zone["first"] = first
        zones.append(zone)
    return zones


def _local_zones(read: Reader) -> list[dict[str, Any]]:
    zones: list[dict[str, Any]] = []
    for number, line in _lines(read.form.get("local_zones", "")):
        if line[:1].isspace():
            if not zones:
                read.errors.at(
                    "local_zones", f"line {number}: a record needs its zone on a line above "
                    "it (the zone's name at the start of a line).",
                )  # fmt: skip
                continue
            zones[-1]["records"].append(line.strip())
            continue
        words = line.split()
        if len(words) > 2:
            read.errors.at("local_zones", f"line {number}: write a zone's name and its type "
                           "alone on its line, and indent its records below it.")  # fmt: skip
            continue
        zone = {"name": words[0], "type": words[1] if len(words) > 1 else "static", "records": []}
        zones.append(zone)
    return zones


def _access(read: Reader) -> list[dict[str, Any]]:
    rules = []
    for number, line in _lines(read.text("access")):
        words = line.split()
        if len(words) > 2:
            read.errors.at("access", f"line {number}: write a network and one action.")
            continue
        action = words[1].lower() if len(words) > 1 else DEFAULT_ACTION
        rules.append({"network": words[0], "action": action})
    return rules


def read_settings(read: Reader) -> dict[str, Any]:
    """The settings the form holds, in the API's types (``read.check()`` raises what could not
    be read)."""
    forwarders = [
        _target(read, "forwarders", w, f"forwarder {i}")
        for i, w in enumerate(read.text("forwarders").replace(",", " ").split(), 1)
    ]
    body: dict[str, Any] = {
        "forwarders": [f for f in forwarders if f],
        "forward_zones": _zones(read, "forward_zones", forward=True),
        "stub_zones": _zones(read, "stub_zones", forward=False),
        "local_zones": _local_zones(read),
        "access": _access(read),
        "insecure_domains": read.text("insecure_domains").replace(",", " ").split(),
    }
    for name in NUMBERS:
        body[name] = read.whole(name, example="64", required=True)
    for name in DURATIONS:
        body[name] = read.duration(name, example="1d", required=True)
    body |= {name: read.flag(name) for name in FLAGS}
    return body


def hit_ratio(view: StatsView) -> str:
    return "none yet" if view.hit_ratio is None else f"{view.hit_ratio:.1%}"
