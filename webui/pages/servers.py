"""The servers Central manages (its registry): state, version, certificate; sync on demand."""

from __future__ import annotations

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from webui.central import ApiError
from webui.web import CurrentSession, WriteRequest, console, redirect, render

router = APIRouter(prefix="/servers")

ServerId = Path(ge=1, le=2**31 - 1)
#: What "sync now" asks of Central for a server of each kind.
SYNC = {"dns": "/dns/servers/{id}/sync", "dhcp": "/dhcp/servers/{id}/sync"}


@router.get("")
def servers(request: Request, session: CurrentSession) -> Response:
    items = console(request).central.get("/servers", session.token, limit=1000)["items"]
    return render(request, "servers.html", session, servers=items, sync=SYNC, error="")


@router.post("/{server_id}/sync")
def sync(request: Request, write: WriteRequest, server_id: int = ServerId) -> Response:
    central = console(request).central
    kind = write.get("kind")
    if kind not in SYNC:
        raise ApiError(422, "Only DNS and DHCP servers are synced.", "kind")
    try:
        central.post(SYNC[kind].format(id=server_id), write.session.token)
    except ApiError as exc:
        items = central.get("/servers", write.session.token, limit=1000)["items"]
        return render(
            request, "servers.html", write.session, exc.status,
            servers=items, sync=SYNC, error=exc.detail,
        )  # fmt: skip
    return redirect(request, "/servers?done=synced")
