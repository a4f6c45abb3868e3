"""DNS: the zones (search, paging, create, delete, import) and a zone's records (sort,
filter, paging, inline add, edit and delete, each with a save comment)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from webui.central import ApiError
from webui.paging import Pager, clamp_offset, query, sort_key
from webui.session import Session
from webui.web import CurrentSession, Write, WriteRequest, console, redirect, render, values

router = APIRouter(prefix="/dns")

ZONES_PAGE = 50
RECORDS_PAGE = 100
ZONE_SORTS = ("name", "kind", "record_count", "serial", "updated_at")
RECORD_SORTS = ("name", "type", "ttl", "data")
RECORD_TYPES = ("A", "AAAA", "CNAME", "MX", "TXT", "NS", "PTR", "SRV", "CAA", "DNAME", "SSHFP",
                "TLSA", "NAPTR", "DS", "HINFO")  # fmt: skip
ZoneId = Path(ge=1, le=2**31 - 1)


def ttl_value(raw: str) -> int | str | None:
    """A TTL from a form: empty is the zone's default; text that is no number goes to
    Central as it is, so that its error names the field."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        return raw


def record_of(form: dict[str, str], prefix: str = "") -> dict[str, Any]:
    return {
        "name": form.get(prefix + "name", "").strip() or "@",
        "type": form.get(prefix + "type", "").strip().upper(),
        "ttl": ttl_value(form.get(prefix + "ttl", "")),
        "data": form.get(prefix + "data", "").strip(),
    }


def _dns_servers(request: Request, session: Session) -> list[dict[str, Any]]:
    items = console(request).central.get("/servers", session.token, filter="kind:dns")["items"]
    return list(items)


# --- zones -------------------------------------------------------------------------------
def zones_page(request: Request, session: Session, status: int = 200, **extra: Any) -> Response:
    params = request.query_params
    sort = sort_key(params.get("sort"), ZONE_SORTS, "name")
    offset = clamp_offset(params.get("offset"), ZONES_PAGE)
    search = params.get("q", "").strip()
    answer = console(request).central.get(
        "/dns/zones", session.token, filter=search, sort=sort, offset=offset, limit=ZONES_PAGE
    )
    base = {"q": search, "sort": sort, "offset": offset}
    servers = _dns_servers(request, session) if session.may("dns") else []
    context: dict[str, Any] = {
        "zones": answer["items"],
        "pager": Pager(offset, ZONES_PAGE, int(answer["total"])),
        "search": search,
        "sort": sort,
        "qs": lambda **changes: query(base, **changes),
        "servers": servers,
        "server_options": [(str(s["id"]), s["name"]) for s in servers],
        "errors": {},
        "values": {},
        "import_errors": {},
        "import_values": {},
        "error": "",
    }
    context.update(extra)
    return render(request, "dns_zones.html", session, status, **context)


@router.get("/zones")
def zones(request: Request, session: CurrentSession) -> Response:
    return zones_page(request, session)


@router.post("/zones")
def create_zone(request: Request, write: WriteRequest) -> Response:
    form = write.form
    body: dict[str, Any] = {
        "name": write.get("name"),
        "server_id": int(write.get("server_id") or 0) or None,
        "comment": write.comment,
    }
    if write.get("ttl"):
        body["ttl"] = ttl_value(write.get("ttl"))
    nameservers = [n for n in write.get("nameservers").replace(",", " ").split() if n]
    if nameservers:
        body["nameservers"] = nameservers
    try:
        zone = console(request).central.post("/dns/zones", write.session.token, body)
    except ApiError as exc:
        return zones_page(
            request, write.session, exc.status, errors=exc.errors, error=exc.detail,
            values=values(form, "name", "server_id", "ttl", "nameservers", "comment"),
        )  # fmt: skip
    return redirect(request, f"/dns/zones/{zone['id']}?done=zone-created")


@router.post("/zones/import")
def import_zone(request: Request, write: WriteRequest) -> Response:
    text = write.form.get("file") or write.form.get("text", "")
    body = {
        "name": write.get("name"),
        "text": text,
        "server_id": int(write.get("server_id") or 0) or None,
        "comment": write.comment,
    }
    try:
        zone = console(request).central.post("/dns/zones/import", write.session.token, body)
    except ApiError as exc:
        return zones_page(
            request, write.session, exc.status, import_errors=exc.errors, error=exc.detail,
            import_values=values(write.form, "name", "server_id", "text", "comment"),
        )  # fmt: skip
    zone_id = zone.get("id") or zone.get("zone_id")
    return redirect(request, f"/dns/zones/{zone_id}?done=zone-imported" if zone_id
                    else "/dns/zones?done=zone-imported")  # fmt: skip


