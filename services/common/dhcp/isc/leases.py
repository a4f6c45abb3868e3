"""ISC DHCP's lease file (dhcpd.leases(5)) read into leases Kea can take.

The file is written in dhcpd.conf's grammar (``services.common.dhcp.isc.conf``): one ``lease
ADDRESS { ... }`` block per lease, appended at every change, so a later block for the same
address replaces an earlier one. Times are ``W YYYY/MM/DD HH:MM:SS`` in UTC, ``epoch N;`` (the
``db-time-format local`` form) or ``never``.

A lease is carried over when its binding state is ``active`` and it ends after ``now``; every
other block is listed as skipped with its line and the reason. IPv6 blocks (``ia-na``,
``ia-pd``) and failover state are skipped the same way.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from dataclasses import dataclass

from services.common.dhcp.isc.conf import Statement, parse
from services.common.errors import FieldProblem, ValidationError

_HEX_BYTES = re.compile(r"^[0-9A-Fa-f]{1,2}(:[0-9A-Fa-f]{1,2})+$")
_MAC = re.compile(r"^([0-9A-Fa-f]{1,2}:){5}[0-9A-Fa-f]{1,2}$")
#: dhcpd.leases lines that describe the file or the server, not a lease.
_FILE_STATEMENTS = ("authoring-byte-order", "server-duid", "lease-id-format")


@dataclass(frozen=True)
class IscLease:
    """An active lease of the old server, in Kea's terms (lease4-add)."""

    line: int
    address: str
    hw_address: str
    starts: int  # seconds since the epoch
    ends: int
    client_id: str | None = None
    hostname: str | None = None

    @property
    def valid_lifetime(self) -> int:
        return max(self.ends - self.starts, 1)


@dataclass(frozen=True)
class SkippedLease:
    line: int
    address: str
    reason: str


@dataclass
class LeaseFile:
    leases: list[IscLease]
    skipped: list[SkippedLease]


def _time(words: list[str], line: int) -> int | None:
    """``4 2026/12/03 10:00:00`` or ``epoch 1796205600`` as seconds; None for ``never``."""
    if words[:1] == ["never"]:
        return None
    try:
        if words[0] == "epoch":
            return int(words[1])
        stamp = dt.datetime.strptime(f"{words[1]} {words[2]}", "%Y/%m/%d %H:%M:%S")
    except (IndexError, ValueError):
        raise ValidationError(
            f"line {line}: {' '.join(words)!r} is not a time of dhcpd.leases",
            problems=[FieldProblem("leases", f"line {line}: {' '.join(words)!r} is not a "
                                   "time (W YYYY/MM/DD HH:MM:SS, epoch N or never)",
                                   {"line": line})],
        ) from None  # fmt: skip
    return int(stamp.replace(tzinfo=dt.UTC).timestamp())


def _hex(raw: str) -> str:
    """ISC's colon form with one-digit bytes (``1:a:2b``) as Kea's (``01:0a:2b``)."""
    return ":".join(part.rjust(2, "0").lower() for part in raw.split(":"))


def _uid(statement: Statement) -> str | None:
    token = statement.tokens[1] if len(statement.tokens) > 1 else None
    if token is None:
        return None
    if token.kind == "string":
        data = token.value.encode("latin-1", errors="replace")
        return ":".join(f"{b:02x}" for b in data) if len(data) >= 2 else None
    return _hex(token.value) if _HEX_BYTES.match(token.value) else None


def _statements(block: Statement, keywords: tuple[str, ...]) -> dict[str, Statement]:
    """The statements of a lease block that are read, by keyword (``binding`` for the
    binding state)."""
    values: dict[str, Statement] = {}
    for inner in block.block or []:
        if inner.words()[:2] == ["binding", "state"]:
            values["binding"] = inner
        elif inner.keyword in keywords:
            values[inner.keyword] = inner
    return values


