"""Leases and utilisation through Kea's lease_cmds and stat_cmds hooks.

Paging uses ``lease4-get-page`` / ``lease6-get-page`` (the control channel times out after
10 s, so never ``lease4-get-all`` on a big server); searches use the indexed ``lease4-get*``
commands (Kea manual 16.12, "lease_cmds"). Utilisation comes from ``stat-lease4-get`` /
``stat-lease6-get`` (Kea manual 16.17, "stat_cmds").

Searches that no index of Kea answers (an address prefix or network, part of a hardware
address, a hostname pattern) page through the leases in address order: a network or an
address prefix pages only through its own range, the others through every lease, and all of
them stop at ``limit`` leases found. Kea 2.2 keeps statistics per subnet only: a pool's are
counted from the leases in its range the same way. Adding and changing leases use
``lease4-add`` / ``lease4-update`` and ``lease6-add`` / ``lease6-update``.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Callable, Iterator
from typing import Any

from services.common.dhcp.contract import (
    Lease,
    LeasePage,
    PoolUsage,
    Scope,
    ScopeUsage,
    normal_hex,
)
from services.common.dhcp.lease_input import LeaseInput
from services.common.dhcp.options import Family
from services.common.errors import (
    ConflictError,
    FieldProblem,
    NotFoundError,
    ValidationError,
)
from services.dhcp.kea_client import KeaClient, KeaError, Result

Json = dict[str, Any]
MAX_PAGE = 1000
#: Leases asked of Kea per page when a search or a count pages through them.
SCAN_PAGE = 1000
_ADDRESS_TEXT = re.compile(r"^[0-9A-Fa-f.:]+$")
_HEX_TEXT = re.compile(r"^[0-9A-Fa-f:-]+$")


def _hostname(value: Any) -> str | None:
    """A hostname as people write it: Kea keeps a client's FQDN with its trailing dot."""
    if not value:
        return None
    text = str(value)
    return text[:-1] if text.endswith(".") and len(text) > 1 else text


def _lease(entry: Json) -> Lease:
    lifetime = entry.get("valid-lft")
    cltt = entry.get("cltt")
    kind = entry.get("type")
    prefix_len = entry.get("prefix-len") if kind == "IA_PD" else None
    return Lease(
        address=entry["ip-address"],
        subnet_id=int(entry.get("subnet-id", 0)),
        hw_address=entry.get("hw-address") or None,
        client_id=entry.get("client-id") or None,
        duid=entry.get("duid") or None,
        hostname=_hostname(entry.get("hostname")),
        valid_lifetime=lifetime,
        expires=cltt + lifetime if isinstance(cltt, int) and isinstance(lifetime, int) else None,
        state=entry.get("state"),
        type=kind,
        prefix_len=prefix_len,
        prefix=f"{entry['ip-address']}/{prefix_len}" if prefix_len is not None else None,
        iaid=entry.get("iaid"),
        preferred_lifetime=entry.get("preferred-lft"),
    )


