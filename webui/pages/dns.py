"""DNS: the zones (search, paging, create, delete, import with a preview, export), a search
of records across zones, and a zone's records (sort, filter, paging, inline add, edit and
delete, bulk delete and TTL change, each with a save comment). TTLs are read as seconds or in
BIND's unit form (``1h30m``) and shown in the unit form. A zone's settings (SOA, options) and
the servers' options are in ``dns_settings``."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from starlette.datastructures import QueryParams

from webui.central import ApiError
from webui.forms import (
    FormErrors,
    FormInputError,
    Placement,
    Reader,
    in_words,
    refusal,
    status_of,
)
from webui.models import Server, Zone, ZoneDnssec
from webui.paging import Pager, clamp_offset, query, selected, sort_key
from webui.session import Session
from webui.web import CurrentSession, Write, WriteRequest, console, redirect, render, values

router = APIRouter(prefix="/dns")

ZONES_PAGE = 50
RECORDS_PAGE = 100
ZONE_SORTS = ("name", "kind", "record_count", "serial", "updated_at")
RECORD_SORTS = ("name", "type", "ttl", "data")
#: The types the add form offers (the API takes every type BIND serves, and TYPEnnn).
RECORD_TYPES = ("A", "AAAA", "CNAME", "MX", "TXT", "NS", "PTR", "SRV", "CAA", "DNAME", "SSHFP",
                "TLSA", "NAPTR", "DS", "HINFO", "HTTPS", "SVCB", "LOC", "URI", "RP", "CERT",
                "SMIMEA", "OPENPGPKEY", "SPF", "AFSDB", "CDS", "CDNSKEY", "DNSKEY", "CSYNC",
                "ZONEMD")  # fmt: skip
ZoneId = Path(ge=1, le=2**31 - 1)
KeyId = Path(ge=1, le=2**31 - 1)
ALGORITHMS = ("hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224")
RECORD = ("name", "type", "ttl", "data")

#: Where Central's problems land on each form.
ZONE_FORM = Placement.same(
    "name", "server_id", "kind", "ttl", "nameservers", "primaries", "forwarders", "comment",
    fields={"nameservers[]": "nameservers", "primaries[]": "primaries",
            "forwarders[]": "forwarders"},
    entries={"nameservers": "name server", "primaries": "primary", "forwarders": "forwarder"},
)  # fmt: skip
#: The kinds of zone the create form offers, and what each is.
ZONE_KINDS = (
    ("primary", "primary: its records are kept here"),
    ("secondary", "secondary: a copy transferred from its primaries"),
    ("stub", "stub: only the name servers, from its primaries"),
    ("forward", "forward: queries sent to its forwarders"),
)
IMPORT_FORM = Placement.same(
    "name", "text", "comment", fields={"records[]": "text"}, entries={"text": "record"},
    lines="text",
)  # fmt: skip
ADD_FORM = Placement.same("comment", fields={f"changes[].record.{f}": f for f in RECORD})
#: An edit sends the record as it was (hidden) and as it becomes (the fields shown).
EDIT_FORM = Placement({f"changes[].new.{f}": f for f in RECORD})


def record_of(read: Reader, prefix: str = "") -> dict[str, Any]:
    """A record from the form; an empty TTL is the zone's default."""
    return {
        "name": read.text(prefix + "name") or "@",
        "type": read.text(prefix + "type").upper(),
        "ttl": read.duration(prefix + "ttl", example="1h"),
        "data": read.text(prefix + "data"),
    }


def _dns_servers(request: Request, session: Session) -> list[Server]:
    return console(request).central.servers(session.token, filter="kind:dns")


