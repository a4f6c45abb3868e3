"""DNS settings: a zone's SOA and default TTL, its options (who may transfer and update it,
with addresses and TSIG keys, notify, a secondary's primaries, a forward zone's forwarders;
its DNSSEC policy shown), and a DNS server's options (forwarders, recursion, listen
addresses, DNSSEC validation). Each form sends Central what it shows, with a save comment;
every refusal is shown at the field it names."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from webui.central import ApiError
from webui.forms import (
    FormErrors,
    FormInputError,
    Placement,
    Reader,
    format_duration,
    refusal,
    status_of,
)
from webui.models import Zone
from webui.session import Session
from webui.web import CurrentSession, WriteRequest, console, redirect, render

router = APIRouter()

ZoneId = Path(ge=1, le=2**31 - 1)
ServerId = Path(ge=1, le=2**31 - 1)
SOA_TIMERS = ("refresh", "retry", "expire", "minimum")
#: The list fields of a zone's options, and the word for one entry of each.
ZONE_LISTS = {
    "allow_transfer": "entry",
    "allow_update": "entry",
    "also_notify": "address",
    "primaries": "primary",
    "forwarders": "forwarder",
}
#: The options form shows these for each kind of zone (Central refuses the others).
KIND_OPTIONS = {
    "primary": ("allow_transfer", "transfer_keys", "allow_update", "update_keys",
                "update_grants", "notify", "also_notify"),
    "secondary": ("primaries", "allow_transfer", "transfer_keys", "notify", "also_notify"),
    "stub": ("primaries",),
    "forward": ("forwarders", "forward_only"),
}  # fmt: skip
MATCHES = ("zonesub", "subdomain", "name")

SOA_FORM = Placement(
    {"ttl": "ttl", "comment": "comment"}
    | {f"soa.{name}": name for name in ("mname", "rname", *SOA_TIMERS)}
    | {"soa": "mname"}
)
_ZONE_FIELDS = (*ZONE_LISTS, "transfer_keys", "update_keys", "update_grants", "notify",
                "forward_only", "comment")  # fmt: skip
_ZONE_INDEXED = (*ZONE_LISTS, "transfer_keys", "update_keys", "update_grants")
OPTIONS_FORM = Placement(
    {name: name for name in _ZONE_FIELDS} | {f"{name}[]": name for name in _ZONE_INDEXED},
    entries=ZONE_LISTS | {"update_grants": "grant", "transfer_keys": "key", "update_keys": "key"},
)
SERVER_LISTS = {
    "forwarders": "forwarder",
    "allow_recursion": "entry",
    "listen_on": "address",
    "listen_on_v6": "address",
}
_SERVER_FIELDS = (*SERVER_LISTS, "forward_only", "recursion", "dnssec_validation")
SERVER_FORM = Placement(
    {f"options.{name}": name for name in _SERVER_FIELDS}
    | {f"options.{name}[]": name for name in SERVER_LISTS}
    | {"options": "forwarders", "comment": "comment"},
    entries=SERVER_LISTS,
)


def words(text: str) -> list[str]:
    """A list typed in one field: entries apart by spaces, commas or lines."""
    return text.replace(",", " ").split()


# --- a zone's settings -----------------------------------------------------------------------
def _soa_values(zone: Zone) -> dict[str, str]:
    soa = dict(zone.options.get("soa") or {})
    shown = {"ttl": "" if zone.ttl is None else format_duration(zone.ttl)}
    shown |= {"mname": str(soa.get("mname") or ""), "rname": str(soa.get("rname") or "")}
    for name in SOA_TIMERS:
        value = soa.get(name)
        shown[name] = format_duration(value) if isinstance(value, int) else ""
    return shown


def grant_line(grant: dict[str, Any]) -> str:
    """An update grant as the form writes it: ``KEY MATCH [NAME] [TYPES...]``."""
    parts = [str(grant.get("key", "")), str(grant.get("match", "zonesub"))]
    if grant.get("name"):
        parts.append(str(grant["name"]))
    return " ".join(parts + [str(t) for t in grant.get("types") or []])


def _option_values(zone: Zone) -> dict[str, Any]:
    options = zone.options
    shown: dict[str, Any] = {name: " ".join(options.get(name) or []) for name in ZONE_LISTS}
    shown["notify"] = str(options.get("notify") or "no")
    shown["forward_only"] = "yes" if options.get("forward_only", True) else ""
    shown["update_keys"] = list(options.get("update_keys") or [])
    shown["transfer_keys"] = list(options.get("transfer_keys") or [])
    shown["update_grants"] = "\n".join(grant_line(g) for g in options.get("update_grants") or [])
    return shown


def settings_page(
    request: Request, session: Session, zone_id: int, status: int = 200, **extra: Any
) -> Response:
    central = console(request).central
    zone = central.zone(session.token, zone_id)
    keys = sorted(k.name for k in central.tsig_keys(session.token) if k.server_id == zone.server_id)
    context: dict[str, Any] = {
        "zone": zone,
        "shown": KIND_OPTIONS.get(zone.kind, ()),
        "soa_values": _soa_values(zone),
        "soa_errors": FormErrors(),
        "option_values": _option_values(zone),
        "option_errors": FormErrors(),
        "keys": keys,
        "error": "",
    }
    context.update(extra)
    values = context["option_values"]
    set_keys = {*values.get("update_keys", []), *values.get("transfer_keys", [])}
    context["keys"] = sorted({*keys, *set_keys})
    return render(request, "dns_zone_settings.html", session, status, **context)


@router.get("/zones/{zone_id}/settings")
def zone_settings(request: Request, session: CurrentSession, zone_id: int = ZoneId) -> Response:
    return settings_page(request, session, zone_id)


@router.post("/zones/{zone_id}/soa")
def save_soa(request: Request, write: WriteRequest, zone_id: int = ZoneId) -> Response:
    """The default TTL and the SOA fields (names, and timers as seconds or ``1h30m``)."""
    read = Reader(write.form)
    soa: dict[str, Any] = {
        "mname": read.text("mname") or None,
        "rname": read.text("rname") or None,
    }
    for name in SOA_TIMERS:
        soa[name] = read.duration(name, example="1h", required=True)
    body = {"ttl": read.duration("ttl", example="1h", required=True), "soa": soa,
            "comment": write.comment}  # fmt: skip
    try:
        read.check()
        console(request).central.update_zone(write.session.token, zone_id, body)
    except (ApiError, FormInputError) as exc:
        errors = refusal(exc, SOA_FORM)
        kept = {n: write.get(n) for n in ("ttl", "mname", "rname", *SOA_TIMERS, "comment")}
        return settings_page(
            request, write.session, zone_id, status_of(exc), soa_errors=errors,
            soa_values=kept, error=errors.banner,
        )  # fmt: skip
    return redirect(request, f"/dns/zones/{zone_id}/settings?done=soa-saved")


def _grants(read: Reader) -> list[dict[str, Any]]:
    """``KEY MATCH [NAME] [TYPES...]`` a line; a line that is not is named in the field."""
    grants = []
    for number, line in enumerate(read.text("update_grants").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 2 or parts[1].lower() not in MATCHES:
            read.errors.at(
                "update_grants",
                f"line {number}: write the key, then zonesub, subdomain NAME or name NAME, "
                "then the record types it may change (none: every type)",
            )
            continue
        match = parts[1].lower()
        name = None
        rest = parts[2:]
        if match != "zonesub" and rest:
            name, rest = rest[0], rest[1:]
        grants.append({"key": parts[0], "match": match, "name": name, "types": rest})
    return grants


@router.post("/zones/{zone_id}/options")
def save_zone_options(request: Request, write: WriteRequest, zone_id: int = ZoneId) -> Response:
    """The options the zone's kind has, as the form shows them (the whole of each)."""
    read = Reader(write.form)
    shown = KIND_OPTIONS.get(write.get("kind"), ())
    body: dict[str, Any] = {"comment": write.comment}
    for name in shown:
        if name in ZONE_LISTS:
            body[name] = words(read.text(name))
        elif name in ("update_keys", "transfer_keys"):
            body[name] = [k for k in read.text(name).split("\n") if k.strip()]
        elif name == "update_grants":
            body[name] = _grants(read)
        elif name == "notify":
            body[name] = read.text("notify") or "no"
        elif name == "forward_only":
            body[name] = read.flag("forward_only")
    try:
        read.check()
        console(request).central.update_zone(write.session.token, zone_id, body)
    except (ApiError, FormInputError) as exc:
        errors = refusal(exc, OPTIONS_FORM)
        kept: dict[str, Any] = {n: write.get(n) for n in (*ZONE_LISTS, "notify", "update_grants",
                                                         "comment")}  # fmt: skip
        kept["forward_only"] = "yes" if read.flag("forward_only") else ""
        for name in ("update_keys", "transfer_keys"):
            kept[name] = [k for k in write.form.get(name, "").split("\n") if k.strip()]
        return settings_page(
            request, write.session, zone_id, status_of(exc), option_errors=errors,
            option_values=kept, error=errors.banner,
        )  # fmt: skip
    return redirect(request, f"/dns/zones/{zone_id}/settings?done=zone-options-saved")


