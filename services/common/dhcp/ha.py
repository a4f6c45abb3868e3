"""The dhcp-agent's part of a Kea high-availability pair's TLS (``/dhcp/ha/tls``).

Each partner's key is made on its own appliance and never leaves it: Central asks the agent
for a certificate request (``HaCertificateRequest`` → ``HaCertificateSigning``), signs it with
the pair's CA and gives the agent the certificate and the CA (``HaCertificate``); the agent
answers where Kea finds the three files (``HaTlsFiles``, the HA hook's ``trust-anchor``,
``cert-file`` and ``key-file``).
"""

from __future__ import annotations

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