@router.post("/zones/{zone_id}/delete")
def delete_zone(request: Request, write: WriteRequest, zone_id: int = ZoneId) -> Response:
    console(request).central.delete(
        f"/dns/zones/{zone_id}", write.session.token, comment=write.comment
    )
    return redirect(request, "/dns/zones?done=zone-deleted")


# --- records -----------------------------------------------------------------------------
def records_page(
    request: Request, session: Session, zone_id: int, status: int = 200, **extra: Any
) -> Response:
    params = request.query_params
    central = console(request).central
    zone = central.get(f"/dns/zones/{zone_id}", session.token)
    sort = sort_key(params.get("sort"), RECORD_SORTS, "name")
    offset = clamp_offset(params.get("offset"), RECORDS_PAGE)
    search = params.get("q", "").strip()
    answer = central.get(
        f"/dns/zones/{zone_id}/records", session.token,
        filter=search, sort=sort, offset=offset, limit=RECORDS_PAGE,
    )  # fmt: skip
    base = {"q": search, "sort": sort, "offset": offset}
    try:
        editing = int(params.get("edit", "0"))
    except ValueError:
        editing = 0
    context: dict[str, Any] = {
        "zone": zone,
        "records": answer["items"],
        "pager": Pager(offset, RECORDS_PAGE, int(answer["total"])),
        "search": search,
        "sort": sort,
        "qs": lambda **changes: query(base, **changes),
        "here": query(base),
        "editing": editing,
        "types": RECORD_TYPES,
        "errors": {},
        "values": {"type": "A"},
        "edit_errors": {},
        "edit_values": {},
        "error": "",
    }
    context.update(extra)
    return render(request, "dns_records.html", session, status, **context)


@router.get("/zones/{zone_id}")
def zone(request: Request, session: CurrentSession, zone_id: int = ZoneId) -> Response:
    return records_page(request, session, zone_id)


def _back(request: Request, zone_id: int, write: Write, done: str) -> Response:
    """Back to the page of the table the write came from (its search, sort and offset)."""
    back = write.get("back")
    if not re.fullmatch(r"[A-Za-z0-9_.~%&=+-]{0,600}", back):
        back = ""
    suffix = f"?{back}&done={done}" if back else f"?done={done}"
    return redirect(request, f"/dns/zones/{zone_id}{suffix}")


def _apply(request: Request, write: Write, zone_id: int, change: dict[str, Any]) -> None:
    console(request).central.post(
        f"/dns/zones/{zone_id}/changes", write.session.token,
        {"changes": [change], "comment": write.comment},
    )  # fmt: skip


@router.post("/zones/{zone_id}/records")
def add_record(request: Request, write: WriteRequest, zone_id: int = ZoneId) -> Response:
    try:
        _apply(request, write, zone_id, {"action": "create", "record": record_of(write.form)})
    except ApiError as exc:
        return records_page(
            request, write.session, zone_id, exc.status, errors=exc.errors, error=exc.detail,
            values=values(write.form, "name", "type", "ttl", "data", "comment"),
        )  # fmt: skip
    return _back(request, zone_id, write, "record-added")


@router.post("/zones/{zone_id}/records/save")
def save_record(request: Request, write: WriteRequest, zone_id: int = ZoneId) -> Response:
    change = {
        "action": "update",
        "record": record_of(write.form, "old_"),
        "new": record_of(write.form),
    }
    try:
        _apply(request, write, zone_id, change)
    except ApiError as exc:
        return records_page(
            request, write.session, zone_id, exc.status, edit_errors=exc.errors, error=exc.detail,
            editing=int(write.get("id") or 0),
            edit_values=values(write.form, "name", "type", "ttl", "data", "comment"),
        )  # fmt: skip
    return _back(request, zone_id, write, "record-saved")


@router.post("/zones/{zone_id}/records/delete")
def delete_record(request: Request, write: WriteRequest, zone_id: int = ZoneId) -> Response:
    try:
        _apply(request, write, zone_id, {"action": "delete", "record": record_of(write.form)})
    except ApiError as exc:
        return records_page(request, write.session, zone_id, exc.status, error=exc.detail)
    return _back(request, zone_id, write, "record-deleted")