class LeaseBook:
    """Lease queries, changes and utilisation on one appliance's Kea daemons."""

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

    def _entries(self, family: Family, after: int | None = None) -> Iterator[Json]:
        """Kea's leases in address order, from the first address above ``after``."""
        command = "lease4-get-page" if family == "v4" else "lease6-get-page"
        start: str = "start" if after is None else str(ipaddress.ip_address(after))
        while True:
            answer = self.kea.command(command, family, {"from": start, "limit": SCAN_PAGE})
            entries = answer.arguments.get("leases", []) if answer.result == Result.OK else []
            yield from entries
            if len(entries) < SCAN_PAGE:
                return
            start = entries[-1]["ip-address"]

    def _scan(
        self,
        family: Family,
        keep: Callable[[Json], bool],
        limit: int,
        span: tuple[int, int] | None = None,
    ) -> list[Lease]:
        """The first ``limit`` leases that ``keep`` takes, within ``span`` (first, last
        address as integers) if given."""
        found: list[Lease] = []
        after = None if span is None or span[0] == 0 else span[0] - 1
        for entry in self._entries(family, after):
            if span is not None and int(ipaddress.ip_address(entry["ip-address"])) > span[1]:
                break
            if keep(entry):
                found.append(_lease(entry))
                if len(found) >= limit:
                    break
        return found

    def search(
        self,
        family: Family,
        *,
        address: str | None = None,
        hw_address: str | None = None,
        client_id: str | None = None,
        duid: str | None = None,
        hostname: str | None = None,
        limit: int = MAX_PAGE,
    ) -> list[Lease]:
        """Leases by exactly one term: ``address`` an address, a network (``198.51.100.0/25``)
        or the start of addresses (``198.51.100.``); ``hw_address`` whole or its first
        octets; ``hostname`` exact (with or without the trailing dot) or a pattern with ``*``
        (``printer*``, ``*lab*``), either without regard to case; ``client_id`` and ``duid``
        exact."""
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
        if not 1 <= limit <= MAX_PAGE:
            raise ValidationError(f"limit must be 1 to {MAX_PAGE}", field="limit")
        (kind, value), = given.items()  # fmt: skip
        if kind == "address":
            return self._by_address(family, value, limit)
        if kind == "hw_address":
            return self._by_hw_address(family, value, limit)
        if kind == "hostname":
            return self._by_hostname(family, value, limit)
        if kind == "client_id" and family == "v4":
            command, arguments = "lease4-get-by-client-id", {"client-id": normal_hex(value)}
        elif kind == "duid" and family == "v6":
            command, arguments = "lease6-get-by-duid", {"duid": normal_hex(value)}
        else:
            raise ValidationError(f"{kind} does not identify {family} leases", field=kind)
        answer = self.kea.command(command, family, arguments)
        return [_lease(e) for e in answer.arguments.get("leases", [])][:limit]

    def _by_address(self, family: Family, value: str, limit: int) -> list[Lease]:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            pass
        else:
            _address(family, value, "address")
            entry = self._get(family, value)
            return [] if entry is None else [_lease(entry)]
        if "/" in value:
            try:
                network = ipaddress.ip_network(value, strict=False)
            except ValueError as exc:
                raise ValidationError(
                    f"{value!r} is not an address, a network or the start of addresses",
                    field="address",
                ) from exc
            if (network.version == 4) != (family == "v4"):
                raise ValidationError(f"{value} is not an {family} network", field="address")
            whole = (int(network.network_address), int(network.broadcast_address))
            return self._scan(family, lambda e: True, limit, whole)
        if not _ADDRESS_TEXT.match(value) or (family == "v4" and ":" in value):
            raise ValidationError(
                f"{value!r} is not an address, a network or the start of {family} addresses",
                field="address",
            )
        text = value.lower()
        span = _v4_span(text) if family == "v4" else None
        return self._scan(family, lambda e: str(e["ip-address"]).startswith(text), limit, span)

    def _by_hw_address(self, family: Family, value: str, limit: int) -> list[Lease]:
        if not _HEX_TEXT.match(value):
            raise ValidationError(f"{value!r} is not a hardware address", field="hw_address")
        wanted = normal_hex(value)
        if family == "v4" and len(wanted) == 17:  # a whole Ethernet address: Kea's index
            answer = self.kea.command("lease4-get-by-hw-address", family, {"hw-address": wanted})
            return [_lease(e) for e in answer.arguments.get("leases", [])][:limit]
        return self._scan(family, lambda e: str(e.get("hw-address") or "").startswith(wanted),
                          limit)  # fmt: skip

    def _by_hostname(self, family: Family, value: str, limit: int) -> list[Lease]:
        name = _hostname(value.strip()) or ""
        if not name:
            raise ValidationError("an empty hostname", field="hostname")
        if "*" not in name:
            # Kea's hostname index is exact: the name as given, and as a client's FQDN
            command = "lease4-get-by-hostname" if family == "v4" else "lease6-get-by-hostname"
            found: dict[str, Lease] = {}
            for spelled in dict.fromkeys((name, name + ".", name.lower(), name.lower() + ".")):
                answer = self.kea.command(command, family, {"hostname": spelled})
                for entry in answer.arguments.get("leases", []):
                    found.setdefault(str(entry["ip-address"]), _lease(entry))
            return list(found.values())[:limit]
        pattern = name.lower()
        return self._scan(
            family,
            lambda e: fnmatch.fnmatchcase((_hostname(e.get("hostname")) or "").lower(), pattern),
            limit,
        )

    def _get(self, family: Family, address: str) -> Json | None:
        """Kea's lease of ``address`` (for DHCPv6 an address, else a delegated prefix)."""
        if family == "v4":
            answer = self.kea.command("lease4-get", family, {"ip-address": address})
            return None if answer.result == Result.EMPTY else answer.arguments
        for kind in ("IA_NA", "IA_PD"):
            answer = self.kea.command("lease6-get", family, {"ip-address": address, "type": kind})
            if answer.result != Result.EMPTY:
                return answer.arguments
        return None

    def delete(self, family: Family, address: str) -> None:
        _address(family, address, "address")
        entry = self._get(family, address)
        if entry is None:
            raise NotFoundError(f"There is no lease for {address}.", field="address")
        command = "lease4-del" if family == "v4" else "lease6-del"
        arguments: Json = {"ip-address": address}
        if family == "v6":
            arguments["type"] = entry.get("type", "IA_NA")
        answer = self.kea.command(command, family, arguments)
        if answer.result == Result.EMPTY:
            raise NotFoundError(f"There is no lease for {address}.", field="address")

    # --- adding and changing ---------------------------------------------------------
    def add(
        self, family: Family, lease: LeaseInput, scopes: Callable[[], list[Scope]] | None = None
    ) -> Lease:
        """A new lease (``lease4-add`` / ``lease6-add``); 409 when the address has one.
        Kea finds an address's scope itself, not a delegated prefix's: ``scopes`` gives
        the scope whose prefix pools hold it."""
        address = lease.address
        if address is None:
            raise ValidationError("the address is missing", field="address")
        _check_input(family, lease, adding=True)
        if lease.type == "IA_PD" and lease.subnet_id is None and scopes is not None:
            lease = lease.model_copy(update={"subnet_id": _delegating(scopes(), lease)})
        if self._get(family, address) is not None:
            raise ConflictError(f"{address} already has a lease.", field="address")
        self._send(family, "add", _to_kea(family, lease))
        return self._read(family, address)

    def update(self, family: Family, address: str, changes: LeaseInput) -> Lease:
        """Change the fields given of the lease of ``address`` (``lease4-update`` /
        ``lease6-update``); the others keep their values."""
        _address(family, address, "address")
        if changes.address is not None and changes.address != address:
            raise ValidationError("the address in the body differs from the path",
                                  field="address")  # fmt: skip
        current = self._get(family, address)
        if current is None:
            raise NotFoundError(f"There is no lease for {address}.", field="address")
        given = changes.model_dump(exclude_unset=True, exclude_none=True)
        merged = _from_kea(current).model_copy(update={**given, "address": address})
        _check_input(family, merged, adding=False)
        arguments = _to_kea(family, merged)
        if "hostname" not in given and current.get("hostname"):
            arguments["hostname"] = current["hostname"]  # as Kea had it, trailing dot and all
        self._send(family, "update", arguments)
        return self._read(family, address)

    def carry_over(self, family: Family, lease: LeaseInput, expires: int) -> str | None:
        """Add a lease brought from another server as it is, with when it ends: no check but
        Kea's own and no look-up first (an import adds thousands). Kea's reason when it
        refuses the lease, else None."""
        try:
            self.kea.command(_command(family, "add"), family, _to_kea(family, lease, expires),
                             allow=(Result.OK,))  # fmt: skip
        except KeaError as exc:
            return exc.message
        return None

    def _read(self, family: Family, address: str) -> Lease:
        entry = self._get(family, address)
        if entry is None:
            raise NotFoundError(f"There is no lease for {address}.", field="address")
        return _lease(entry)

    def _send(self, family: Family, verb: str, arguments: Json) -> None:
        answer = self.kea.command(_command(family, verb), family, arguments,
                                  allow=(Result.OK, Result.EMPTY, Result.ERROR))  # fmt: skip
        if answer.result == Result.OK:
            return
        text = answer.text.strip().rstrip(".")
        lowered = text.lower()
        if "already exists" in lowered:
            raise ConflictError(f"{arguments['ip-address']} already has a lease.",
                                field="address")  # fmt: skip
        field = "address"
        for key, name in (("subnet", "subnet_id"), ("hw-address", "hw_address"),
                          ("duid", "duid"), ("iaid", "iaid"), ("prefix", "prefix_len"),
                          ("client-id", "client_id"), ("hostname", "hostname")):  # fmt: skip
            if key in lowered:
                field = name
                break
        raise ValidationError(f"Kea refused the lease: {text}", field=field)

    # --- utilisation -------------------------------------------------------------------
    def usage(
        self, family: Family, subnets: dict[int, str], pools: dict[int, Scope] | None = None
    ) -> list[ScopeUsage]:
        """Utilisation per scope; with ``pools`` (scopes by id), per pool too."""
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
            scope = (pools or {}).get(sid)
            out.append(
                ScopeUsage(
                    subnet_id=sid,
                    subnet=subnets.get(sid),
                    total=total,
                    assigned=assigned,
                    declined=declined,
                    utilisation=_ratio(assigned, total),
                    pd_total=int(values["total-pds"]) if "total-pds" in values else None,
                    pd_assigned=int(values["assigned-pds"]) if "assigned-pds" in values else None,
                    pools=self.pool_usage(family, scope) if scope is not None else None,
                )
            )
        return out

    def pool_usage(self, family: Family, scope: Scope) -> list[PoolUsage]:
        """Each pool's and prefix pool's leases, counted in its range (Kea 2.2 has no pool
        statistics)."""
        out: list[PoolUsage] = []
        for index, pool in enumerate(scope.pools):
            first, last = int(pool.start), int(pool.end)
            assigned, declined = self._count(family, (first, last), prefixes=False)
            total = last - first + 1
            out.append(PoolUsage(kind="pool", index=index, pool=f"{pool.start} - {pool.end}",
                                 total=total, assigned=assigned, declined=declined,
                                 utilisation=_ratio(assigned, total)))  # fmt: skip
        for index, prefix_pool in enumerate(scope.pd_pools):
            net = prefix_pool.prefix
            span = (int(net.network_address), int(net.broadcast_address))
            assigned, declined = self._count(family, span, prefixes=True)
            total = 2 ** (prefix_pool.delegated_len - net.prefixlen)
            out.append(PoolUsage(kind="pd-pool", index=index, pool=str(net),
                                 delegated_len=prefix_pool.delegated_len, total=total,
                                 assigned=assigned, declined=declined,
                                 utilisation=_ratio(assigned, total)))  # fmt: skip
        return out

    def _count(self, family: Family, span: tuple[int, int], *, prefixes: bool) -> tuple[int, int]:
        assigned = declined = 0
        after = None if span[0] == 0 else span[0] - 1
        for entry in self._entries(family, after):
            if int(ipaddress.ip_address(entry["ip-address"])) > span[1]:
                break
            if (entry.get("type") == "IA_PD") != prefixes:
                continue
            state = entry.get("state", 0)
            assigned += state == 0
            declined += state == 1
        return assigned, declined


