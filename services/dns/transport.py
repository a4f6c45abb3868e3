"""Talking DNS to the local named: TSIG-signed RFC 2136 updates, AXFR read-back, SOA queries.

Every message is signed with the appliance's key ``burrow-tsig`` (hmac-sha256), read from
``etc/bind/burrow-tsig.key``, and sent to 127.0.0.1: named takes that key from that address only
(the ``burrow-agent`` ACL of named.conf.j2), for updates and transfers of every zone.
"""

from __future__ import annotations

import re
import socket
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rdtypes.ANY.SOA
import dns.tsig
import dns.update
import dns.xfr

from services.common.dns.records import Record
from services.common.errors import DaemonError

KEY_NAME = "burrow-tsig"
_SECRET = re.compile(r'secret\s+"([^"]+)"')
_ALGORITHM = re.compile(r"algorithm\s+([A-Za-z0-9-]+)")


def load_key(path: Path, name: str = KEY_NAME) -> dns.tsig.Key:
    """The TSIG key of a BIND ``key`` statement file."""
    text = path.read_text()
    secret = _SECRET.search(text)
    algorithm = _ALGORITHM.search(text)
    if secret is None or algorithm is None:
        raise DaemonError(f"The TSIG key file {path} has no secret or algorithm.")
    return dns.tsig.Key(name, secret.group(1), algorithm.group(1))


def unreachable(
    what: str, exc: BaseException, *, timeout: float, sent: bool = False
) -> DaemonError:
    """The error for a DNS message to named that got no answer, in plain words."""
    if isinstance(exc, ConnectionRefusedError):
        return DaemonError(
            f"named does not answer on 127.0.0.1:53 (the connection was refused) for {what}: "
            "it is not running or is restarting; nothing was changed.",
            hint="supervisord restarts named within seconds: try again; see named's log if it "
            "stays down",
        )
    if isinstance(exc, dns.exception.Timeout | TimeoutError):
        words = f"named did not answer {what} within {timeout:g} s"
    else:
        words = f"named's answer to {what} was lost ({type(exc).__name__}: {exc})"
    if sent:
        words += "; the change may or may not have been applied: read the zone back to see"
    return DaemonError(words + ".", hint="see named's log")


#: Records named makes and keeps itself in a signed zone (BIND ARM, "DNSSEC"): never the
#: administrator's, so never read back as theirs. 65534 is the private type in which named
#: records its signing progress (``sig-signing-type``).
SIGNING_TYPES = frozenset({"RRSIG", "NSEC", "NSEC3", "NSEC3PARAM"})
APEX_SIGNING_TYPES = frozenset({"DNSKEY", "CDS", "CDNSKEY", "TYPE65534"})


def without_signing(zone: dns.name.Name, records: list[Record]) -> list[Record]:
    """``records`` without what named's signing put there, if the zone is signed."""
    if not any(r.rtype == "RRSIG" for r in records):
        return records
    return [
        r
        for r in records
        if r.rtype not in SIGNING_TYPES and not (r.name == zone and r.rtype in APEX_SIGNING_TYPES)
    ]


class UpdateTooBigError(Exception):
    """The change does not fit in one UPDATE message (64 KiB over TCP)."""


@dataclass
class Served:
    """A zone as named serves it: the SOA, its TTL and every other record."""

    soa: dns.rdtypes.ANY.SOA.SOA
    soa_ttl: int
    records: list[Record]
    #: The records by key, when the agent kept them from a plan (see ``served_cache``).
    index: dict[Any, Record] | None = None