def _active_until(values: dict[str, Statement], now: int, never: str) -> int | str:
    """When an active lease ends, or why the lease is not carried over (``never``: it has
    no end)."""
    state = values["binding"].words()[2] if "binding" in values else "free"
    if state != "active":
        return f"binding state {state}: only active leases are carried over"
    ends = _time(values["ends"].words()[1:], values["ends"].line) if "ends" in values else None
    if ends is None:
        return never
    if ends <= now:
        return "the lease has ended"
    return ends


def _one(block: Statement, now: int) -> IscLease | SkippedLease:
    address = block.tokens[1].value if len(block.tokens) > 1 else "?"
    values = _statements(block, ("starts", "ends", "hardware", "uid", "client-hostname"))

    def skip(reason: str) -> SkippedLease:
        return SkippedLease(block.line, address, reason)

    try:
        ipaddress.IPv4Address(address)
    except ValueError:
        return skip(f"{address!r} is not an IPv4 address")
    ends = _active_until(values, now, "the lease never ends: Kea's leases have a lifetime "
                         "(make a reservation)")  # fmt: skip
    if isinstance(ends, str):
        return skip(ends)
    hardware = values["hardware"].words()[1:] if "hardware" in values else []
    if len(hardware) < 2 or hardware[0] != "ethernet" or not _MAC.match(hardware[1]):
        return skip("no ethernet hardware address: Kea needs one for a DHCPv4 lease")
    starts = _time(values["starts"].words()[1:], values["starts"].line) if "starts" in values \
        else None  # fmt: skip
    hostname_stmt = values.get("client-hostname")
    hostname = hostname_stmt.tokens[1].value if hostname_stmt and len(hostname_stmt.tokens) > 1 \
        else None  # fmt: skip
    return IscLease(
        line=block.line,
        address=address,
        hw_address=_hex(hardware[1]),
        starts=starts if starts is not None else now,
        ends=ends,
        client_id=_uid(values["uid"]) if "uid" in values else None,
        hostname=hostname.rstrip(".") or None if hostname else None,
    )


def read_leases(text: str, now: int) -> LeaseFile:
    """The leases of a dhcpd.leases file that are active at ``now`` (seconds since the epoch),
    and every other entry with the reason it is skipped."""
    conf = parse(text, what="leases")
    latest: dict[str, Statement] = {}
    skipped: list[SkippedLease] = []
    for statement in conf.statements:
        keyword = statement.keyword
        if keyword == "lease" and statement.block is not None:
            address = statement.tokens[1].value if len(statement.tokens) > 1 else "?"
            earlier = latest.get(address)
            if earlier is not None:
                skipped.append(
                    SkippedLease(
                        earlier.line,
                        address,
                        f"a later entry of the file (line {statement.line}) replaces this one",
                    )
                )
            latest[address] = statement
        elif keyword in _FILE_STATEMENTS:
            continue
        else:
            what = statement.text()[:60]
            skipped.append(SkippedLease(statement.line, what, f"'{keyword}' entries are not "
                                        "leases Kea's DHCPv4 server takes"))  # fmt: skip
    leases: list[IscLease] = []
    for block in latest.values():
        made = _one(block, now)
        if isinstance(made, IscLease):
            leases.append(made)
        else:
            skipped.append(made)
    skipped.sort(key=lambda s: s.line)
    leases.sort(key=lambda lease: lease.line)
    return LeaseFile(leases, skipped)


# --- DHCPv6 (dhcpd6.leases) ---------------------------------------------------------------
@dataclass(frozen=True)
class IscLease6:
    """An active DHCPv6 lease of the old server, in Kea's terms (lease6-add)."""

    line: int
    address: str  # an address, or a prefix's first address for IA_PD
    prefix_len: int  # 128 for an address
    kind: str  # "IA_NA" or "IA_PD"
    duid: str
    iaid: int
    valid_lifetime: int
    preferred_lifetime: int
    ends: int


@dataclass
class LeaseFile6:
    leases: list[IscLease6]
    skipped: list[SkippedLease]


