"""IPAM: the address space as a tree (blocks and ranges with their utilisation, and the DHCP
scopes and reverse zones that cover each), a range's address grid (a page of GRID_PAGE
addresses, each coloured and lettered by its state) with next free address and claims, an
address's page (every source, the disagreements, its history), and the custom property
definitions. Administrators and IPAM administrators change; every role reads.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from webui.central import ApiError
from webui.forms import FormErrors, FormInputError, Placement, Reader, in_words, refusal, status_of
from webui.ipam import (
    GRID_PAGE,
    KINDS,
    PROBLEMS,
    PROPERTY_FIELD,
    STATES,
    Block,
    IpamApi,
    Property,
    Range,
    TreeNode,
    Utilisation,
    grid,
    offset_of,
    overlaps,
    page_bounds,
    property_text,
    property_values,
    reverse_network,
    span_of,
    state_of,
)
from webui.ipam_discovery import sweepable
from webui.paging import Pager, query
from webui.session import Session
from webui.web import CurrentSession, Write, WriteRequest, console, redirect, render, values

router = APIRouter(prefix="/ipam")

BlockId = Path(ge=1, le=2**31 - 1)
RangeId = Path(ge=1, le=2**31 - 1)
AddressText = Path(max_length=64, pattern=r"^[0-9A-Fa-f.:]{2,64}$")
PropertyName = Path(max_length=64, pattern=r"^[a-z][a-z0-9_-]{0,63}$")
BLOCK_NAMES = ("prefix", "parent_id", "name", "description", "comment")
RANGE_NAMES = ("start", "end", "block_id", "name", "description", "comment")
PROPERTY_NAMES = ("name", "kind", "choices", "description", "comment")
CLAIM_FORM = Placement.same("address", "owner", "comment")
PROPERTY_FORM = Placement.same(*PROPERTY_NAMES, fields={"choices[]": "choices"})
PROPERTY_KINDS = (("text", "text"), ("number", "number"), ("boolean", "yes/no"),
                  ("choice", "choice"))  # fmt: skip


def _api(request: Request, session: Session) -> IpamApi:
    return IpamApi(console(request).central, session.token)


def _placement(names: tuple[str, ...], defined: list[Property]) -> Placement:
    """A block or range form: its own fields, and each property's at ``prop-NAME``."""
    fields = {f"properties.{p.name}": PROPERTY_FIELD + p.name for p in defined}
    return Placement.same(*names, fields=fields)


def _property_values(node: Block | Range) -> dict[str, str]:
    return {PROPERTY_FIELD + k: property_text(v) for k, v in node.properties.items()}


# --- the tree ------------------------------------------------------------------------------
def _covering(request: Request, session: Session) -> tuple[list[dict[str, Any]], list[Any]]:
    """Every DHCP scope (with where it is) and every reverse zone Central manages."""
    central = console(request).central
    scopes: list[dict[str, Any]] = []
    for server in central.dhcp_servers(session.token):
        for family in ("v4", "v6"):
            try:
                found = central.scopes(session.token, f"/dhcp/servers/{server.id}/{family}")
            except ApiError:
                continue
            for scope in found:
                try:
                    net = ipaddress.ip_network(str(scope.subnet), strict=False)
                except ValueError:
                    continue
                scopes.append({"net": net, "subnet": str(scope.subnet), "id": scope.id,
                               "href": f"/dhcp/scopes/{scope.id}?server={server.id}"
                                       f"&family={family}"})  # fmt: skip
    zones = []
    for suffix in ("in-addr.arpa", "ip6.arpa"):
        answer = central.zones(session.token, filter=f"name~{suffix}", limit=1000)
        for zone in answer.items:
            held = reverse_network(zone.name)
            if held is not None:
                zones.append({"net": held, "name": zone.name, "id": zone.id})
    return scopes, zones


