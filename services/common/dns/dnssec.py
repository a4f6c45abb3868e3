"""DNSSEC signing of primary zones: key and signing policies, and what a signed zone shows.

A zone is signed by naming a ``dnssec-policy`` (BIND ARM, "dnssec-policy Block Grammar"): BIND's
built-in ``default`` (one CSK, ECDSAP256SHA256, unlimited lifetime, NSEC) or a policy defined
here (``DnssecPolicy``), which the dns-agent renders as a ``dnssec-policy`` statement. named
makes, publishes, rolls and retires the keys itself, in the zone's key directory
(``var/lib/bind/keys``, kept in backups). Burrow's zones take dynamic updates, so they are
signed in place (``inline-signing no``; BIND 9.20 changes the default, 9.18 warns when it is
left out): an update is signed as it is applied.

Unsigning goes through BIND's ``insecure`` policy (the zone keeps its signatures until the DS
has aged out of the parent's caches, then drops them: with ``insecure``'s timings about 26
hours) and ends with no policy at all once named serves no DNSKEY any more. (A policy of one's
own with an empty ``keys { }`` would carry shorter timings, but named 9.18.49 stops on an
assertion when it loads one, though named-checkconf takes it: Burrow never writes one.)

Durations are whole seconds (named takes ISO 8601 durations; the agent writes ``PT…S``).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.common.dns.options import field_errors
from services.common.model import Input

#: BIND's own policies: ``default`` signs, ``insecure`` unsigns, ``none`` is no policy.
BUILTIN_POLICIES = ("default", "insecure")

Algorithm = Literal[
    "ecdsap256sha256", "ecdsap384sha384", "ed25519", "ed448", "rsasha256", "rsasha512"
]
#: DNSSEC algorithm numbers (RFC 8624) of the algorithms above.
ALGORITHM_NUMBERS = {
    "rsasha256": 8,
    "rsasha512": 10,
    "ecdsap256sha256": 13,
    "ecdsap384sha384": 14,
    "ed25519": 15,
    "ed448": 16,
}
DAY = 86400
SECONDS = Field(ge=1, le=100 * 365 * DAY)


class DnssecPolicy(Input):
    """A key and signing policy (BIND ARM, "dnssec-policy"); named enforces the timings'
    relations too (``named-checkconf``: a key lifetime shorter than a rollover is refused).

    ``keys``: ``csk`` (one key signs everything) or ``ksk-zsk`` (a key-signing key and a
    zone-signing key). A lifetime of 0 is unlimited (no rollover)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    algorithm: Algorithm = "ecdsap256sha256"
    keys: Literal["csk", "ksk-zsk"] = "csk"
    ksk_lifetime: int = Field(default=0, ge=0, le=100 * 365 * DAY, description="KSK or CSK")
    zsk_lifetime: int = Field(default=0, ge=0, le=100 * 365 * DAY, description="ZSK")
    nsec3: bool = Field(default=False, description="NSEC3 (iterations 0, no salt) or NSEC")
    dnskey_ttl: int = Field(default=3600, ge=1, le=DAY * 7)
    max_zone_ttl: int = Field(default=DAY, ge=1, le=DAY * 7)
    zone_propagation_delay: int = Field(default=300, ge=0, le=DAY * 7)
    publish_safety: int = Field(default=3600, ge=0, le=DAY * 7)
    retire_safety: int = Field(default=3600, ge=0, le=DAY * 7)
    purge_keys: int = Field(default=90 * DAY, ge=0, le=365 * DAY)
    signatures_refresh: int = Field(default=5 * DAY, ge=1, le=365 * DAY)
    signatures_validity: int = Field(default=14 * DAY, ge=1, le=365 * DAY)
    signatures_validity_dnskey: int = Field(default=14 * DAY, ge=1, le=365 * DAY)
    signatures_jitter: int = Field(default=12 * 3600, ge=0, le=365 * DAY)
    parent_ds_ttl: int = Field(default=DAY, ge=1, le=DAY * 7)
    parent_propagation_delay: int = Field(default=3600, ge=0, le=DAY * 7)

    @field_validator("name")
    @classmethod
    def _not_builtin(cls, value: str) -> str:
        if value in (*BUILTIN_POLICIES, "none"):
            raise ValueError(f"the policy name {value!r} is BIND's own")
        return value

    @model_validator(mode="after")
    def _timings(self) -> DnssecPolicy:
        problems: list[tuple[str, str]] = []
        if self.signatures_refresh >= self.signatures_validity:
            problems.append(("signatures_refresh", "must be shorter than signatures_validity"))
        if self.signatures_jitter > min(self.signatures_validity, self.signatures_validity_dnskey):
            problems.append(("signatures_jitter", "cannot be longer than the signatures' validity"))
        if self.keys == "csk" and self.zsk_lifetime:
            problems.append(("zsk_lifetime", "a CSK policy has one key: set ksk_lifetime"))
        if problems:
            raise field_errors("DnssecPolicy", problems)
        return self


