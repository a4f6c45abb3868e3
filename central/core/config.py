"""Central's settings: where its state is and how it listens.

Nothing is read at import time; ``CentralConfig.from_root`` is called by the entry point
and by tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.common.paths import StateRoot
from services.common.pki import CertPaths

PORT = 1231


@dataclass(frozen=True)
class CentralConfig:
    """How one Central runs."""

    root: StateRoot
    port: int = PORT
    host: str = "0.0.0.0"

    @property
    def tls(self) -> CertPaths:
        return CertPaths(self.root.pki / "central.crt", self.root.pki / "central.key")

    @classmethod
    def from_root(cls, root: StateRoot, port: int = PORT) -> CentralConfig:
        return cls(root=root, port=port)