# --- a DNS server's options ------------------------------------------------------------------
def _server_values(options: dict[str, Any]) -> dict[str, str]:
    shown = {name: " ".join(options.get(name) or []) for name in SERVER_LISTS}
    for name in ("listen_on", "listen_on_v6"):
        if options.get(name) == []:
            shown[name] = "none"
    for name in ("forward_only", "recursion"):
        shown[name] = "yes" if options.get(name) else ""
    shown["dnssec_validation"] = str(options.get("dnssec_validation") or "no")
    return shown


def server_page(
    request: Request, session: Session, server_id: int, status: int = 200, **extra: Any
) -> Response:
    central = console(request).central
    found = central.dns_options(session.token, server_id)
    servers = central.servers(session.token, filter="kind:dns")
    name = next((s.name for s in servers if s.id == server_id), f"server {server_id}")
    context: dict[str, Any] = {
        "server_id": server_id,
        "server_name": name,
        "found": found,
        "values": _server_values(found.options),
        "errors": FormErrors(),
        "error": "",
    }
    context.update(extra)
    return render(request, "dns_server.html", session, status, **context)


@router.get("/servers/{server_id}/options")
def server_options(
    request: Request, session: CurrentSession, server_id: int = ServerId
) -> Response:
    return server_page(request, session, server_id)


