"""Central's settings: where its state is, how it listens and which database it uses.

Nothing is read at import time; ``CentralConfig.from_root`` is called by the entry point
and by tests.

The database is SQLite (WAL) at ``var/lib/burrow/central.db`` unless a database URL says
otherwise: the environment variable ``BURROW_DATABASE_URL`` or ``database_url`` in
``etc/burrow/central.json`` (the environment wins), e.g.
``postgresql+psycopg://burrow@/burrow?host=/run/postgresql``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from services.common.errors import SetupError
from services.common.paths import StateRoot
from services.common.pki import CertPaths

PORT = 1231
DATABASE_URL_ENV = "BURROW_DATABASE_URL"


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


@dataclass(frozen=True)
class CentralConfig:
    """How one Central runs."""

    root: StateRoot
    port: int = PORT
    host: str = "0.0.0.0"
    database_url: str = ""

    @property
    def tls(self) -> CertPaths:
        return CertPaths(self.root.pki / "central.crt", self.root.pki / "central.key")

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
        url = os.environ.get(DATABASE_URL_ENV, "")
        settings_file = root.etc / "central.json"
        if not url and settings_file.exists():
            try:
                url = str(json.loads(settings_file.read_text()).get("database_url") or "")
            except (ValueError, AttributeError) as exc:
                raise SetupError(
                    f"{settings_file} is not a JSON object.", hint='write {"database_url": "..."}'
                ) from exc
        if not url:
            url = f"sqlite:///{root.lib / 'central.db'}"
        return cls(root=root, port=port, host=host, database_url=url)
