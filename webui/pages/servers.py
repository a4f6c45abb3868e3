"""The servers Central manages (its registry): state, version, certificate; sync on demand."""

from __future__ import annotations

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from webui.central import ApiError
from webui.forms import in_words
from webui.web import CurrentSession, WriteRequest, console, redirect, render

router = APIRouter(prefix="/servers")

ServerId = Path(ge=1, le=2**31 - 1)
#: The kinds of server Central syncs on demand (``/{kind}/servers/{id}/sync``).
SYNC = ("dns", "dhcp")


@router.get("")
def servers(request: Request, session: CurrentSession) -> Response:
    items = console(request).central.servers(session.token)
    return render(request, "servers.html", session, servers=items, sync=SYNC, error="")


@router.post("/{server_id}/sync")
def sync(request: Request, write: WriteRequest, server_id: int = ServerId) -> Response:
    central = console(request).central
    kind = write.get("kind")
    if kind not in SYNC:
        raise ApiError.plain(422, "Only DNS and DHCP servers are synced.", "kind")
    try:
        central.sync(write.session.token, kind, server_id)
    except ApiError as exc:
        items = central.servers(write.session.token)
        return render(
            request, "servers.html", write.session, exc.status,
            servers=items, sync=SYNC, error=in_words(exc),
        )  # fmt: skip
    return redirect(request, "/servers?done=synced")
