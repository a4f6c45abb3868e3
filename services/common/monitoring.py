"""Monitoring settings of an appliance (``etc/burrow/monitoring.json``): SNMP and metrics.

Central validates and writes them (``/api/v1/monitoring``); the ``monitor`` program reads them
and serves SNMP from them. The file holds secrets (communities, SNMPv3 pass phrases, the hash
of the metrics token) and is readable by root only; what the API shows and the history keeps
is ``redacted()``.

Nothing is open until it is configured: with no community and no user the SNMP agent answers
no one, and with no scrape token ``/metrics`` takes only a Central session token.
"""

from __future__ import annotations

import hashlib
import ipaddress
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from services.common.files import read_json, write_json
from services.common.model import Input

#: RFC 5612 reserves private enterprise number 32473 for documentation. Burrow's MIB sits
#: under it until the project registers a private enterprise number of its own with IANA;
#: then this arc and BURROW-MIB's MODULE-IDENTITY change together.
ENTERPRISE_ARC = (1, 3, 6, 1, 4, 1, 32473, 1)

SNMP_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"
#: An NTP server: a host name or an IPv4 or IPv6 address.
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
NTP_SERVER = rf"^({_LABEL}\.)*{_LABEL}$|^[0-9A-Fa-f:.]{{2,45}}$"
REDACTED = "********"
MAX_ENTRIES = 32


class AuthProtocol(StrEnum):
    """SNMPv3 authentication (RFC 7860 HMAC-SHA-2)."""

    SHA224 = "sha224"
    SHA256 = "sha256"
    SHA384 = "sha384"
    SHA512 = "sha512"


class PrivProtocol(StrEnum):
    """SNMPv3 privacy: AES-128 (RFC 3826); 192 and 256 as net-snmp's "AES-192/256" (Blumenthal
    key extension)."""

    AES128 = "aes128"
    AES192 = "aes192"
    AES256 = "aes256"


Secret = Annotated[str, Field(min_length=8, max_length=128)]


class Community(Input):
    """An SNMPv2c community: read-only access from the given source networks."""

    name: Annotated[str, Field(pattern=SNMP_NAME, description="a label, shown in the API")]
    community: Annotated[
        str | None,
        Field(min_length=8, max_length=64, description="the secret; omit to keep the stored one"),
    ] = None
    networks: Annotated[
        list[ipaddress.IPv4Network | ipaddress.IPv6Network],
        Field(min_length=1, max_length=MAX_ENTRIES, description="source networks allowed"),
    ]


class User(Input):
    """An SNMPv3 user; always authPriv."""

    name: Annotated[str, Field(pattern=SNMP_NAME)]
    auth_protocol: AuthProtocol = AuthProtocol.SHA256
    auth_passphrase: Secret | None = Field(default=None, description="omit to keep the stored one")
    priv_protocol: PrivProtocol = PrivProtocol.AES128
    priv_passphrase: Secret | None = Field(default=None, description="omit to keep the stored one")


class Receiver(Input):
    """Where notifications go: a v2c trap with a community, or a v3 inform as a user."""

    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    port: Annotated[int, Field(ge=1, le=65535)] = 162
    community: Annotated[str | None, Field(min_length=8, max_length=64)] = Field(
        default=None, description="v2c trap with this community"
    )
    user: Annotated[str | None, Field(pattern=SNMP_NAME)] = Field(
        default=None, description="v3 inform as this user (one of ``users``)"
    )

    @model_validator(mode="after")
    def _one_kind(self) -> Receiver:
        if (self.community is None) == (self.user is None):
            raise ValueError("give either community (v2c trap) or user (v3 inform)")
        return self


class SyslogReceiver(Input):
    """A remote syslog receiver: every program's log goes to it in RFC 5424 format."""

    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    protocol: Literal["udp", "tcp", "tls"] = "udp"
    port: Annotated[int | None, Field(ge=1, le=65535)] = Field(
        default=None, description="514 for udp and tcp, 6514 for tls unless given"
    )
    ca_certificate: Annotated[str | None, Field(max_length=20000)] = Field(
        default=None, description="tls: the PEM certificate of the CA that signed the receiver's"
    )
    peer_name: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9*][A-Za-z0-9.*-]{0,252}$")] = Field(
        default=None, description="tls: the name the receiver's certificate must carry"
    )

    @model_validator(mode="after")
    def _tls_complete(self) -> SyslogReceiver:
        if self.protocol == "tls":
            if not self.ca_certificate or not self.peer_name:
                raise ValueError("tls needs ca_certificate and peer_name")
            from cryptography import x509

            try:
                x509.load_pem_x509_certificate(self.ca_certificate.encode())
            except ValueError as exc:
                raise ValueError("ca_certificate is not a PEM certificate") from exc
        return self

    @property
    def effective_port(self) -> int:
        return self.port or (6514 if self.protocol == "tls" else 514)


class Thresholds(Input):
    """When a notification is sent."""

    pool_utilisation_percent: Annotated[int, Field(ge=1, le=100)] = 90
    backup_overdue_hours: Annotated[int, Field(ge=1, le=24 * 30)] = 26
    certificate_days: Annotated[int, Field(ge=1, le=3650)] = 30