class NamedClient:
    """DNS messages to one named (127.0.0.1:53 from the agent's namespace)."""

    def __init__(self, key: dns.tsig.Key, server: str = "127.0.0.1", port: int = 53) -> None:
        self.key = key
        self.server = server
        self.port = port

    def soa(self, zone: dns.name.Name, timeout: float = 2.0) -> dns.rdtypes.ANY.SOA.SOA | None:
        query = dns.message.make_query(zone, dns.rdatatype.SOA)
        query.use_tsig(self.key)
        try:
            answer = dns.query.tcp(query, self.server, port=self.port, timeout=timeout)
        except (OSError, EOFError, dns.exception.DNSException) as exc:
            raise unreachable(f"the SOA query of {zone}", exc, timeout=timeout) from exc
        for rrset in answer.answer:
            if rrset.rdtype == dns.rdatatype.SOA and rrset.name == zone:
                soa = rrset[0]
                assert isinstance(soa, dns.rdtypes.ANY.SOA.SOA)
                return soa
        return None

    def axfr(self, zone: dns.name.Name, timeout: float = 60.0) -> Served:
        """Every record of ``zone`` by a TSIG-signed AXFR.

        The messages are read one by one and their records taken as they come (one record per
        RRset as parsed, no zone object built: for a zone of 60,000 records that is several
        times quicker than dnspython's ``inbound_xfr``); every message's TSIG is checked as
        dnspython's own transfer does (RFC 8945 §5.3.1: a signature over several messages).
        """
        try:
            return self._axfr(zone, timeout)
        except (OSError, EOFError, dns.exception.DNSException) as exc:
            raise unreachable(f"the zone transfer of {zone}", exc, timeout=timeout) from exc

    def _axfr(self, zone: dns.name.Name, timeout: float) -> Served:
        query = dns.message.make_query(zone, dns.rdatatype.AXFR)
        query.use_tsig(self.key)
        wire = query.to_wire()
        deadline = time.monotonic() + timeout
        records: list[Record] = []
        soa: dns.rdtypes.ANY.SOA.SOA | None = None
        soa_ttl = 0
        with socket.create_connection((self.server, self.port), timeout=timeout) as sock:
            sock.sendall(struct.pack("!H", len(wire)) + wire)
            tsig_ctx: Any = None
            first = True
            while True:
                (length,) = struct.unpack("!H", _read(sock, 2, deadline))
                answer = dns.message.from_wire(
                    _read(sock, length, deadline),
                    keyring=query.keyring,
                    request_mac=query.mac,
                    xfr=True,
                    tsig_ctx=tsig_ctx,
                    multi=True,
                    one_rr_per_rrset=True,
                )
                tsig_ctx = answer.tsig_ctx
                if not query.is_response(answer, xfr_continuation=not first):
                    raise dns.query.BadResponse()  # type: ignore[no-untyped-call]
                first = False
                if answer.rcode() != dns.rcode.NOERROR:
                    raise dns.xfr.TransferError(answer.rcode())  # type: ignore[no-untyped-call]
                for rrset in answer.answer:
                    if rrset.rdtype == dns.rdatatype.SOA and rrset.name == zone:
                        if soa is not None:  # the closing SOA: the transfer is complete
                            return Served(soa, soa_ttl, without_signing(zone, records))
                        soa = rrset[0]
                        soa_ttl = rrset.ttl
                        continue
                    if soa is None:
                        raise DaemonError(f"The zone transfer of {zone} had no SOA record.")
                    rtype = dns.rdatatype.to_text(rrset.rdtype)
                    records.extend(Record(rrset.name, rtype, rrset.ttl, rd) for rd in rrset)

    def update(
        self,
        zone: dns.name.Name,
        deletes: Sequence[Record],
        adds: Sequence[Record],
        *,
        expect_soa: tuple[dns.rdtypes.ANY.SOA.SOA, int] | None = None,
        replace: Sequence[tuple[dns.name.Name, str]] = (),
        timeout: float = 30.0,
    ) -> int:
        """Send one UPDATE with every change; return named's rcode.

        ``expect_soa`` is a prerequisite (RFC 2136 §2.4.2): the zone's SOA must still be the one
        the change was planned on, so a change made meanwhile makes the update fail whole
        (NXRRSET) instead of mixing with it. ``replace`` deletes whole RRsets first.
        """
        message = dns.update.UpdateMessage(zone, keyring=self.key)
        if expect_soa is not None:
            soa, _ttl = expect_soa
            rdataset = dns.rdataset.Rdataset(dns.rdataclass.IN, dns.rdatatype.SOA)
            rdataset.add(soa, 0)  # RFC 2136 §2.4: a prerequisite has TTL 0
            message.present(zone, rdataset)
        for name, rtype in replace:
            message.delete(name, rtype)
        for record in deletes:
            message.delete(record.name, record.rdata)
        for record in adds:
            message.add(record.name, record.ttl, record.rdata)
        try:
            wire = message.to_wire()
        except dns.exception.TooBig as exc:
            raise UpdateTooBigError(str(exc)) from exc
        del wire
        try:
            answer = dns.query.tcp(message, self.server, port=self.port, timeout=timeout)
        except (OSError, EOFError, dns.exception.DNSException) as exc:
            refused = isinstance(exc, ConnectionRefusedError)
            raise unreachable(
                f"the update of {zone}", exc, timeout=timeout, sent=not refused
            ) from exc
        return int(answer.rcode())


def _read(sock: socket.socket, count: int, deadline: float) -> bytes:
    """Exactly ``count`` bytes from ``sock`` by ``deadline`` (EOFError if it closes first)."""
    parts: list[bytes] = []
    while count > 0:
        left = deadline - time.monotonic()
        if left <= 0:
            raise dns.exception.Timeout()  # type: ignore[no-untyped-call]
        sock.settimeout(left)
        part = sock.recv(min(count, 1 << 16))
        if not part:
            raise EOFError("the connection was closed during the zone transfer")
        parts.append(part)
        count -= len(part)
    return b"".join(parts)


def rcode_text(rcode: int) -> str:
    return dns.rcode.to_text(dns.rcode.Rcode(rcode))