def _flatten(nodes: list[TreeNode], ranges: list[Range], depth: int = 0) -> list[dict[str, Any]]:
    """The tree's rows in order, each with its depth (blocks first, then ranges, per level)."""
    rows: list[dict[str, Any]] = []
    for node in nodes:
        rows.append({"kind": "block", "node": node.block, "depth": depth})
        rows += _flatten(node.blocks, node.ranges, depth + 1)
    rows += [{"kind": "range", "node": r, "depth": depth} for r in ranges]
    return rows


def _all_blocks(nodes: list[TreeNode]) -> list[Block]:
    found = []
    for node in nodes:
        found.append(node.block)
        found += _all_blocks(node.blocks)
    return found


def tree_page(request: Request, session: Session, status: int = 200, **extra: Any) -> Response:
    api = _api(request, session)
    tree = api.tree()
    rows = _flatten(tree.blocks, tree.ranges)
    usage: dict[int, Utilisation] = {}
    warnings: list[str] = []
    for row in rows:
        if row["kind"] == "range":
            try:
                usage[row["node"].id] = found = api.utilisation(row["node"].id)
                warnings += found.warnings
            except ApiError:
                continue
    # a block's use: the used addresses of the ranges below it, over its size
    for row in rows:
        family, first, last = span_of(row["node"])
        row["size"] = last - first + 1
        if row["kind"] == "range":
            row["used"] = usage[row["node"].id].used if row["node"].id in usage else None
        else:
            row["used"] = sum(
                u.used for r in rows if r["kind"] == "range" and r["node"].id in usage
                and (u := usage[r["node"].id]) is not None
                and _inside(span_of(r["node"]), (family, first, last))
            )  # fmt: skip
    scopes, zones = _covering(request, session)
    for row in rows:
        family, first, last = span_of(row["node"])
        row["scopes"] = [s for s in scopes if overlaps(s["net"], family, first, last)]
        row["zones"] = [z for z in zones if overlaps(z["net"], family, first, last)]
    defined = api.properties()
    blocks = _all_blocks(tree.blocks)
    context: dict[str, Any] = {
        "rows": rows, "defined": defined, "warnings": sorted(set(warnings)),
        "parents": [("", "none (top of the tree)")] + [
            (str(b.id), f"{b.prefix}{' ' + b.name if b.name else ''}") for b in blocks],
        "failed": "", "errors": FormErrors(), "values": {}, "error": "",
    }  # fmt: skip
    context.update(extra)
    return render(request, "ipam_tree.html", session, status, **context)


def _inside(inner: tuple[int, int, int], outer: tuple[int, int, int]) -> bool:
    return inner[0] == outer[0] and outer[1] <= inner[1] and inner[2] <= outer[2]


@router.get("")
def tree(request: Request, session: CurrentSession) -> Response:
    return tree_page(request, session)


def _parent(read: Reader, name: str) -> int | None:
    return read.whole(name) if read.text(name) else None


@router.post("/blocks")
def create_block(request: Request, write: WriteRequest) -> Response:
    api = _api(request, write.session)
    defined = api.properties()
    read = Reader(write.form)
    try:
        body: dict[str, Any] = {
            "prefix": read.text("prefix"), "parent_id": _parent(read, "parent_id"),
            "name": read.text("name"), "description": read.text("description"),
            "comment": write.comment,
        }  # fmt: skip
        read.check()
        body["properties"] = property_values(write.form, defined)
        api.create_block(body)
    except (ApiError, FormInputError) as exc:
        return _refused(tree_page, request, write, exc, BLOCK_NAMES, defined, failed="block")
    return redirect(request, "/ipam?done=ipam-block-created")


@router.post("/ranges")
def create_range(request: Request, write: WriteRequest) -> Response:
    api = _api(request, write.session)
    defined = api.properties()
    read = Reader(write.form)
    try:
        body: dict[str, Any] = {
            "start": read.text("start"), "end": read.text("end"),
            "block_id": _parent(read, "block_id"), "name": read.text("name"),
            "description": read.text("description"), "comment": write.comment,
        }  # fmt: skip
        read.check()
        body["properties"] = property_values(write.form, defined)
        made = api.create_range(body)
    except (ApiError, FormInputError) as exc:
        return _refused(tree_page, request, write, exc, RANGE_NAMES, defined, failed="range")
    return redirect(request, f"/ipam/ranges/{made.id}?done=ipam-range-created")