# --- zones -------------------------------------------------------------------------------
def zones_page(request: Request, session: Session, status: int = 200, **extra: Any) -> Response:
    params = request.query_params
    sort = sort_key(params.get("sort"), ZONE_SORTS, "name")
    offset = clamp_offset(params.get("offset"), ZONES_PAGE)
    search = params.get("q", "").strip()
    answer = console(request).central.zones(
        session.token, filter=search, sort=sort, offset=offset, limit=ZONES_PAGE
    )
    base = {"q": search, "sort": sort, "offset": offset}
    servers = _dns_servers(request, session)
    context: dict[str, Any] = {
        "zones": answer.items,
        "pager": Pager(offset, ZONES_PAGE, answer.total),
        "search": search,
        "sort": sort,
        "qs": lambda **changes: query(base, **changes),
        "servers": servers,
        "server_options": [(str(s.id), s.name) for s in servers],
        "zone_kinds": ZONE_KINDS,
        "errors": FormErrors(),
        "values": {},
        "import_errors": FormErrors(),
        "import_values": {},
        "import_preview": None,
        "error": "",
    }
    context.update(extra)
    return render(request, "dns_zones.html", session, status, **context)


@router.get("/zones")
def zones(request: Request, session: CurrentSession) -> Response:
    return zones_page(request, session)


@router.post("/zones")
def create_zone(request: Request, write: WriteRequest) -> Response:
    read = Reader(write.form)
    body: dict[str, Any] = {
        "name": read.text("name"),
        "server_id": read.whole("server_id"),
        "comment": write.comment,
    }
    kind = read.text("kind") or "primary"
    if kind != "primary":
        body["kind"] = kind
    ttl = read.duration("ttl", example="1h")
    if ttl is not None:
        body["ttl"] = ttl
    # Each list only where typed: Central names a list the kind does not take, or one it lacks.
    for name in ("nameservers", "primaries", "forwarders"):
        entries = read.text(name).replace(",", " ").split()
        if entries:
            body[name] = entries
    if kind == "forward":
        body["forward_only"] = write.form.get("forward_only") == "yes"
    try:
        read.check()
        zone = console(request).central.create_zone(write.session.token, body)
    except (ApiError, FormInputError) as exc:
        errors = refusal(exc, ZONE_FORM)
        return zones_page(
            request, write.session, status_of(exc), errors=errors, error=errors.banner,
            values=values(write.form, "name", "server_id", "kind", "ttl", "nameservers",
                          "primaries", "forwarders", "forward_only", "comment"),
        )  # fmt: skip
    return redirect(request, f"/dns/zones/{zone.id}?done=zone-created")


@router.post("/zones/import")
def import_zone(request: Request, write: WriteRequest) -> Response:
    read = Reader(write.form)
    text = write.form.get("file") or write.form.get("text", "")
    leave_out = write.form.get("leave_out_refused") == "yes"
    body = {
        "name": read.text("name"),
        "text": text,
        "server_id": read.whole("server_id"),
        "leave_out_refused": leave_out,
    }
    kept = values(write.form, "name", "server_id", "comment", "leave_out_refused") | {"text": text}
    central = console(request).central
    try:
        read.check()
        if write.form.get("action") == "preview":
            preview = central.preview_import(write.session.token, body)
            return zones_page(request, write.session, import_values=kept, import_preview=preview)
        zone = central.import_zone(write.session.token, body | {"comment": write.comment})
    except (ApiError, FormInputError) as exc:
        errors = refusal(exc, IMPORT_FORM)
        return zones_page(
            request, write.session, status_of(exc), import_errors=errors, error=errors.banner,
            import_values=kept,
        )  # fmt: skip
    done = "zone-imported-left-out" if zone.left_out else "zone-imported"
    return redirect(request, f"/dns/zones/{zone.id}?done={done}")


@router.post("/zones/{zone_id}/delete")
def delete_zone(request: Request, write: WriteRequest, zone_id: int = ZoneId) -> Response:
    console(request).central.delete_zone(write.session.token, zone_id, write.comment)
    return redirect(request, "/dns/zones?done=zone-deleted")


