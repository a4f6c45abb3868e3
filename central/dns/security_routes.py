"""``/api/v1/dns``: TSIG keys, DNSSEC policies, and the DNSSEC state of zones.

Administrators and DNS administrators write; every role reads, and no read shows a TSIG
secret: a key's secret is in the answer that creates it, and nowhere else.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from central.core.deps import CurrentUser, DbSession, DeleteComment, Principal, Role, require
from central.core.problems import RESPONSES
from central.dns import dnssec, keys
from central.dns.routes import WRITE_RESPONSES
from central.dns.service import get_zone
from services.common.dns.dnssec import DnssecPolicy

router = APIRouter(prefix="/api/v1/dns", responses=RESPONSES, tags=["dns"])

DnsWriter = Annotated[Principal, Depends(require(Role.DNS_ADMIN))]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
PolicyName = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]


def _config(request: Request) -> Any:
    return request.app.state.config


# --- TSIG keys -------------------------------------------------------------------------------
@router.get("/tsig-keys")
def list_tsig_keys(
    db: DbSession,
    _user: CurrentUser,
    server_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> keys.TsigKeyPage:
    """TSIG keys (of one server with ``server_id``): names, algorithms, the zones using them."""
    return keys.list_keys(db, server_id)


@router.post("/tsig-keys", status_code=201, responses=WRITE_RESPONSES)
def create_tsig_key(
    request: Request, db: DbSession, user: DnsWriter, body: keys.TsigKeyRequest
) -> keys.TsigKeyCreated:
    """A new key with a generated secret, which this answer shows once and no read again."""
    return keys.create_key(db, _config(request), user, body)


@router.get("/tsig-keys/{key_id}")
def get_tsig_key(db: DbSession, _user: CurrentUser, key_id: Id) -> keys.TsigKeyView:
    return keys.view(db, keys.get_key(db, key_id))


@router.delete("/tsig-keys/{key_id}", status_code=204, responses=WRITE_RESPONSES)
def delete_tsig_key(
    request: Request, db: DbSession, user: DnsWriter, key_id: Id, comment: DeleteComment
) -> Response:
    """Delete a key; refused (409) while a zone names it, naming the zones."""
    keys.delete_key(db, _config(request), user, key_id, comment)
    return Response(status_code=204)


# --- DNSSEC policies -------------------------------------------------------------------------
@router.get("/servers/{server_id}/dnssec-policies")
def list_dnssec_policies(
    request: Request, db: DbSession, _user: CurrentUser, server_id: Id
) -> dnssec.PolicyList:
    """BIND's own policies and those defined on the server (read from its dns-agent)."""
    return dnssec.list_policies(db, _config(request), server_id)


@router.put("/servers/{server_id}/dnssec-policies/{name}", responses=WRITE_RESPONSES)
def put_dnssec_policy(
    request: Request,
    db: DbSession,
    user: DnsWriter,
    server_id: Id,
    name: PolicyName,
    body: dnssec.PolicyRequest,
) -> DnssecPolicy:
    """Define or change a policy; named re-plans the keys of the zones it signs."""
    return dnssec.put_policy(db, _config(request), user, server_id, name, body)


@router.delete(
    "/servers/{server_id}/dnssec-policies/{name}", status_code=204, responses=WRITE_RESPONSES
)
def delete_dnssec_policy(
    request: Request,
    db: DbSession,
    user: DnsWriter,
    server_id: Id,
    name: PolicyName,
    comment: DeleteComment,
) -> Response:
    """Delete a policy; refused (409) while it signs a zone, naming the zones."""
    dnssec.delete_policy(db, _config(request), user, server_id, name, comment)
    return Response(status_code=204)


# --- the DNSSEC state of a zone ----------------------------------------------------------------
@router.get("/zones/{zone_id}/dnssec")
def zone_dnssec(
    request: Request, db: DbSession, _user: CurrentUser, zone_id: Id
) -> dnssec.ZoneDnssecView:
    """The zone's policy, keys and their states, DNSKEY and DS records, as named has them."""
    return dnssec.zone_dnssec(db, _config(request), get_zone(db, zone_id))


@router.post("/zones/{zone_id}/dnssec/rollover", responses=WRITE_RESPONSES)
def dnssec_rollover(
    request: Request, db: DbSession, user: DnsWriter, zone_id: Id, body: dnssec.RolloverRequest
) -> dnssec.ZoneDnssecView:
    """Roll one key of a signed zone now (named then follows the policy's timings)."""
    return dnssec.rollover(db, _config(request), user, get_zone(db, zone_id), body)


@router.post("/zones/{zone_id}/dnssec/checkds", responses=WRITE_RESPONSES)
def dnssec_checkds(
    request: Request, db: DbSession, user: DnsWriter, zone_id: Id, body: dnssec.DsChangeRequest
) -> dnssec.ZoneDnssecView:
    """Tell named that the parent publishes (or withdrew) the zone's DS records: a KSK rollover
    and unsigning wait for it (``rndc dnssec -checkds``)."""
    return dnssec.checkds(db, _config(request), user, get_zone(db, zone_id), body)
