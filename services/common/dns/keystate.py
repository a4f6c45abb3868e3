"""What a signed zone shows: its keys (from named's key state files), the DNSKEY records
named serves, and the DS records for the parent. Read by the dns-agent and the diagnostic
shell alike.

named keeps each key's timing and state in ``K<zone>+<alg>+<id>.state`` next to the key
(BIND ARM, "Key States": hidden, rumoured, omnipresent, unretentive), and the public key in
``K<zone>+<alg>+<id>.key``; they are read as they are, so what is shown is what named does.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path
from typing import Literal

import dns.dnssec
import dns.message
import dns.name
import dns.query
import dns.rdata
import dns.rdatatype
import dns.rdtypes.ANY.DNSKEY
import dns.tsig

from services.common.dns.dnssec import DnssecKey
from services.common.errors import DaemonError

log = logging.getLogger(__name__)

_STATE_FILE = re.compile(r"^K(?P<zone>.+)\+(?P<alg>\d{3})\+(?P<id>\d{5})\.state$")
_TIME = re.compile(r"^(\d{14})")
#: DNSKEY flags of a key-signing key (the SEP bit set, RFC 4034 §2.1.1).
SEP = 0x0001


def _time(value: str) -> dt.datetime | None:
    match = _TIME.match(value.strip())
    if match is None:
        return None
    return dt.datetime.strptime(match.group(1), "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)


def read_state(path: Path) -> DnssecKey | None:
    """One key's state file, or None if it is not one."""
    match = _STATE_FILE.match(path.name)
    if match is None:
        return None
    fields: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.startswith(";") or ":" not in line:
            continue
        name, _, value = line.partition(":")
        fields[name.strip()] = value.strip()
    ksk, zsk = fields.get("KSK") == "yes", fields.get("ZSK") == "yes"
    role: Literal["KSK", "ZSK", "CSK"] = "CSK" if ksk and zsk else "KSK" if ksk else "ZSK"
    return DnssecKey(
        id=int(match.group("id")),
        role=role,
        algorithm=int(match.group("alg")),
        lifetime=int(fields.get("Lifetime", "0") or 0),
        created=_time(fields.get("Generated", "")),
        published=_time(fields.get("Published", "")),
        active=_time(fields.get("Active", "")),
        retired=_time(fields.get("Retired", "")),
        removed=_time(fields.get("Removed", "")),
        goal=fields.get("GoalState", "hidden"),
        dnskey=fields.get("DNSKEYState"),
        zone_rrsig=fields.get("ZRRSIGState"),
        key_rrsig=fields.get("KRRSIGState"),
        ds=fields.get("DSState"),
    )


def zone_keys(key_dir: Path, zone: str) -> list[DnssecKey]:
    """The keys named keeps for ``zone`` (absolute name), those in use first."""
    prefix = f"k{zone.lower()}+"  # named writes the absolute name: Kexample.com.+013+…
    keys = []
    if key_dir.is_dir():
        for path in sorted(key_dir.glob("K*.state")):
            if path.name.lower().startswith(prefix):
                key = read_state(path)
                if key is not None:
                    keys.append(key)
    order = {"omnipresent": 0}
    return sorted(keys, key=lambda k: (order.get(k.goal, 1), k.role, k.id))


def served_dnskeys(
    zone: dns.name.Name, key: dns.tsig.Key, server: str = "127.0.0.1", timeout: float = 2.0
) -> list[dns.rdtypes.ANY.DNSKEY.DNSKEY]:
    """The DNSKEY records named serves at the apex of ``zone``."""
    query = dns.message.make_query(zone, dns.rdatatype.DNSKEY, want_dnssec=True)
    query.use_tsig(key)
    try:
        answer = dns.query.tcp(query, server, timeout=timeout)
    except (OSError, EOFError, dns.exception.DNSException) as exc:
        raise DaemonError(f"named did not answer the DNSKEY query of {zone}: {exc}") from exc
    found = []
    for rrset in answer.answer:
        if rrset.rdtype == dns.rdatatype.DNSKEY and rrset.name == zone:
            found += [rd for rd in rrset if isinstance(rd, dns.rdtypes.ANY.DNSKEY.DNSKEY)]
    return found


def ds_records(zone: dns.name.Name, dnskeys: list[dns.rdtypes.ANY.DNSKEY.DNSKEY]) -> list[str]:
    """DS records (SHA-256, RFC 4509) of the key-signing keys among ``dnskeys``."""
    return sorted(dns.dnssec.make_ds(zone, k, "SHA256").to_text() for k in dnskeys if k.flags & SEP)


def key_file_dnskey(path: Path) -> dns.rdtypes.ANY.DNSKEY.DNSKEY | None:
    """The DNSKEY record of a public key file (``K….key``), or None if it holds none."""
    for line in path.read_text().splitlines():
        if line.startswith(";") or "DNSKEY" not in line:
            continue
        data = line.split("DNSKEY", 1)[1].strip()
        rdata = dns.rdata.from_text("IN", "DNSKEY", data)
        if isinstance(rdata, dns.rdtypes.ANY.DNSKEY.DNSKEY):
            return rdata
    return None


def zone_ds_from_files(key_dir: Path, zone: str) -> list[str]:
    """DS records of the key-signing keys of ``zone`` that named is keeping in use."""
    origin = dns.name.from_text(zone)
    dnskeys = []
    for key in zone_keys(key_dir, zone):
        if key.role == "ZSK" or key.goal != "omnipresent":
            continue
        path = key_dir / f"K{origin.to_text().lower()}+{key.algorithm:03d}+{key.id:05d}.key"
        if path.exists():
            found = key_file_dnskey(path)
            if found is not None:
                dnskeys.append(found)
    return ds_records(origin, dnskeys)


def signed_rrset(
    name: dns.name.Name,
    rdtype: dns.rdatatype.RdataType,
    key: dns.tsig.Key,
    server: str = "127.0.0.1",
    timeout: float = 2.0,
) -> bool:
    """named serves ``name``/``rdtype`` with a signature."""
    query = dns.message.make_query(name, rdtype, want_dnssec=True)
    query.use_tsig(key)
    try:
        answer = dns.query.tcp(query, server, timeout=timeout)
    except (OSError, EOFError, dns.exception.DNSException):
        return False
    return any(r.rdtype == dns.rdatatype.RRSIG and r.covers == rdtype for r in answer.answer)
