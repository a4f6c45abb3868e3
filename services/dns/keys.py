"""The TSIG keys and DNSSEC policies the dns-agent holds for named.

Keys live in ``etc/bind/burrow-keys.json`` (0600: their secrets), policies in
``etc/bind/burrow-dnssec-policies.json``; both are rendered into ``zones.conf`` by
``services.dns.config``. Neither store is ever answered with a secret.
"""

from __future__ import annotations

from services.common.dns.dnssec import DnssecPolicy
from services.common.dns.tsig import TsigKeyInstall
from services.common.files import read_json, write_json
from services.common.paths import StateRoot


class KeyStore:
    """The TSIG key objects, by name."""

    def __init__(self, root: StateRoot) -> None:
        self.path = root.bind_etc / "burrow-keys.json"

    def load(self) -> dict[str, TsigKeyInstall]:
        if not self.path.exists():
            return {}
        items = [TsigKeyInstall.model_validate(k) for k in read_json(self.path)["keys"]]
        return {key.name: key for key in items}

    def save(self, keys: dict[str, TsigKeyInstall]) -> None:
        items = [keys[name].model_dump(mode="json") for name in sorted(keys)]
        write_json(self.path, {"keys": items}, mode=0o600)


class PolicyStore:
    """The DNSSEC policies defined on this server, by name."""

    def __init__(self, root: StateRoot) -> None:
        self.path = root.bind_etc / "burrow-dnssec-policies.json"

    def load(self) -> dict[str, DnssecPolicy]:
        if not self.path.exists():
            return {}
        items = [DnssecPolicy.model_validate(p) for p in read_json(self.path)["policies"]]
        return {policy.name: policy for policy in items}

    def save(self, policies: dict[str, DnssecPolicy]) -> None:
        items = [policies[name].model_dump(mode="json") for name in sorted(policies)]
        write_json(self.path, {"policies": items}, mode=0o640)