def _delegating(scopes: list[Scope], lease: LeaseInput) -> int:
    """The id of the scope with a prefix pool that holds the delegated prefix of ``lease``."""
    prefix = ipaddress.IPv6Network(f"{lease.address}/{lease.prefix_len}", strict=False)
    for scope in scopes:
        if scope.id is not None and any(prefix.subnet_of(p.prefix) for p in scope.pd_pools):
            return scope.id
    raise ValidationError(f"no scope delegates {prefix}: name its subnet_id", field="subnet_id")


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 6) if whole else 0.0


def _v4_span(text: str) -> tuple[int, int] | None:
    """The range of addresses that begin with ``text`` (``198.51.100.`` or ``198.51.10``)
    lies in the network of its whole octets (``198.51.100.0/24``, ``198.51.0.0/16``)."""
    parts = text.split(".")
    whole = parts[:-1]
    if not whole or len(whole) > 4 or any(not p.isdigit() or int(p) > 255 for p in whole):
        return None
    low = int(ipaddress.IPv4Address(".".join([*whole, *["0"] * (4 - len(whole))])))
    return low, low + 2 ** (8 * (4 - len(whole))) - 1


def _from_kea(entry: Json) -> LeaseInput:
    """A lease as Kea gave it, in the terms of a change."""
    kind = entry.get("type")
    return LeaseInput(
        address=entry["ip-address"],
        subnet_id=entry.get("subnet-id") or None,
        hw_address=entry.get("hw-address") or None,
        client_id=entry.get("client-id") or None,
        duid=entry.get("duid") or None,
        iaid=entry.get("iaid"),
        type=kind if kind in ("IA_NA", "IA_PD") else None,
        prefix_len=entry.get("prefix-len") if kind == "IA_PD" else None,
        hostname=_hostname(entry.get("hostname")),
        valid_lifetime=entry.get("valid-lft") or None,
        preferred_lifetime=entry.get("preferred-lft") or None,
        state=entry.get("state") if entry.get("state") in (0, 1) else None,
    )


