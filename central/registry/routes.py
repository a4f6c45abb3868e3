"""``/api/v1/servers``, ``/api/v1/enrol``, ``/api/v1/certificates/revoked`` and
``/api/v1/certificates/central-client``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from central.core.deps import Admin, CurrentUser, DbSession, DeleteComment
from central.core.listing import ListQuery, listing, page
from central.core.problems import RESPONSES
from central.events.store import read_events
from central.registry import service
from central.registry.agent_client import client_certificate
from central.registry.models import RevokedCertificate, Server
from central.registry.schemas import (
    CentralClientCertificate,
    Enrolled,
    EnrolmentTokenIssued,
    RevokedPage,
    RevokedPublic,
    ServerPage,
    ServerPublic,
    ServiceEventPage,
)
from central.registry.service import (
    CertificateRevoke,
    EnrolRequest,
    RevokeRequest,
    ServerCreate,
    ServerUpdate,
    TokenRequest,
)
from services.common.errors import NotFoundError
from services.common.pki import fingerprint, load_cert

router = APIRouter(prefix="/api/v1", responses=RESPONSES)

ServerId = Annotated[int, Path(ge=1, le=2**31 - 1)]
FIELDS = {
    "id": Server.id,
    "kind": Server.kind,
    "name": Server.name,
    "address": Server.address,
    "port": Server.port,
    "local": Server.local,
    "state": Server.state,
    "version": Server.version,
    "last_seen": Server.last_seen,
    "created_at": Server.created_at,
}
REVOKED_FIELDS = {
    "serial": RevokedCertificate.serial,
    "subject": RevokedCertificate.subject,
    "revoked_at": RevokedCertificate.revoked_at,
}


# The two reads below run on the event loop: a server list or one server is one or two
# indexed queries, and a hop to the thread pool and back (once for the route, once for its
# answer's model) cost more than the query itself (py-spy under wrk: about a quarter of
# Central's CPU). ``check=true`` calls agents over the network: that part goes to a thread.
@router.get("/servers", tags=["servers"])
async def list_servers(
    request: Request,
    db: DbSession,
    _user: CurrentUser,
    params: ListQuery,
    check: Annotated[
        bool, Query(description="call the agents of this page now (pinned mTLS) first")
    ] = False,
) -> ServerPage:
    """Managed DNS servers, DHCP servers, caching DNS servers and appliances; filter e.g.
    ``kind:dns`` or ``kind:caching``. With
    ``check=true`` the agents of the page are called first and their states refreshed."""
    rows, total = page(db, select(Server), params, FIELDS, ("name", "address"))
    if check:
        for server in rows:
            if server.fingerprint and server.state != "revoked":
                await run_in_threadpool(service.check, db, request.app.state.config, server)
    return ServerPage.model_validate(
        listing([service.server_public(s) for s in rows], total, params)
    )


@router.get("/servers/{server_id}", tags=["servers"])
async def get_server(
    request: Request,
    db: DbSession,
    _user: CurrentUser,
    server_id: ServerId,
    check: Annotated[bool, Query(description="call the agent now (pinned mTLS)")] = False,
) -> ServerPublic:
    """One server; with ``check=true`` its agent is called first and its state refreshed."""
    server = service.get_server(db, server_id)
    if check:
        await run_in_threadpool(service.check, db, request.app.state.config, server)
    return ServerPublic.model_validate(service.server_public(server))


@router.post("/servers", tags=["servers"], status_code=201)
def create_server(db: DbSession, admin: Admin, body: ServerCreate) -> ServerPublic:
    """Register a server; it is managed once its agent has enrolled (see enrolment-token)."""
    return ServerPublic.model_validate(service.create_server(db, admin, body))


@router.patch("/servers/{server_id}", tags=["servers"])
def update_server(
    db: DbSession, admin: Admin, server_id: ServerId, body: ServerUpdate
) -> ServerPublic:
    """Rename or move a server (not an agent of Central's own appliance)."""
    return ServerPublic.model_validate(service.update_server(db, admin, server_id, body))


@router.delete("/servers/{server_id}", tags=["servers"], status_code=204)
def delete_server(
    request: Request, db: DbSession, admin: Admin, server_id: ServerId, comment: DeleteComment
) -> Response:
    """Forget a server; its certificate is revoked."""
    service.delete_server(db, admin, server_id, comment, request.app.state.config)
    return Response(status_code=204)


@router.post("/servers/{server_id}/enrolment-token", tags=["servers"], status_code=201)
def enrolment_token(
    db: DbSession, admin: Admin, server_id: ServerId, body: TokenRequest
) -> EnrolmentTokenIssued:
    """A one-time token for the server's agent (shown once; earlier tokens stop working).

    Put it in ``var/lib/burrow/secrets/enrol-AGENT.token`` on the server, next to the CA
    certificate in ``var/lib/burrow/pki/ca/ca.crt``; the agent enrols at its next start.
    """
    return EnrolmentTokenIssued.model_validate(
        service.issue_enrolment_token(db, admin, server_id, body)
    )


@router.post("/servers/{server_id}/revoke", tags=["servers"])
def revoke_server(
    request: Request, db: DbSession, admin: Admin, server_id: ServerId, body: RevokeRequest
) -> ServerPublic:
    """Revoke the agent's certificate: Central stops calling it and no agent accepts it."""
    config = request.app.state.config
    return ServerPublic.model_validate(service.revoke_server(db, admin, server_id, body, config))


@router.get("/servers/{server_id}/service-events", tags=["servers"])
def server_events(
    request: Request,
    db: DbSession,
    _user: CurrentUser,
    server_id: ServerId,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ServiceEventPage:
    """Crashes and FATAL states of the server's programs (servers of this appliance)."""
    server = service.get_server(db, server_id)
    items: list[dict[str, object]] = []
    if server.local:
        path = request.app.state.config.root.service_events
        programs = service.PROGRAMS.get(server.kind)
        items = [
            e
            for e in read_events(path, limit=100000)
            if programs is None or e.get("program") in programs
        ][:limit]
    return ServiceEventPage.model_validate(
        {"items": items, "total": len(items), "offset": 0, "limit": limit}
    )


@router.post("/enrol", tags=["enrolment"])
def enrol(request: Request, db: DbSession, body: EnrolRequest) -> Enrolled:
    """An agent trades a one-time token and a certificate request for its certificate."""
    return Enrolled.model_validate(service.enrol(db, request.app.state.config, body))


@router.get("/certificates/revoked", tags=["certificates"])
def list_revoked(db: DbSession, _user: CurrentUser, params: ListQuery) -> RevokedPage:
    """Revoked certificates (the CRL every agent checks)."""
    rows, total = page(
        db, select(RevokedCertificate), params, REVOKED_FIELDS, ("serial", "subject"), "serial"
    )
    return RevokedPage.model_validate(
        listing([service.revoked_public(r) for r in rows], total, params)
    )


@router.post("/certificates/revoked", tags=["certificates"], status_code=201)
def revoke_certificate(
    request: Request, db: DbSession, admin: Admin, body: CertificateRevoke
) -> RevokedPublic:
    """Revoke any certificate of the appliance CA by its serial number (hexadecimal)."""
    config = request.app.state.config
    return RevokedPublic.model_validate(service.revoke_certificate(db, admin, body, config))


@router.get("/certificates/central-client", tags=["certificates"])
def central_client_certificate(request: Request) -> CentralClientCertificate:
    """Central's client certificate, public like every certificate: what Central presents to
    its agents and to a replacement's restore receiver (4605). A replacement told to trust
    this Central (``restore_from``) fetches it over a connection pinned to the fingerprint of
    this listener's certificate."""
    path = client_certificate(request.app.state.config.root).cert
    try:
        pem = path.read_text()
    except FileNotFoundError:
        raise NotFoundError("Central has no client certificate yet.", field="certificate") from None
    return CentralClientCertificate(certificate=pem, fingerprint=fingerprint(load_cert(path)))
