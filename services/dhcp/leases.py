"""Leases and utilisation through Kea's lease_cmds and stat_cmds hooks.

Paging uses ``lease4-get-page`` / ``lease6-get-page`` (the control channel times out after
10 s, so never ``lease4-get-all`` on a big server); searches use the indexed ``lease4-get*``
commands (Kea manual 16.12, "lease_cmds"). Utilisation comes from ``stat-lease4-get`` /
``stat-lease6-get`` (Kea manual 16.17, "stat_cmds").
"""

from __future__ import annotations

import ipaddress
from typing import Any

from services.common.dhcp.contract import Lease, LeasePage, ScopeUsage, normal_hex
from services.common.dhcp.options import Family
from services.common.errors import NotFoundError, ValidationError
from services.dhcp.kea_client import KeaClient, Result

Json = dict[str, Any]
MAX_PAGE = 1000


def _lease(entry: Json) -> Lease:
    lifetime = entry.get("valid-lft")
    cltt = entry.get("cltt")
    return Lease(
        address=entry["ip-address"],
        subnet_id=int(entry.get("subnet-id", 0)),
        hw_address=entry.get("hw-address") or None,
        client_id=entry.get("client-id") or None,
        duid=entry.get("duid") or None,
        hostname=entry.get("hostname") or None,
        valid_lifetime=lifetime,
        expires=cltt + lifetime if isinstance(cltt, int) and isinstance(lifetime, int) else None,
        state=entry.get("state"),
    )


class LeaseBook:
    """Lease queries and deletion on one appliance's Kea daemons."""

    def __init__(self, kea: KeaClient) -> None:
        self.kea = kea

    def page(self, family: Family, start: str | None = None, limit: int = 100) -> LeasePage:
        if not 1 <= limit <= MAX_PAGE:
            raise ValidationError(f"limit must be 1 to {MAX_PAGE}", field="limit")
        if start is not None:
            _address(family, start, "from")
        command = "lease4-get-page" if family == "v4" else "lease6-get-page"
        answer = self.kea.command(command, family, {"from": start or "start", "limit": limit})
        if answer.result == Result.EMPTY:
            return LeasePage(leases=[], next=None)
        leases = [_lease(e) for e in answer.arguments.get("leases", [])]
        more = len(leases) == limit
        return LeasePage(leases=leases, next=leases[-1].address if more and leases else None)

    def search(
        self,
        family: Family,
        *,
        address: str | None = None,
        hw_address: str | None = None,
        client_id: str | None = None,
        duid: str | None = None,
        hostname: str | None = None,
    ) -> list[Lease]:
        given = {
            k: v
            for k, v in {
                "address": address,
                "hw_address": hw_address,
                "client_id": client_id,
                "duid": duid,
                "hostname": hostname,
            }.items()
            if v
        }
        if len(given) != 1:
            raise ValidationError(
                "search by exactly one of address, hw_address, client_id, duid, hostname",
                field="address",
            )
        (kind, value), = given.items()  # fmt: skip
        v = "4" if family == "v4" else "6"
        if kind == "address":
            _address(family, value, "address")
            answer = self.kea.command(f"lease{v}-get", family, {"ip-address": value})
            return [] if answer.result == Result.EMPTY else [_lease(answer.arguments)]
        if kind == "hostname":
            command, arguments = f"lease{v}-get-by-hostname", {"hostname": value}
        elif kind == "hw_address" and family == "v4":
            command, arguments = "lease4-get-by-hw-address", {"hw-address": normal_hex(value)}
        elif kind == "client_id" and family == "v4":
            command, arguments = "lease4-get-by-client-id", {"client-id": normal_hex(value)}
        elif kind == "duid" and family == "v6":
            command, arguments = "lease6-get-by-duid", {"duid": normal_hex(value)}
        else:
            raise ValidationError(f"{kind} does not identify {family} leases", field=kind)
        answer = self.kea.command(command, family, arguments)
        return [_lease(e) for e in answer.arguments.get("leases", [])]

    def delete(self, family: Family, address: str) -> None:
        _address(family, address, "address")
        command = "lease4-del" if family == "v4" else "lease6-del"
        answer = self.kea.command(command, family, {"ip-address": address})
        if answer.result == Result.EMPTY:
            raise NotFoundError(f"There is no lease for {address}.", field="address")

    def usage(self, family: Family, subnets: dict[int, str]) -> list[ScopeUsage]:
        command = "stat-lease4-get" if family == "v4" else "stat-lease6-get"
        answer = self.kea.command(command, family, {})
        result_set = answer.arguments.get("result-set") or {}
        columns: list[str] = result_set.get("columns", [])
        out: list[ScopeUsage] = []
        for row in result_set.get("rows", []):
            values = dict(zip(columns, row, strict=False))
            total = int(values.get("total-addresses", values.get("total-nas", 0)))
            assigned = int(values.get("assigned-addresses", values.get("assigned-nas", 0)))
            declined = int(values.get("declined-addresses", values.get("declined-nas", 0)))
            sid = int(values["subnet-id"])
            out.append(
                ScopeUsage(
                    subnet_id=sid,
                    subnet=subnets.get(sid),
                    total=total,
                    assigned=assigned,
                    declined=declined,
                    utilisation=round(assigned / total, 6) if total else 0.0,
                )
            )
        return out


def _address(family: Family, value: str, field: str) -> None:
    try:
        parsed = ipaddress.ip_address(value)
    except ValueError as exc:
        raise ValidationError(f"{value!r} is not an IP address", field=field) from exc
    if (parsed.version == 4) != (family == "v4"):
        raise ValidationError(f"{value} is not an {family} address", field=field)
