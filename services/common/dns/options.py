"""Server options of named that an administrator sets: forwarders, recursion, listen addresses,
DNSSEC validation.

The dns-agent stores them in ``etc/bind/burrow-options.json``; the launcher and the agent both
render named.conf from them, so that a restart keeps what the agent set. Every value is a typed
address, network or keyword, so nothing a user types reaches named.conf as free text.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.common.files import read_json, write_json

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class ServerOptions(BaseModel):
    """named's global options that Burrow manages (BIND ARM, "options" statement)."""

    model_config = ConfigDict(extra="forbid")
    forwarders: list[IPAddress] = Field(default=[], max_length=16)
    forward_only: bool = False
    recursion: bool = False
    allow_recursion: list[IPNetwork] = Field(
        default=[], max_length=64, description="clients allowed to recurse; empty: localhost only"
    )
    listen_on: list[ipaddress.IPv4Address] | None = Field(
        default=None, max_length=32, description="IPv4 addresses (127.0.0.1 always); null: any"
    )
    listen_on_v6: list[ipaddress.IPv6Address] | None = Field(
        default=None, max_length=32, description="IPv6 addresses; null: any"
    )
    dnssec_validation: Literal["auto", "yes", "no"] = "no"

    @model_validator(mode="after")
    def _coherent(self) -> ServerOptions:
        if self.allow_recursion and not self.recursion:
            raise ValueError("allow_recursion needs recursion on")
        return self

    @classmethod
    def load(cls, path: Path) -> ServerOptions:
        """The stored options, or the defaults when none were set."""
        if not path.exists():
            return cls()
        return cls.model_validate(read_json(path))

    def save(self, path: Path) -> None:
        write_json(path, self.model_dump(mode="json"), mode=0o640)

    def template_vars(self) -> dict[str, Any]:
        """The variables of named.conf.j2 that these options set."""

        def acl(items: list[Any] | None, default: str) -> str:
            if items is None:
                return default
            if not items:
                return "none;"
            return " ".join(f"{item};" for item in items)

        recursion_acl = "localhost;" if not self.allow_recursion else acl(self.allow_recursion, "")
        # The dns-agent talks to named on 127.0.0.1: it is always listened on.
        listen_on = self.listen_on
        if listen_on is not None:
            loopback = ipaddress.IPv4Address("127.0.0.1")
            listen_on = [loopback, *(a for a in listen_on if a != loopback)]
        return {
            "listen_on": acl(listen_on, "any;"),
            "listen_on_v6": acl(self.listen_on_v6, "any;"),
            "recursion": self.recursion,
            "allow_recursion": recursion_acl if self.recursion else "none;",
            "forwarders": [str(f) for f in self.forwarders],
            "forward_only": self.forward_only,
            "dnssec_validation": self.dnssec_validation,
        }
