"""TSIG keys (RFC 8945) as objects: made by Central, held by the dns-agent for named.

Central makes a key's secret (random, as long as the algorithm's digest) and shows it once, in
the answer that creates the key; it keeps only the name and the algorithm. The dns-agent holds
the secret in ``etc/bind/burrow-keys.json`` (0600) and writes a ``key`` statement into
``zones.conf`` (0640, group bind) for named. No answer of either ever carries a secret again.

A zone names the keys that may update it (``update_keys``) and transfer it
(``transfer_keys``). The appliance's own key, ``burrow-tsig``, is the dns-agent's alone: named
takes it from 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import secrets
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.common.model import Input

Algorithm = Literal["hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224"]
#: The digest size of each algorithm, in octets: the length of a generated secret.
SECRET_OCTETS = {"hmac-sha224": 28, "hmac-sha256": 32, "hmac-sha384": 48, "hmac-sha512": 64}
#: Names of the appliance's own keys.
RESERVED = ("burrow-tsig", "rndc-key")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"


def check_name(value: str) -> str:
    if value.rstrip(".").lower() in RESERVED:
        raise ValueError(f"key name {value!r} is reserved for the appliance's own keys")
    return value


def new_secret(algorithm: str) -> str:
    """A random secret for ``algorithm``, base64 as named takes it."""
    return base64.b64encode(secrets.token_bytes(SECRET_OCTETS[algorithm])).decode()


class TsigKeySpec(Input):
    """A key as Central asks for it (the secret is made by Central)."""

    name: str = Field(pattern=NAME_PATTERN)
    algorithm: Algorithm = "hmac-sha256"

    @field_validator("name")
    @classmethod
    def _not_ours(cls, value: str) -> str:
        return check_name(value)


class TsigKeyInstall(TsigKeySpec):
    """A key with its secret, sent by Central to the dns-agent once."""

    secret: str = Field(pattern=r"^[A-Za-z0-9+/]+={0,2}$", min_length=16, max_length=256)


class TsigKeyPublic(BaseModel):
    """A key as the dns-agent shows it: never its secret."""

    model_config = ConfigDict(extra="forbid")

    name: str
    algorithm: str
    zones: list[str] = Field(default=[], description="zones that name it")