def _refused(
    show: Callable[..., Response], request: Request, write: Write,
    exc: ApiError | FormInputError, names: tuple[str, ...], defined: list[Property],
    *where: Any, **extra: Any,
) -> Response:  # fmt: skip
    """The page ``show`` again (with ``where``: the object's id) after a refusal: each error at
    the field it names, the form as it was sent."""
    errors = refusal(exc, _placement(names, defined))
    props = tuple(PROPERTY_FIELD + p.name for p in defined)
    return show(
        request,
        write.session,
        *where,
        status_of(exc),
        errors=errors,
        error=errors.banner,
        values=values(write.form, *names, *props),
        **extra,
    )


# --- a block -------------------------------------------------------------------------------
def block_page(
    request: Request, session: Session, block_id: int, status: int = 200, **extra: Any
) -> Response:
    api = _api(request, session)
    block = api.block(block_id)
    context: dict[str, Any] = {
        "block": block, "defined": api.properties(), "errors": FormErrors(), "error": "",
        "values": {"prefix": block.prefix, "name": block.name,
                   "description": block.description} | _property_values(block),
    }  # fmt: skip
    context.update(extra)
    return render(request, "ipam_block.html", session, status, **context)


@router.get("/blocks/{block_id}")
def block(request: Request, session: CurrentSession, block_id: int = BlockId) -> Response:
    return block_page(request, session, block_id)


@router.post("/blocks/{block_id}")
def change_block(request: Request, write: WriteRequest, block_id: int = BlockId) -> Response:
    api = _api(request, write.session)
    current = api.block(block_id)
    defined = api.properties()
    names = ("prefix", "name", "description", "comment")
    try:
        body: dict[str, Any] = {name: write.get(name) for name in names}
        body["properties"] = property_values(write.form, defined, current.properties)
        api.change_block(block_id, body)
    except (ApiError, FormInputError) as exc:
        return _refused(block_page, request, write, exc, names, defined, block_id)
    return redirect(request, f"/ipam/blocks/{block_id}?done=ipam-block-saved")


@router.post("/blocks/{block_id}/delete")
def delete_block(request: Request, write: WriteRequest, block_id: int = BlockId) -> Response:
    api = _api(request, write.session)
    try:
        api.delete_block(block_id, write.comment)
    except ApiError as exc:
        if exc.status >= 500:
            raise
        return block_page(request, write.session, block_id, exc.status, error=in_words(exc))
    return redirect(request, "/ipam?done=ipam-block-deleted")


# --- a range: its address grid -------------------------------------------------------------
def range_page(
    request: Request, session: Session, range_id: int, status: int = 200, **extra: Any
) -> Response:
    api = _api(request, session)
    rng = api.range(range_id)
    params = request.query_params
    offset = extra.pop("offset", None)
    if offset is None:
        offset = offset_of(rng, params.get("offset"), params.get("at"))
    first, last = page_bounds(rng, offset)
    answer = api.addresses(range_id, first, last, GRID_PAGE)
    cells = grid(rng, offset, answer.items)
    counts = {s.key: 0 for s in STATES}
    for cell in cells:
        counts[cell.state.key] += 1
    next_free = api.next_free(range_id) if params.get("next") else None
    context: dict[str, Any] = {
        "rng": rng, "cells": cells, "states": STATES, "counts": counts,
        "pager": Pager(offset, GRID_PAGE, rng.size), "first": first, "last": last,
        "qs": lambda **changes: query({"offset": offset}, **changes),
        "warnings": answer.warnings, "next_free": next_free, "defined": api.properties(),
        "failed": "", "errors": FormErrors(), "error": "",
        "values": {"start": rng.start, "end": rng.end, "name": rng.name,
                   "description": rng.description} | _property_values(rng),
        "claim_values": {"address": next_free.address if next_free and next_free.address
                         else ""},
        "sweepable": sweepable(rng), "swept": None, "answered": [],
    }  # fmt: skip
    context.update(extra)
    return render(request, "ipam_range.html", session, status, **context)