# --- records -----------------------------------------------------------------------------
def records_page(
    request: Request,
    session: Session,
    zone_id: int,
    status: int = 200,
    back: str = "",
    **extra: Any,
) -> Response:
    """A zone's page; after a refused write, ``back`` is the query of the page it came from
    (its filter, sort and offset), so the table stays as it was."""
    params = QueryParams(back) if back else request.query_params
    central = console(request).central
    zone = central.zone(session.token, zone_id)
    sort = sort_key(params.get("sort"), RECORD_SORTS, "name")
    offset = clamp_offset(params.get("offset"), RECORDS_PAGE)
    search = params.get("q", "").strip()
    answer = central.records(
        session.token, zone_id, filter=search, sort=sort, offset=offset, limit=RECORDS_PAGE
    )
    base = {"q": search, "sort": sort, "offset": offset}
    try:
        editing = int(params.get("edit", "0"))
    except ValueError:
        editing = 0
    dnssec, policies = _signing(central, session, zone)
    context: dict[str, Any] = {
        "zone": zone,
        "dnssec": dnssec,
        "policies": policies,
        "records": answer.items,
        "pager": Pager(offset, RECORDS_PAGE, answer.total),
        "search": search,
        "sort": sort,
        "qs": lambda **changes: query(base, **changes),
        "here": query(base),
        "editing": editing,
        "types": RECORD_TYPES,
        "errors": FormErrors(),
        "values": {"type": "A"},
        "edit_errors": FormErrors(),
        "edit_values": {},
        "orphan": None,
        "bulk_errors": FormErrors(),
        "bulk_values": {},
        "picked": [],
        "error": "",
    }
    context.update(extra)
    return render(request, "dns_records.html", session, status, **context)


@router.get("/zones/{zone_id}")
def zone(request: Request, session: CurrentSession, zone_id: int = ZoneId) -> Response:
    return records_page(request, session, zone_id)


def _signing(central: Any, session: Session, zone: Zone) -> tuple[ZoneDnssec | None, list[str]]:
    """A primary zone's DNSSEC state and the policies its server offers (None, [] when the
    server cannot tell now: the records are still shown)."""
    if zone.kind != "primary" or not zone.enabled or zone.server_id is None:
        return None, []
    try:
        state = central.zone_dnssec(session.token, zone.id)
        offered = central.dnssec_policies(session.token, zone.server_id)
    except ApiError:
        return None, []
    names = [n for n in offered.builtin if n != "insecure"]
    return state, names + [str(p.get("name")) for p in offered.items]


@router.post("/zones/{zone_id}/dnssec")
def sign_zone(request: Request, write: WriteRequest, zone_id: int = ZoneId) -> Response:
    """Sign the zone with the chosen policy, or unsign it (no policy chosen)."""
    policy = write.get("policy").strip() or None
    try:
        console(request).central.sign_zone(write.session.token, zone_id, policy, write.comment)
    except ApiError as exc:
        return records_page(request, write.session, zone_id, exc.status, error=in_words(exc))
    return redirect(request, f"/dns/zones/{zone_id}?done=dnssec-saved")


# --- TSIG keys ---------------------------------------------------------------------------
KEY_FORM = Placement.same("name", "algorithm", "server_id", "comment")


def keys_page(request: Request, session: Session, status: int = 200, **extra: Any) -> Response:
    central = console(request).central
    servers = _dns_servers(request, session) if session.may("dns") else []
    context: dict[str, Any] = {
        "keys": central.tsig_keys(session.token),
        "server_options": [(str(s.id), s.name) for s in servers],
        "algorithms": ALGORITHMS,
        "errors": FormErrors(),
        "values": {"algorithm": "hmac-sha256"},
        "created": None,
        "error": "",
    }
    context.update(extra)
    return render(request, "dns_keys.html", session, status, **context)


@router.get("/keys")
def keys(request: Request, session: CurrentSession) -> Response:
    return keys_page(request, session)


@router.post("/keys")
def create_key(request: Request, write: WriteRequest) -> Response:
    """A new key; its secret is on the answer page once (no redirect: it is never read again)."""
    read = Reader(write.form)
    body = {
        "server_id": read.whole("server_id"),
        "name": read.text("name"),
        "algorithm": read.text("algorithm") or "hmac-sha256",
        "comment": write.comment,
    }
    try:
        read.check()
        created = console(request).central.create_tsig_key(write.session.token, body)
    except (ApiError, FormInputError) as exc:
        errors = refusal(exc, KEY_FORM)
        return keys_page(
            request, write.session, status_of(exc), errors=errors, error=errors.banner,
            values=values(write.form, "name", "algorithm", "server_id", "comment"),
        )  # fmt: skip
    return keys_page(request, write.session, 201, created=created)


