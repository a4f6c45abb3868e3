"""A copy of recently changed large zones as named serves them, so that a small change to a
zone of thousands of records needs no zone transfer to be planned.

A change is planned against the zone as named serves it. For a large zone the AXFR that reads
it costs far more than the change itself, so after a change the agent keeps the planned result
as the zone's copy, but only when named provably serves exactly it:

- named's SOA after the update is the one before with the next serial (only this update
  happened: every dynamic update moves the serial on, BIND ARM "serial-update-method");
- every RRset the change touched is answered authoritatively (AA, not a referral) with exactly
  the planned data and TTL;
- the SOA is still the same after those checks.

Before the copy is used, named's SOA must still equal the copy's (any change made meanwhile,
by anyone, moves the serial on); otherwise the zone is transferred again. Anything unusual
(many RRsets touched, a referral, a synthesized answer, an error) drops the copy.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict, defaultdict

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdatatype

from services.common.dns.records import Record
from services.common.dns.validate import Plan
from services.common.errors import DaemonError
from services.dns.transport import NamedClient, Served
from services.dns.zonefile import serial_next

log = logging.getLogger(__name__)

#: Zones kept (the most recently changed).
CACHED_ZONES = 4
#: Smaller zones are transferred every time: an AXFR of them is as quick as the checks.
MIN_RECORDS = 500
#: A change touching more RRsets than this is not kept.
VERIFY_LIMIT = 32


class ServedCache:
    """Copies of up to ``CACHED_ZONES`` zones, each valid while named's SOA is unchanged.

    Changes to different zones run side by side: the table of copies is guarded by a lock of
    its own (a zone's copy is only used and replaced under that zone's lock).
    """

    def __init__(self) -> None:
        self._zones: OrderedDict[dns.name.Name, Served] = OrderedDict()
        self._guard = threading.Lock()

    def served(self, client: NamedClient, origin: dns.name.Name) -> Served:
        """The zone as named serves it now: the copy if the SOA still matches, else an AXFR."""
        with self._guard:
            cached = self._zones.pop(origin, None)
        if cached is not None:
            soa = client.soa(origin)
            if soa is not None and soa == cached.soa and soa.serial == cached.soa.serial:
                with self._guard:
                    self._zones[origin] = cached
                return cached
        return client.axfr(origin)

    def forget(self, origin: dns.name.Name | None = None) -> None:
        """Drop the copy of ``origin`` (of every zone when None)."""
        with self._guard:
            if origin is None:
                self._zones.clear()
            else:
                self._zones.pop(origin, None)

    def after_update(
        self, client: NamedClient, origin: dns.name.Name, served: Served, plan: Plan
    ) -> None:
        """Keep ``plan.result`` as the copy of ``origin`` if named serves exactly it."""
        self.forget(origin)
        if len(plan.result) < MIN_RECORDS:
            return
        touched = {(r.name, r.rtype) for r in (*plan.adds, *plan.deletes)}
        if len(touched) > VERIFY_LIMIT:
            return
        try:
            soa = client.soa(origin)
            expected_soa = served.soa.replace(serial=serial_next(served.soa.serial))
            if soa is None or soa != expected_soa:
                return
            rrsets: dict[tuple[dns.name.Name, str], list[Record]] = defaultdict(list)
            for record in plan.result.values():
                if (record.name, record.rtype) in touched:
                    rrsets[(record.name, record.rtype)].append(record)
            for name, rtype in touched:
                if not _served_as(client, name, rtype, rrsets.get((name, rtype), [])):
                    log.info("not keeping a copy of %s: %s %s differs", origin, name, rtype)
                    return
            again = client.soa(origin)
            if again is None or again != soa or again.serial != soa.serial:
                return
        except DaemonError as exc:
            log.info("not keeping a copy of %s: %s", origin, exc)
            return
        copy = Served(
            soa=soa, soa_ttl=served.soa_ttl, records=list(plan.result.values()), index=plan.result
        )
        with self._guard:
            self._zones[origin] = copy
            while len(self._zones) > CACHED_ZONES:
                self._zones.popitem(last=False)


def _served_as(client: NamedClient, name: dns.name.Name, rtype: str, records: list[Record]) -> bool:
    """named answers ``name``/``rtype`` authoritatively with exactly ``records``."""
    query = dns.message.make_query(name, dns.rdatatype.from_text(rtype))
    query.use_tsig(client.key)
    try:
        answer = dns.query.tcp(query, client.server, port=client.port, timeout=2.0)
    except (OSError, EOFError, dns.exception.DNSException) as exc:
        raise DaemonError(f"named did not answer {name} {rtype}: {exc}") from exc
    if not answer.flags & dns.flags.AA:
        return False
    if answer.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        return False
    wanted = dns.rdatatype.from_text(rtype)
    found = [rrset for rrset in answer.answer if rrset.rdtype == wanted and rrset.name == name]
    others = [rrset for rrset in answer.answer if rrset not in found]
    if others:  # a CNAME or DNAME on the way: not a plain answer
        return False
    if not records:
        return not found
    if len(found) != 1:
        return False
    ttls = {record.ttl for record in records}
    rdatas: set[dns.rdata.Rdata] = {record.rdata for record in records}
    return len(ttls) == 1 and found[0].ttl in ttls and set(found[0]) == rdatas