@router.get("/ranges/{range_id}")
def range_grid(request: Request, session: CurrentSession, range_id: int = RangeId) -> Response:
    return range_page(request, session, range_id)


@router.post("/ranges/{range_id}")
def change_range(request: Request, write: WriteRequest, range_id: int = RangeId) -> Response:
    api = _api(request, write.session)
    current = api.range(range_id)
    defined = api.properties()
    names = ("start", "end", "name", "description", "comment")
    try:
        body: dict[str, Any] = {name: write.get(name) for name in names}
        body["properties"] = property_values(write.form, defined, current.properties)
        api.change_range(range_id, body)
    except (ApiError, FormInputError) as exc:
        return _refused(range_page, request, write, exc, names, defined, range_id, failed="range")
    return redirect(request, f"/ipam/ranges/{range_id}?done=ipam-range-saved")


@router.post("/ranges/{range_id}/delete")
def delete_range(request: Request, write: WriteRequest, range_id: int = RangeId) -> Response:
    try:
        _api(request, write.session).delete_range(range_id, write.comment)
    except ApiError as exc:
        if exc.status >= 500:
            raise
        return range_page(request, write.session, range_id, exc.status, error=in_words(exc))
    return redirect(request, "/ipam?done=ipam-range-deleted")


@router.post("/ranges/{range_id}/claims")
def claim(request: Request, write: WriteRequest, range_id: int = RangeId) -> Response:
    """Claim the address given, or (``next``) the next free one, for ``owner``."""
    api = _api(request, write.session)
    owner = write.get("owner")
    try:
        if write.get("next"):
            found = api.claim_next_free(range_id, owner, write.comment)
            if found.address is None:
                raise ApiError.plain(409, "The range is full: no address is free.", "address")
            address = found.address
        else:
            address = api.claim(range_id, write.get("address"), owner, write.comment).address
    except ApiError as exc:
        errors = refusal(exc, CLAIM_FORM)
        return range_page(
            request,
            write.session,
            range_id,
            exc.status,
            failed="claim",
            errors=errors,
            error=errors.banner,
            claim_values=values(write.form, "address", "owner", "comment"),
        )
    return redirect(request, f"/ipam/ranges/{range_id}/addresses/{address}?done=ipam-claimed")


# --- an address ----------------------------------------------------------------------------
def _mentions(text: str, address: str) -> bool:
    """Whether ``text`` names ``address`` as a whole (10.0.0.1 is not in 10.0.0.12)."""
    return (
        re.search(rf"(?<![0-9A-Fa-f.:]){re.escape(address)}(?![0-9A-Fa-f:]|\.\d)", text) is not None
    )


def address_page(
    request: Request, session: Session, range_id: int, address: str, status: int = 200,
    **extra: Any,
) -> Response:  # fmt: skip
    api = _api(request, session)
    rng = api.range(range_id)
    try:
        value = ipaddress.ip_address(address)
    except ValueError:
        raise ApiError.plain(404, f"{address} is not an address.") from None
    if value.version != rng.family or not rng.first <= int(value) <= rng.last:
        raise ApiError.plain(404, f"{address} is not in the range {rng.start} to {rng.end}.")
    shown = str(value)
    answer = api.addresses(range_id, shown, shown, 1)
    item = answer.items[0] if answer.items else None
    central = console(request).central
    changes = central.history(session.token, filter=f"content~{shown}", sort="-id", limit=100)
    history = [
        c
        for c in changes.items
        if c.object_id == f"{range_id}:{shown}" or _mentions(str((c.before, c.after)), shown)
    ]
    offset = (int(value) - rng.first) // GRID_PAGE * GRID_PAGE
    context: dict[str, Any] = {
        "rng": rng, "address": shown, "item": item, "state": state_of(item),
        "sources": item.sources if item else [], "problems": item.problems if item else [],
        "claimed": any(s.kind == "claim" for s in (item.sources if item else [])),
        "kinds": KINDS, "problem_words": PROBLEMS, "warnings": answer.warnings,
        "history": history, "grid_qs": query({"offset": offset}), "error": "",
        "errors": FormErrors(), "values": {},
    }  # fmt: skip
    context.update(extra)
    return render(request, "ipam_address.html", session, status, **context)