@router.post("/keys/{key_id}/delete")
def delete_key(request: Request, write: WriteRequest, key_id: int = KeyId) -> Response:
    try:
        console(request).central.delete_tsig_key(write.session.token, key_id, write.comment)
    except ApiError as exc:
        return keys_page(request, write.session, exc.status, error=in_words(exc))
    return redirect(request, "/dns/keys?done=key-deleted")


def _back_query(write: Write) -> str:
    """The query of the table's page a write came from, when it is one."""
    back = write.get("back")
    return back if re.fullmatch(r"[A-Za-z0-9_.~%&=+-]{0,600}", back) else ""


def _back(request: Request, zone_id: int, write: Write, done: str) -> Response:
    """Back to the page of the table the write came from (its search, sort and offset)."""
    back = _back_query(write)
    suffix = f"?{back}&done={done}" if back else f"?done={done}"
    return redirect(request, f"/dns/zones/{zone_id}{suffix}")


def _apply(request: Request, write: Write, zone_id: int, change: dict[str, Any]) -> None:
    console(request).central.change_records(write.session.token, zone_id, [change],
                                            write.comment)  # fmt: skip


@router.post("/zones/{zone_id}/records")
def add_record(request: Request, write: WriteRequest, zone_id: int = ZoneId) -> Response:
    read = Reader(write.form)
    try:
        change = {"action": "create", "record": record_of(read)}
        read.check()
        _apply(request, write, zone_id, change)
    except (ApiError, FormInputError) as exc:
        errors = refusal(exc, ADD_FORM)
        return records_page(
            request, write.session, zone_id, status_of(exc), _back_query(write), errors=errors,
            error=errors.banner,
            values=values(write.form, "name", "type", "ttl", "data", "comment"),
        )  # fmt: skip
    return _back(request, zone_id, write, "record-added")


@router.post("/zones/{zone_id}/records/save")
def save_record(request: Request, write: WriteRequest, zone_id: int = ZoneId) -> Response:
    read = Reader(write.form)
    try:
        change = {"action": "update", "record": record_of(read, "old_"), "new": record_of(read)}
        read.check()
        _apply(request, write, zone_id, change)
    except (ApiError, FormInputError) as exc:
        errors = refusal(exc, EDIT_FORM)
        # The record as it was, for the row to stay when it is gone from the list meanwhile.
        orphan = {"id": read.whole("id") or 0} | values(
            {k.removeprefix("old_"): v for k, v in write.form.items() if k.startswith("old_")},
            *RECORD,
        )  # fmt: skip
        return records_page(
            request, write.session, zone_id, status_of(exc), _back_query(write), edit_errors=errors,
            error=errors.banner, editing=orphan["id"], orphan=orphan,
            edit_values=values(write.form, "name", "type", "ttl", "data", "comment"),
        )  # fmt: skip
    return _back(request, zone_id, write, "record-saved")


@router.post("/zones/{zone_id}/records/delete")
def delete_record(request: Request, write: WriteRequest, zone_id: int = ZoneId) -> Response:
    read = Reader(write.form)
    try:
        change = {"action": "delete", "record": record_of(read)}
        read.check()
        _apply(request, write, zone_id, change)
    except FormInputError as exc:
        return records_page(request, write.session, zone_id, 422, _back_query(write),
                            error="; ".join(refusal(exc, Placement({})).top))  # fmt: skip
    except ApiError as exc:
        return records_page(request, write.session, zone_id, exc.status, _back_query(write),
                            error=in_words(exc))  # fmt: skip
    return _back(request, zone_id, write, "record-deleted")


# --- search across zones -------------------------------------------------------------------
SEARCH_PAGE = 100


def _plain_terms(search: str) -> str:
    """The words of a search that are plain text (``type:MX``, ``data~spf`` are record terms,
    which zones do not have)."""
    return " ".join(t for t in search.split() if ":" not in t and "~" not in t)


