"""Central's settings: where its state is, how it listens and which database it uses.

Nothing is read at import time; ``CentralConfig.from_root`` is called by the entry point
and by tests.

The database is SQLite (WAL) at ``var/lib/burrow/central.db`` unless a database URL says
otherwise: the environment variable ``BURROW_DATABASE_URL`` or ``database_url`` in
``etc/burrow/central.json`` (the environment wins), e.g.
``postgresql+psycopg://burrow@/burrow?host=/run/postgresql``.

Request bodies larger than ``max_request_bytes`` (default 8 MiB; ``max_request_bytes`` in
``central.json`` or ``BURROW_MAX_REQUEST_BYTES``) are refused with 413 before they are parsed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from services.common import profile
from services.common.errors import SetupError
from services.common.paths import StateRoot
from services.common.pki import CertPaths
from services.common.problems import DEFAULT_MAX_BODY

PORT = 1231
DATABASE_URL_ENV = "BURROW_DATABASE_URL"
MAX_REQUEST_BYTES_ENV = "BURROW_MAX_REQUEST_BYTES"


@dataclass(frozen=True)
class LocalAgent:
    """An agent of Central's own appliance, enrolled automatically at its first start."""

    program: str
    kind: str
    port: int


LOCAL_AGENTS = (
    LocalAgent("dns-agent", "dns", 1337),
    LocalAgent("dhcp-agent", "dhcp", 4151),
    LocalAgent("appliance-agent", "appliance", 4603),
)
#: The agents of a caching appliance (services.common.profile): its dns-agent drives Unbound
#: and registers as a server of kind ``caching``; there is no dhcp-agent.
CACHING_LOCAL_AGENTS = (
    LocalAgent("dns-agent", "caching", 1337),
    LocalAgent("appliance-agent", "appliance", 4603),
)


def local_agents(root: StateRoot) -> tuple[LocalAgent, ...]:
    """The agents of the appliance at ``root``, by its profile."""
    return CACHING_LOCAL_AGENTS if profile.load(root) == "caching" else LOCAL_AGENTS


@dataclass(frozen=True)
class CentralConfig:
    """How one Central runs."""

    root: StateRoot
    port: int = PORT
    host: str = "0.0.0.0"
    database_url: str = ""
    #: Request bodies over this many bytes are refused with 413 before they are parsed.
    max_request_bytes: int = DEFAULT_MAX_BODY

    @property
    def tls(self) -> CertPaths:
        return CertPaths(self.root.pki / "central.crt", self.root.pki / "central.key")

    @property
    def local_agents(self) -> tuple[LocalAgent, ...]:
        """This appliance's own agents (by its profile), enrolled at their first start."""
        return local_agents(self.root)

    @property
    def ca_dir(self) -> Path:
        return self.root.pki / "ca"

    @property
    def settings_file(self) -> Path:
        return self.root.etc / "central.json"

    @property
    def first_admin_file(self) -> Path:
        """First-boot configuration of the first administrator (read once, then removed)."""
        return self.root.etc / "first-admin.json"

    @property
    def generated_password_file(self) -> Path:
        """The generated first administrator password, shown once (0600)."""
        return self.root.secrets / "initial-admin-password"

    @classmethod
    def from_root(cls, root: StateRoot, port: int = PORT, host: str = "0.0.0.0") -> CentralConfig:
        settings_file = root.etc / "central.json"
        settings: dict[str, object] = {}
        if settings_file.exists():
            try:
                settings = dict(json.loads(settings_file.read_text()))
            except (ValueError, TypeError) as exc:
                raise SetupError(
                    f"{settings_file} is not a JSON object.", hint='write {"database_url": "..."}'
                ) from exc
        url = os.environ.get(DATABASE_URL_ENV, "") or str(settings.get("database_url") or "")
        if not url:
            url = f"sqlite:///{root.lib / 'central.db'}"
        limit = os.environ.get(MAX_REQUEST_BYTES_ENV) or settings.get("max_request_bytes")
        max_body = DEFAULT_MAX_BODY
        if limit is not None:
            if not str(limit).isdigit() or int(str(limit)) < 1024:
                raise SetupError(
                    f"max_request_bytes must be a whole number of bytes >= 1024 ({limit!r}).",
                    hint=f"set it in {settings_file} or {MAX_REQUEST_BYTES_ENV}",
                )
            max_body = int(str(limit))
        return cls(root=root, port=port, host=host, database_url=url, max_request_bytes=max_body)
