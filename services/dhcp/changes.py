"""Applying a change to Kea safely: get → check → test → set → write, or nothing at all.

Every change reads Kea's in-memory configuration (``config-get``), edits a copy (the edit
checks the change against that configuration and raises before anything is sent), has Kea
test the result (``config-test``), sets it (``config-set``) and saves it (``config-write``).
When set or write fails, the configuration read at the start is set again and written, so Kea
is never left on an unsaved or broken configuration (DESIGN.md section 2).
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from services.common.dhcp.checks import InvalidChangeError, Problem
from services.common.dhcp.contract import ChangeResult
from services.common.dhcp.kea import top_key
from services.common.dhcp.options import Family
from services.common.errors import DaemonError
from services.dhcp.kea_client import KeaClient

log = logging.getLogger(__name__)

Json = dict[str, Any]
#: An edit of a daemon configuration (the inside of ``Dhcp4`` / ``Dhcp6``), in place.
Edit = Callable[[Json], None]


def config_hash(config: Json) -> str:
    """A stable hash of a configuration: equal configurations, equal hashes."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class ConfigEditor:
    """Serialises changes to the Kea daemons and applies each one completely or not at all."""

    def __init__(self, kea: KeaClient) -> None:
        self.kea = kea
        self._lock = threading.Lock()

    def read(self, family: Family) -> Json:
        """The daemon configuration (inside ``Dhcp4`` / ``Dhcp6``) from Kea's memory."""
        return dict(self.kea.config_get(family)[top_key(family)])

    def state(self, family: Family) -> tuple[Json, str]:
        whole = self.kea.config_get(family)
        return whole, config_hash(whole)

    def apply(self, family: Family, edit: Edit, *, field: str | None = None) -> ChangeResult:
        """Apply ``edit`` to the live configuration; ``field`` names the input Kea may refuse."""
        with self._lock:
            before = self.kea.config_get(family)
            before_hash = config_hash(before)
            # A JSON round trip copies a large configuration several times faster than deepcopy.
            after = json.loads(json.dumps(before))
            edit(after[top_key(family)])  # raises ValidationError/ConflictError: nothing sent
            if after == before:
                return ChangeResult(
                    family=family,
                    before=before_hash,
                    after=before_hash,
                    changed=False,
                    detail="unchanged",
                )
            self._set(family, before, after, field)
            # Kea fills in defaults: the hash Central will read next is that of Kea's own view.
            now = config_hash(self.kea.config_get(family))
            return ChangeResult(family=family, before=before_hash, after=now, changed=True)

    def replace(self, family: Family, config: Json) -> ChangeResult:
        """Set a whole raw configuration (``{"Dhcp4": {...}}``) after config-test."""
        key = top_key(family)
        if set(config) != {key} or not isinstance(config[key], dict):
            raise InvalidChangeError(
                [Problem("config", f"must be one object {{{key!r}: {{...}}}}")]
            )

        def swap(current: Json) -> None:
            current.clear()
            current.update(copy.deepcopy(config[key]))

        return self.apply(family, swap, field="config")

    def _set(self, family: Family, before: Json, after: Json, field: str | None) -> None:
        tested = self.kea.config_test(family, after)
        if not tested.ok:
            raise InvalidChangeError([Problem(field or "config", f"Kea refused it: {tested.text}")])
        answer = self.kea.config_set(family, after)
        if not answer.ok:
            self._restore(family, before)
            raise DaemonError(f"Kea did not take the change: {answer.text}", field=field)
        written = self.kea.config_write(family)
        if not written.ok:
            self._restore(family, before)
            raise DaemonError(f"Kea could not save the change: {written.text}", field=field)

    def _restore(self, family: Family, before: Json) -> None:
        """Put back the configuration read before the change (last known good) and save it."""
        log.error("restoring the previous %s configuration", family)
        restored = self.kea.config_set(family, before)
        if restored.ok:
            self.kea.config_write(family)
        else:
            log.error("Kea refused the previous configuration too: %s", restored.text)
