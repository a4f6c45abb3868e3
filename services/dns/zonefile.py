"""Zone files in BIND's master format: written from records, read into records (import).

Burrow writes zone files with absolute names only (``$ORIGIN`` is stated for people reading
them), the SOA first, then the records sorted by owner and type, one per line.
"""

from __future__ import annotations

from collections.abc import Iterable

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.SOA
import dns.zone

from services.common.dns.contract import RecordData, Soa
from services.common.dns.records import Record
from services.common.dns.validate import Problem, RecordValidationError


def serial_next(serial: int) -> int:
    """The next serial in RFC 1982 arithmetic (0 is skipped: some secondaries mistake it)."""
    following = (serial + 1) % 2**32
    return following or 1


def make_soa(origin: dns.name.Name, soa: Soa, serial: int) -> dns.rdtypes.ANY.SOA.SOA:
    mname = soa.mname or f"ns1.{origin.to_text()}"
    rname = soa.rname or f"hostmaster.{origin.to_text()}"
    text = f"{mname} {rname} {serial} {soa.refresh} {soa.retry} {soa.expire} {soa.minimum}"
    rdata = dns.rdata.from_text(
        dns.rdataclass.IN, dns.rdatatype.SOA, text, origin=origin, relativize=False
    )
    assert isinstance(rdata, dns.rdtypes.ANY.SOA.SOA)
    return rdata


def soa_fields(rdata: dns.rdtypes.ANY.SOA.SOA) -> Soa:
    return Soa(
        mname=rdata.mname.to_text(),
        rname=rdata.rname.to_text(),
        refresh=rdata.refresh,
        retry=rdata.retry,
        expire=rdata.expire,
        minimum=rdata.minimum,
    )


def _order(record: Record) -> tuple[tuple[bytes, ...], str, str]:
    return (tuple(reversed(record.name.canonicalize().labels)), record.rtype, record.data)


def zone_text(
    origin: dns.name.Name, soa: dns.rdtypes.ANY.SOA.SOA, soa_ttl: int, records: Iterable[Record]
) -> str:
    """The zone file of ``origin`` with ``soa`` and ``records``."""
    lines = [
        f"; Zone {origin.to_text()}, written by Burrow's dns-agent.",
        f"$ORIGIN {origin.to_text()}",
        f"{origin.to_text()} {soa_ttl} IN SOA {soa.to_text()}",
    ]
    lines += [record.line() for record in sorted(records, key=_order)]
    return "\n".join(lines) + "\n"


def parse_zone_text(
    origin: dns.name.Name, text: str
) -> tuple[dns.rdtypes.ANY.SOA.SOA, int, list[RecordData]]:
    """Read a master-format zone file: its SOA, the SOA's TTL and every other record.

    ``$INCLUDE`` is refused (it would read files of the appliance). Syntax errors are one
    problem on the field ``text`` with the line number dnspython gives.
    """
    try:
        zone = dns.zone.from_text(
            text, origin=origin, relativize=False, check_origin=True, allow_include=False
        )
    except dns.exception.DNSException as exc:
        raise RecordValidationError(
            [Problem("text", origin.to_text(), "", f"not a valid zone file: {exc}")]
        ) from exc
    soa_set = zone.get_rdataset(origin, dns.rdatatype.SOA)
    assert soa_set is not None  # check_origin makes sure
    soa = soa_set[0]
    assert isinstance(soa, dns.rdtypes.ANY.SOA.SOA)
    records = [
        RecordData(
            name=name.to_text(),
            type=dns.rdatatype.to_text(rdata.rdtype),
            ttl=ttl,
            data=rdata.to_text(),
        )
        for name, ttl, rdata in zone.iterate_rdatas()
        if rdata.rdtype != dns.rdatatype.SOA
    ]
    return soa, soa_set.ttl, records