def _ia_key(token_value: str, little_endian: bool) -> tuple[int, str] | None:
    """The IAID and DUID of an ``ia-na``/``ia-pd`` key (4 bytes of IAID, then the DUID).

    dhcpd writes the IAID in the byte order the file's ``authoring-byte-order`` names
    (dhcpd.leases(5)); Kea takes it as a number.
    """
    data = token_value.encode("latin-1", errors="replace")
    if len(data) < 6:
        return None
    iaid = int.from_bytes(data[:4], "little" if little_endian else "big")
    return iaid, ":".join(f"{b:02x}" for b in data[4:])


def read_leases6(text: str, now: int) -> LeaseFile6:
    """The active IA_NA and IA_PD leases of a dhcpd6.leases file at ``now``; every other
    entry with the reason it is skipped."""
    conf = parse(text, what="leases")
    little_endian = any(
        s.words() == ["authoring-byte-order", "little-endian"] for s in conf.statements
    )
    latest: dict[str, tuple[Statement, Statement, int, str, str]] = {}
    skipped: list[SkippedLease] = []
    for statement in conf.statements:
        keyword = statement.keyword
        if keyword in ("ia-na", "ia-pd") and statement.block is not None:
            key = _ia_key(statement.tokens[1].value, little_endian) if len(statement.tokens) > 1 \
                else None  # fmt: skip
            if key is None:
                skipped.append(SkippedLease(statement.line, keyword, "no IAID and DUID"))
                continue
            iaid, duid = key
            inner_word = "iaaddr" if keyword == "ia-na" else "iaprefix"
            for inner in statement.block:
                if inner.keyword != inner_word or inner.block is None or len(inner.tokens) < 2:
                    continue
                address = inner.tokens[1].value
                earlier = latest.get(address)
                if earlier is not None:
                    why = f"a later entry of the file (line {inner.line}) replaces this one"
                    skipped.append(SkippedLease(earlier[1].line, address, why))
                kind = "IA_NA" if keyword == "ia-na" else "IA_PD"
                latest[address] = (statement, inner, iaid, duid, kind)
        elif keyword in (*_FILE_STATEMENTS, "ia-ta"):
            if keyword == "ia-ta":
                skipped.append(SkippedLease(statement.line, "ia-ta", "temporary addresses are "
                                            "not imported"))  # fmt: skip
        else:
            why = f"'{keyword}' entries are not leases Kea's DHCPv6 server takes"
            skipped.append(SkippedLease(statement.line, statement.text()[:60], why))
    leases: list[IscLease6] = []
    for address, (_ia, inner, iaid, duid, kind) in latest.items():
        made = _one6(inner, address, iaid, duid, kind, now)
        (leases if isinstance(made, IscLease6) else skipped).append(made)  # type: ignore[arg-type]
    skipped.sort(key=lambda s: s.line)
    leases.sort(key=lambda lease: lease.line)
    return LeaseFile6(leases, skipped)


def _one6(
    block: Statement, address: str, iaid: int, duid: str, kind: str, now: int
) -> IscLease6 | SkippedLease:
    values = _statements(block, ("ends", "preferred-life", "max-life"))

    def skip(reason: str) -> SkippedLease:
        return SkippedLease(block.line, address, reason)

    try:
        network = ipaddress.IPv6Network(address if kind == "IA_PD" else f"{address}/128")
    except ValueError:
        return skip(f"{address!r} is not an IPv6 {'prefix' if kind == 'IA_PD' else 'address'}")
    ends = _active_until(values, now, "the lease never ends: Kea's leases have a lifetime")
    if isinstance(ends, str):
        return skip(ends)
    valid = _number_of(values.get("max-life"))
    preferred = _number_of(values.get("preferred-life"))
    if valid is None:
        return skip("no max-life (valid lifetime)")
    return IscLease6(
        line=block.line, address=str(network.network_address), prefix_len=network.prefixlen,
        kind=kind, duid=duid, iaid=iaid, valid_lifetime=max(valid, 1),
        preferred_lifetime=preferred if preferred is not None else valid, ends=ends,
    )  # fmt: skip


def _number_of(statement: Statement | None) -> int | None:
    if statement is None or len(statement.tokens) < 2 or not statement.tokens[1].value.isdigit():
        return None
    return int(statement.tokens[1].value)