class MonitoringSettings(Input):
    """Every monitoring setting of one appliance."""

    location: Annotated[str, Field(max_length=255)] = ""
    contact: Annotated[str, Field(max_length=255)] = ""
    snmp_port: Annotated[int, Field(ge=1, le=65535)] = 161
    communities: Annotated[list[Community], Field(max_length=MAX_ENTRIES)] = []
    users: Annotated[list[User], Field(max_length=MAX_ENTRIES)] = []
    receivers: Annotated[list[Receiver], Field(max_length=MAX_ENTRIES)] = []
    thresholds: Thresholds = Thresholds()
    syslog: Annotated[list[SyslogReceiver], Field(max_length=8)] = []
    ntp_servers: Annotated[
        list[Annotated[str, Field(max_length=253, pattern=NTP_SERVER)]], Field(max_length=8)
    ] = Field(default=[], description="NTP servers chrony uses; none: the clock is not steered")
    metrics_token: Annotated[str | None, Field(min_length=8, max_length=256)] = Field(
        default=None,
        description="a scrape token for /metrics, 16 characters or more (stored as its SHA-256 "
        "only); omit it or send ******** to keep it",
    )
    metrics_token_sha256: Annotated[str | None, Field(pattern=r"^[0-9a-f]{64}$")] = Field(
        default=None, description="set by Central from metrics_token; not given by callers"
    )

    @field_validator("metrics_token")
    @classmethod
    def _long_token(cls, value: str | None) -> str | None:
        if value is not None and value != REDACTED and len(value) < 16:
            raise ValueError("a scrape token needs 16 characters or more")
        return value

    @field_validator("communities", "users")
    @classmethod
    def _unique_names(cls, value: list[Any]) -> list[Any]:
        names = [entry.name for entry in value]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"name {name!r} is given twice")
        return value

    @model_validator(mode="after")
    def _receivers_known(self) -> MonitoringSettings:
        users = {user.name for user in self.users}
        for index, receiver in enumerate(self.receivers):
            if receiver.user is not None and receiver.user not in users:
                raise ValueError(f"receivers[{index}].user: no SNMPv3 user {receiver.user!r}")
        return self

    # --- secrets ---------------------------------------------------------------------------
    def merged_with(self, stored: MonitoringSettings) -> MonitoringSettings:
        """These settings with each secret left out (or sent as ``********``, as the API shows
        it) taken from ``stored``: a community's and a user's by name, a receiver's community
        by address and port. What ``GET`` answers can so be sent back as it is."""

        def given(value: str | None) -> str | None:
            return None if value == REDACTED else value

        old_c = {c.name: c for c in stored.communities}
        old_u = {u.name: u for u in stored.users}
        old_r = {(r.address, r.port): r for r in stored.receivers if r.community}
        communities = []
        for c in self.communities:
            old = old_c.get(c.name)
            secret = given(c.community) or (old.community if old else None)
            communities.append(c.model_copy(update={"community": secret}))
        users = []
        for u in self.users:
            was = old_u.get(u.name)
            users.append(
                u.model_copy(
                    update={
                        "auth_passphrase": given(u.auth_passphrase)
                        or (was.auth_passphrase if was else None),
                        "priv_passphrase": given(u.priv_passphrase)
                        or (was.priv_passphrase if was else None),
                    }
                )
            )
        receivers = []
        for r in self.receivers:
            if r.community == REDACTED:
                kept = old_r.get((r.address, r.port))
                r = r.model_copy(update={"community": kept.community if kept else None})
            receivers.append(r)
        token_hash = stored.metrics_token_sha256
        if given(self.metrics_token) is not None:
            token_hash = hashlib.sha256(str(self.metrics_token).encode()).hexdigest()
        return self.model_copy(
            update={
                "communities": communities,
                "users": users,
                "receivers": receivers,
                "metrics_token": None,
                "metrics_token_sha256": token_hash,
            }
        )

    def missing_secrets(self) -> list[tuple[str, str]]:
        """(field, message) for every secret neither given nor stored."""
        found = []
        for i, c in enumerate(self.communities):
            if not c.community:
                found.append((f"communities[{i}].community", "a new community needs its secret"))
        for i, u in enumerate(self.users):
            for part in ("auth_passphrase", "priv_passphrase"):
                if not getattr(u, part):
                    found.append((f"users[{i}].{part}", "a new user needs both pass phrases"))
        for i, r in enumerate(self.receivers):
            if r.user is None and not r.community:
                found.append((f"receivers[{i}].community", "no community is stored for it"))
        return found

    def redacted(self) -> dict[str, Any]:
        """What the API shows and the history keeps: no secret, only whether one is set."""
        value = self.model_dump(mode="json", exclude={"metrics_token", "metrics_token_sha256"})
        for c in value["communities"]:
            c["community"] = REDACTED if c["community"] else None
        for u in value["users"]:
            for part in ("auth_passphrase", "priv_passphrase"):
                u[part] = REDACTED if u[part] else None
        for r in value["receivers"]:
            if r["community"]:
                r["community"] = REDACTED
        value["metrics_token"] = REDACTED if self.metrics_token_sha256 else None
        return value

    # --- the file ---------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path) -> MonitoringSettings:
        """The stored settings; the defaults (nothing open) when there are none."""
        if not path.exists():
            return cls()
        return cls.model_validate(read_json(path))

    def save(self, path: Path) -> None:
        write_json(path, self.model_dump(mode="json", exclude={"metrics_token"}), mode=0o600)


def token_matches(settings: MonitoringSettings, token: str) -> bool:
    """Whether ``token`` is the configured scrape token (compared in constant time)."""
    import hmac

    if not settings.metrics_token_sha256:
        return False
    digest = hashlib.sha256(token.encode()).hexdigest()
    return hmac.compare_digest(digest, settings.metrics_token_sha256)