def _listen(read: Reader, name: str) -> list[str] | None:
    """Empty: every address (null); ``none``: no address (127.0.0.1 is always kept)."""
    given = words(read.text(name))
    if not given:
        return None
    return [] if [g.lower() for g in given] == ["none"] else given


@router.post("/servers/{server_id}/options")
def save_server_options(
    request: Request, write: WriteRequest, server_id: int = ServerId
) -> Response:
    """The whole option set, as the form shows it."""
    read = Reader(write.form)
    options: dict[str, Any] = {
        "forwarders": words(read.text("forwarders")),
        "forward_only": read.flag("forward_only"),
        "recursion": read.flag("recursion"),
        "allow_recursion": words(read.text("allow_recursion")),
        "listen_on": _listen(read, "listen_on"),
        "listen_on_v6": _listen(read, "listen_on_v6"),
        "dnssec_validation": read.text("dnssec_validation") or "no",
    }
    try:
        read.check()
        console(request).central.set_dns_options(
            write.session.token, server_id, options, write.comment
        )
    except (ApiError, FormInputError) as exc:
        errors = refusal(exc, SERVER_FORM)
        kept = {n: write.get(n) for n in (*SERVER_LISTS, "dnssec_validation", "comment")}
        kept |= {n: "yes" if read.flag(n) else "" for n in ("forward_only", "recursion")}
        return server_page(
            request, write.session, server_id, status_of(exc), errors=errors, values=kept,
            error=errors.banner,
        )  # fmt: skip
    return redirect(request, f"/dns/servers/{server_id}/options?done=dns-options-saved")
