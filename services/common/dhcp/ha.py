"""Kea high availability: a server's HA state as every view shows it, and the dhcp-agent's
part of a pair's TLS (``/dhcp/ha/tls``).

``HaState.from_kea`` reads Kea 2.2's answers to ``status-get`` (its ``high-availability``
section: the mode, this server's role, state and scopes, and what it knows of its partner)
and ``ha-heartbeat`` (this server's state and its ``unsent-update-count``) into one model,
the same for Central's API, the console, the diagnostic shell and SNMP.

Each partner's key is made on its own appliance and never leaves it: Central asks the agent
for a certificate request (``HaCertificateRequest`` → ``HaCertificateSigning``), signs it with
the pair's CA and gives the agent the certificate and the CA (``HaCertificate``); the agent
answers where Kea finds the three files (``HaTlsFiles``, the HA hook's ``trust-anchor``,
``cert-file`` and ``key-file``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from services.common.model import Input


class HaCertificateRequest(Input):
    """Make a new key for this Kea's HA listener and answer a request for it."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")


class HaCertificateSigning(BaseModel):
    csr: str = Field(description="PEM certificate request of the new key")


class HaCertificate(Input):
    """The signed certificate of the key last requested, and the pair's CA certificate."""

    cert: str = Field(min_length=1, max_length=20000, description="PEM")
    ca: str = Field(min_length=1, max_length=20000, description="PEM")


class HaTlsFiles(BaseModel):
    trust_anchor: str
    cert_file: str
    key_file: str


class HaState(BaseModel):
    """One server's high-availability state as its own Kea tells it (None: not told)."""

    configured: bool = Field(default=False, description="the HA hook runs a relationship")
    mode: str | None = Field(default=None, description="hot-standby or load-balancing")
    local_role: str | None = Field(default=None, description="this server's role in Kea")
    state: str | None = Field(default=None, description="this server's HA state")
    scopes: list[str] = Field(default=[], description="the scopes (servers' names) it serves")
    partner_role: str | None = None
    partner_state: str | None = Field(default=None, description="the partner's last state")
    in_touch: bool | None = Field(default=None, description="heard from the partner since start")
    age_seconds: int | None = Field(default=None, description="since the partner's last answer")
    communication_interrupted: bool | None = None
    unacked_clients: int | None = Field(
        default=None, description="the partner's clients seen unanswered while the link is down"
    )
    unsent_updates: int | None = Field(
        default=None, description="lease updates not sent to the partner yet (ha-heartbeat)"
    )

    @classmethod
    def from_kea(cls, status: dict[str, Any], heartbeat: dict[str, Any]) -> HaState:
        """From ``status-get``'s arguments and ``ha-heartbeat``'s (either may be empty)."""
        relations = status.get("high-availability") or []
        relation: dict[str, Any] = relations[0] if relations else {}
        servers = relation.get("ha-servers") or {}
        local: dict[str, Any] = servers.get("local") or {}
        remote: dict[str, Any] = servers.get("remote") or {}

        def number(value: Any) -> int | None:
            return int(value) if isinstance(value, int | float) else None

        def flag(value: Any) -> bool | None:
            return value if isinstance(value, bool) else None

        state = heartbeat.get("state") or local.get("state")
        return cls(
            configured=bool(relation) or bool(state),
            mode=relation.get("ha-mode"),
            local_role=local.get("role"),
            state=state,
            scopes=[str(s) for s in heartbeat.get("scopes") or local.get("scopes") or []],
            partner_role=remote.get("role"),
            partner_state=remote.get("last-state") or None,
            in_touch=flag(remote.get("in-touch")),
            age_seconds=number(remote.get("age")),
            communication_interrupted=flag(remote.get("communication-interrupted")),
            unacked_clients=number(remote.get("unacked-clients")),
            unsent_updates=number(heartbeat.get("unsent-update-count")),
        )