def duration(seconds: int) -> str:
    """``seconds`` as named's ISO 8601 duration."""
    return f"PT{seconds}S"


def policy_statement(policy: DnssecPolicy) -> str:
    """The ``dnssec-policy`` statement of ``policy``."""

    def lifetime(seconds: int) -> str:
        return "unlimited" if seconds == 0 else duration(seconds)

    alg = policy.algorithm
    if policy.keys == "csk":
        keys = f"csk key-directory lifetime {lifetime(policy.ksk_lifetime)} algorithm {alg};"
    else:
        keys = (
            f"ksk key-directory lifetime {lifetime(policy.ksk_lifetime)} algorithm {alg}; "
            f"zsk key-directory lifetime {lifetime(policy.zsk_lifetime)} algorithm {alg};"
        )
    lines = [
        f'dnssec-policy "{policy.name}" {{',
        f"    keys {{ {keys} }};",
        f"    dnskey-ttl {policy.dnskey_ttl};",
        f"    max-zone-ttl {policy.max_zone_ttl};",
        f"    zone-propagation-delay {policy.zone_propagation_delay};",
        f"    publish-safety {policy.publish_safety};",
        f"    retire-safety {policy.retire_safety};",
        f"    purge-keys {duration(policy.purge_keys) if policy.purge_keys else 0};",
        f"    signatures-refresh {duration(policy.signatures_refresh)};",
        f"    signatures-validity {duration(policy.signatures_validity)};",
        f"    signatures-validity-dnskey {duration(policy.signatures_validity_dnskey)};",
        f"    signatures-jitter {duration(policy.signatures_jitter)};",
        f"    parent-ds-ttl {policy.parent_ds_ttl};",
        f"    parent-propagation-delay {policy.parent_propagation_delay};",
    ]
    if policy.nsec3:
        lines.append("    nsec3param iterations 0 optout no salt-length 0;")
    lines.append("};")
    return "\n".join(lines)


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DnssecKey(_Answer):
    """One key of a signed zone, from its key state file (BIND ARM, "Key States")."""

    id: int = Field(description="key tag")
    role: Literal["KSK", "ZSK", "CSK"]
    algorithm: int
    lifetime: int = Field(description="seconds; 0 unlimited")
    created: dt.datetime | None = None
    published: dt.datetime | None = None
    active: dt.datetime | None = None
    retired: dt.datetime | None = None
    removed: dt.datetime | None = None
    goal: str = Field(description="omnipresent (in use) or hidden (going away)")
    dnskey: str | None = None
    zone_rrsig: str | None = None
    key_rrsig: str | None = None
    ds: str | None = None


class ZoneDnssec(_Answer):
    """The DNSSEC state of a zone: its policy, its keys, the DS records for its parent."""

    zone: str
    policy: str | None = Field(description="the dnssec-policy; null: not signed")
    signed: bool = Field(description="named serves DNSKEY records at the apex")
    unsigning: bool = Field(description="going insecure: signatures stay until safe to drop")
    keys: list[DnssecKey]
    dnskey: list[str] = Field(description="the DNSKEY records named serves")
    ds: list[str] = Field(description="DS records (SHA-256) of the key-signing keys served")
    status: str = Field(default="", description="rndc dnssec -status, as named gives it")


class Rollover(Input):
    """Start a rollover of one key now (``rndc dnssec -rollover``)."""

    key_id: int = Field(ge=0, le=65535)


class DsChange(Input):
    """Tell named that the parent zone now publishes, or no longer publishes, the DS records
    of the zone's key-signing keys (``rndc dnssec -checkds``): a KSK rollover and unsigning
    wait for it. ``key_id`` names one key; without it, every key-signing key."""

    state: Literal["published", "withdrawn"]
    key_id: int | None = Field(default=None, ge=0, le=65535)