@router.get("/ranges/{range_id}/addresses/{address}")
def address(
    request: Request, session: CurrentSession, range_id: int = RangeId,
    address: str = AddressText,
) -> Response:  # fmt: skip
    return address_page(request, session, range_id, address)


@router.post("/ranges/{range_id}/addresses/{address}/release")
def release(
    request: Request, write: WriteRequest, range_id: int = RangeId, address: str = AddressText
) -> Response:
    try:
        _api(request, write.session).release(range_id, address, write.comment)
    except ApiError as exc:
        if exc.status >= 500:
            raise
        return address_page(request, write.session, range_id, address, exc.status,
                            error=in_words(exc))  # fmt: skip
    return redirect(request, f"/ipam/ranges/{range_id}/addresses/{address}?done=ipam-released")


# --- custom properties ---------------------------------------------------------------------
def properties_page(
    request: Request, session: Session, status: int = 200, **extra: Any
) -> Response:
    context: dict[str, Any] = {
        "defined": _api(request, session).properties(), "kinds": PROPERTY_KINDS,
        "failed": "", "errors": FormErrors(), "values": {"kind": "text"}, "error": "",
    }  # fmt: skip
    context.update(extra)
    return render(request, "ipam_properties.html", session, status, **context)


@router.get("/properties")
def properties(request: Request, session: CurrentSession) -> Response:
    return properties_page(request, session)


def _choices(text: str) -> list[str]:
    return [c.strip() for c in re.split(r"[,\n]", text) if c.strip()]


@router.post("/properties")
def create_property(request: Request, write: WriteRequest) -> Response:
    body: dict[str, Any] = {name: write.get(name) for name in PROPERTY_NAMES}
    body["choices"] = _choices(write.get("choices"))
    try:
        _api(request, write.session).create_property(body)
    except ApiError as exc:
        errors = refusal(exc, PROPERTY_FORM)
        return properties_page(
            request,
            write.session,
            exc.status,
            failed="new",
            errors=errors,
            error=errors.banner,
            values=values(write.form, *PROPERTY_NAMES),
        )
    return redirect(request, "/ipam/properties?done=ipam-property-created")


@router.post("/properties/{name}")
def change_property(request: Request, write: WriteRequest, name: str = PropertyName) -> Response:
    body: dict[str, Any] = {"description": write.get("description"), "comment": write.comment}
    if "choices" in write.form:
        body["choices"] = _choices(write.get("choices"))
    try:
        _api(request, write.session).change_property(name, body)
    except ApiError as exc:
        errors = refusal(exc, PROPERTY_FORM)
        return properties_page(
            request,
            write.session,
            exc.status,
            failed=name,
            errors=errors,
            error=errors.banner,
            values=values(write.form, "choices", "description", "comment"),
        )
    return redirect(request, "/ipam/properties?done=ipam-property-saved")


@router.post("/properties/{name}/delete")
def delete_property(request: Request, write: WriteRequest, name: str = PropertyName) -> Response:
    try:
        _api(request, write.session).delete_property(name, write.comment)
    except ApiError as exc:
        if exc.status >= 500:
            raise
        return properties_page(request, write.session, exc.status, error=in_words(exc))
    return redirect(request, "/ipam/properties?done=ipam-property-deleted")