def _check_input(family: Family, lease: LeaseInput, *, adding: bool) -> None:
    problems: list[FieldProblem] = []
    address = lease.address or ""
    try:
        _address(family, address, "address")
    except ValidationError as exc:
        problems += exc.problems
    if family == "v4":
        for name in ("duid", "iaid", "type", "prefix_len", "preferred_lifetime"):
            if getattr(lease, name) is not None:
                problems.append(FieldProblem(name, "is a DHCPv6 lease field"))
        if adding and not lease.hw_address:
            problems.append(FieldProblem("hw_address", "a DHCPv4 lease needs a hardware address"))
    else:
        if lease.client_id is not None:
            problems.append(FieldProblem("client_id", "is a DHCPv4 lease field"))
        if not lease.duid:
            problems.append(FieldProblem("duid", "a DHCPv6 lease needs a DUID"))
        if lease.iaid is None:
            problems.append(FieldProblem("iaid", "a DHCPv6 lease needs an IAID"))
        if lease.type == "IA_PD" and lease.prefix_len is None:
            problems.append(FieldProblem("prefix_len", "a delegated prefix needs its length"))
        if lease.type != "IA_PD" and lease.prefix_len is not None:
            problems.append(FieldProblem("prefix_len", "only a delegated prefix (IA_PD) has one"))
    for name in ("hw_address", "client_id", "duid"):
        value = getattr(lease, name)
        if value is not None and not _HEX_TEXT.match(value):
            problems.append(FieldProblem(name, f"{value!r} is not hexadecimal octets"))
    if problems:
        first = problems[0]
        raise ValidationError(f"{first.field}: {first.message}", problems=problems)