@router.get("/search")
def search(request: Request, session: CurrentSession) -> Response:
    """Zones by name and records by name or data, across every zone; the record terms of the
    zones' lists work too (``type:MX``, ``data~spf``, ``name~mail``)."""
    params = request.query_params
    central = console(request).central
    search = params.get("q", "").strip()[:200]
    sort = sort_key(params.get("sort"), RECORD_SORTS, "name")
    offset = clamp_offset(params.get("offset"), SEARCH_PAGE)
    base = {"q": search, "sort": sort, "offset": offset}
    zones: list[Zone] = []
    records: list[Any] = []
    total = 0
    error = ""
    if search:
        try:
            if words := _plain_terms(search):
                zones = central.zones(session.token, filter=words, limit=20, sort="name").items
            found = central.search_records(
                session.token, filter=search, sort=sort, offset=offset, limit=SEARCH_PAGE
            )
            records, total = found.items, found.total
        except ApiError as exc:
            if exc.status >= 500:
                raise
            error = in_words(exc)
    return render(
        request, "dns_search.html", session, 422 if error else 200,
        search=search, sort=sort, zones=zones, records=records, error=error,
        pager=Pager(offset, SEARCH_PAGE, total), qs=lambda **changes: query(base, **changes),
    )  # fmt: skip


# --- export --------------------------------------------------------------------------------
@router.get("/zones/{zone_id}/export")
def export_zone(request: Request, session: CurrentSession, zone_id: int = ZoneId) -> Response:
    """The zone's master file (as Central holds it) as a download named after the zone."""
    found = console(request).central.export_zone(session.token, zone_id)
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", found.zone.rstrip(".")) or "root"
    return Response(
        found.text,
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename=\"{stem}.zone\"; "
                 f"filename*=UTF-8''{quote(stem)}.zone"},
    )  # fmt: skip


# --- bulk: delete or change the TTL of the selected records ---------------------------------
BULK_FORM = Placement.same(
    "bulk", "bulk_ttl", fields={"changes[].new.ttl": "bulk_ttl", "comment": "bulk_comment"}
)


def _picked(form: dict[str, str]) -> list[dict[str, Any]]:
    """The records ticked in the table (each row's check box holds its record as JSON)."""
    picked = []
    for raw in selected(form):
        try:
            item = json.loads(raw)
        except ValueError:
            continue
        if isinstance(item, dict) and set(item) == set(RECORD):
            picked.append({k: item[k] for k in RECORD})
    return picked


@router.post("/zones/{zone_id}/records/bulk")
def bulk_records(request: Request, write: WriteRequest, zone_id: int = ZoneId) -> Response:
    """Delete the selected records, or give them one TTL: one change set, all or nothing."""
    read = Reader(write.form)
    picked = _picked(write.form)
    action = write.get("bulk")
    try:
        if not picked:
            read.errors.at("bulk", "Select at least one record in the table first.")
        if action == "ttl":
            ttl = read.duration("bulk_ttl", example="1h", required=True)
            changes = [{"action": "update", "record": r, "new": r | {"ttl": ttl}} for r in picked]
        elif action == "delete":
            changes = [{"action": "delete", "record": r} for r in picked]
        else:
            read.errors.at("bulk", "Choose “Set TTL of selected” or “Delete selected”.")
        read.check()
        console(request).central.change_records(
            write.session.token, zone_id, changes, write.get("bulk_comment") or write.comment
        )
    except (ApiError, FormInputError) as exc:
        errors = refusal(exc, BULK_FORM)
        return records_page(
            request, write.session, zone_id, status_of(exc), _back_query(write), bulk_errors=errors,
            error=errors.banner, bulk_values=values(write.form, "bulk", "bulk_ttl", "bulk_comment"),
            picked=[(r["name"], r["type"], r["ttl"], r["data"]) for r in picked],
        )  # fmt: skip
    done = "records-deleted" if action == "delete" else "ttl-changed"
    return _back(request, zone_id, write, done)


from webui.pages import dns_settings  # noqa: E402  (its routes are DNS pages too)

router.include_router(dns_settings.router)