def _command(family: Family, verb: str) -> str:
    return f"lease{family[-1]}-{verb}"


def _to_kea(family: Family, lease: LeaseInput, expires: int | None = None) -> Json:
    """Kea's arguments of ``lease4-add`` / ``lease6-add`` (and ``-update``); ``expires``
    (seconds since the epoch) sets when it ends, else Kea counts from now."""
    out: Json = {"ip-address": lease.address}
    if lease.subnet_id is not None:
        out["subnet-id"] = lease.subnet_id
    if lease.hw_address:
        out["hw-address"] = normal_hex(lease.hw_address)
    if lease.client_id:
        out["client-id"] = normal_hex(lease.client_id)
    if lease.duid:
        out["duid"] = normal_hex(lease.duid)
    if lease.iaid is not None:
        out["iaid"] = lease.iaid
    if family == "v6":
        out["type"] = lease.type or "IA_NA"
    if lease.prefix_len is not None:
        out["prefix-len"] = lease.prefix_len
    if lease.hostname:
        out["hostname"] = lease.hostname
    if lease.valid_lifetime is not None:
        out["valid-lft"] = lease.valid_lifetime
    if lease.preferred_lifetime is not None:
        out["preferred-lft"] = lease.preferred_lifetime
    if lease.state is not None:
        out["state"] = lease.state
    if expires is not None:
        out["expire"] = expires
    return out


def _address(family: Family, value: str, field: str) -> None:
    try:
        parsed = ipaddress.ip_address(value)
    except ValueError as exc:
        raise ValidationError(f"{value!r} is not an IP address", field=field) from exc
    if (parsed.version == 4) != (family == "v4"):
        raise ValidationError(f"{value} is not an {family} address", field=field)
