"""Applying a change to Kea safely: get → check → test → set → write, or nothing at all.

Every change reads Kea's in-memory configuration (``config-get``), edits a copy (the edit
checks the change against that configuration and raises before anything is sent), has Kea
test the result (``config-test``), sets it (``config-set``) and saves it (``config-write``).
When set or write fails, the configuration read at the start is set again and written, so Kea
is never left on an unsaved or broken configuration (DESIGN.md section 2).

The editor remembers the last configuration it read, with the bytes of Kea's answer: a
config-get whose answer has the same bytes is that configuration, and is neither parsed nor
hashed again. Kea is still asked every time, so a change made behind Burrow's back (a
config-reload, another client's config-set) is always seen by the check.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import orjson

from services.common.dhcp.checks import InvalidChangeError, Problem
from services.common.dhcp.contract import ChangeResult
from services.common.dhcp.kea import lean_config, strip_inherited, top_key
from services.common.dhcp.options import Family
from services.common.dhcp.owned import owned_problems
from services.common.errors import ConflictError, DaemonError, SetupError
from services.common.faults import FaultPoints
from services.dhcp.kea_client import KeaClient
from services.dhcp.refusals import Locate, dotted, plain, refusal

log = logging.getLogger(__name__)

Json = dict[str, Any]
#: An edit of a daemon configuration (the inside of ``Dhcp4`` / ``Dhcp6``), in place.
Edit = Callable[[Json], None]

#: The configuration hash the caller last saw (the agent API's ``known_hash``), for the
#: change being handled. When Kea's configuration has another hash the change is refused
#: (409, field ``known_hash``) before anything is edited: Central then takes in the external
#: change first and repeats its change. This spares Central a separate hash request per change.
KNOWN_HASH: ContextVar[str | None] = ContextVar("known_hash", default=None)


def _installed_hooks_dir() -> str | None:
    from services.common.launch import kea_hooks_dir  # the launcher's finder, used once

    try:
        return kea_hooks_dir()
    except SetupError:  # no Kea here (a unit test's in-memory Kea): names are still checked
        return None


def config_hash(config: Json) -> str:
    """A stable hash of a configuration: equal configurations, equal hashes."""
    return hashlib.sha256(orjson.dumps(config, option=orjson.OPT_SORT_KEYS)).hexdigest()


def copy_json(value: Json) -> Json:
    """A deep copy of JSON data (a round trip through orjson: far faster than deepcopy)."""
    copied: Json = orjson.loads(orjson.dumps(value))
    return copied


@dataclass(frozen=True)
class Snapshot:
    """One configuration as Kea reported it. ``config`` is shared: never edit it."""

    raw: bytes  # Kea's answer to config-get, as it came
    config: Json  # {"Dhcp4": {...}}
    hash: str

    @cached_property
    def config_json(self) -> bytes:
        """``config`` as compact JSON (made once)."""
        return orjson.dumps(self.config)


class ConfigEditor:
    """Serialises changes to the Kea daemons and applies each one completely or not at all."""

    def __init__(
        self, kea: KeaClient, faults: FaultPoints | None = None, hooks_dir: str | None = None
    ) -> None:
        self.kea = kea
        self.faults = faults or FaultPoints(None, "dhcp-agent")
        #: Where the allowed hook libraries are (services.common.dhcp.owned); None: this
        #: machine's Kea hooks directory.
        self.hooks_dir = hooks_dir if hooks_dir is not None else _installed_hooks_dir()
        self._lock = threading.Lock()
        self._known: dict[str, Snapshot] = {}

    def snapshot(self, family: Family) -> Snapshot:
        """Kea's configuration now (config-get); parsed only when its bytes are new."""
        raw = self.kea.config_get_raw(family)
        known = self._known.get(family)
        if known is not None and known.raw == raw:
            return known
        config = self.kea.config_from(family, raw)
        fresh = Snapshot(raw=raw, config=config, hash=config_hash(config))
        self._known[family] = fresh
        return fresh

    def last(self, family: Family) -> Snapshot | None:
        """The configuration last read from Kea (it may have changed since)."""
        return self._known.get(family)

    def read(self, family: Family) -> Json:
        """The daemon configuration (inside ``Dhcp4`` / ``Dhcp6``): a copy of Kea's."""
        inner: Json = self.snapshot(family).config[top_key(family)]
        return copy_json(inner)

    def state(self, family: Family) -> tuple[Json, str]:
        """Kea's whole configuration (shared: do not edit) and its hash."""
        now = self.snapshot(family)
        return now.config, now.hash

    def apply(
        self,
        family: Family,
        edit: Edit,
        *,
        field: str | None = None,
        locate: Locate | None = None,
        owned_prefix: str = "",
    ) -> ChangeResult:
        """Apply ``edit`` to the live configuration. When Kea refuses the result, ``locate``
        turns the place Kea names into the field of the request; ``field`` is the one named
        when it cannot (``services.dhcp.refusals``). A change to a part of the configuration
        the appliance owns (services.common.dhcp.owned) is refused naming Kea's key, after
        ``owned_prefix`` (the raw configuration's ``config.``), and nothing is sent."""
        with self._lock:
            before = self.snapshot(family)
            known = KNOWN_HASH.get()
            if known is not None and known != before.hash:
                raise ConflictError(
                    "The configuration on the server changed since it was last read.",
                    field="known_hash",
                    hint="read it again (a sync) and repeat the change",
                )
            # Kea's copies of inherited values go before the edit: Kea derives them again at
            # config-set, so a later server-wide change reaches every scope that did not set
            # its own (services.common.dhcp.kea.strip_inherited).
            key = top_key(family)
            base = copy_json(before.config)
            strip_inherited(base[key], family)
            after = copy_json(base)
            edit(after[key])  # raises ValidationError/ConflictError: nothing sent
            owned = owned_problems(base[key], after[key], family, self.hooks_dir)
            if owned:
                raise InvalidChangeError(
                    [Problem(owned_prefix + p.field, p.message) for p in owned]
                )
            if after == base:
                return ChangeResult(
                    family=family,
                    before=before.hash,
                    after=before.hash,
                    changed=False,
                    detail="unchanged",
                )
            self._set(family, before, after, field, locate)
            # Kea fills in defaults: the hash Central will read next is that of Kea's own view.
            now = self.snapshot(family)
            if now.hash == before.hash:  # written as it was (a scope read and put back)
                return ChangeResult(family=family, before=before.hash, after=now.hash,
                                    changed=False, detail="unchanged")  # fmt: skip
            return ChangeResult(family=family, before=before.hash, after=now.hash, changed=True)

    def replace(self, family: Family, config: Json) -> ChangeResult:
        """Set a whole raw configuration (``{"Dhcp4": {...}}``) after config-test."""
        key = top_key(family)
        if set(config) != {key} or not isinstance(config[key], dict):
            raise InvalidChangeError(
                [Problem("config", f"must be one object {{{key!r}: {{...}}}}")]
            )

        def swap(current: Json) -> None:
            current.clear()
            current.update(copy_json(config[key]))

        # The configuration is the request's ``config``: Kea's path in it is the field.
        return self.apply(
            family, swap, field="config", locate=lambda p: "config." + dotted(p),
            owned_prefix="config.",
        )  # fmt: skip

    def _set(
        self, family: Family, before: Snapshot, after: Json, field: str | None,
        locate: Locate | None,
    ) -> None:  # fmt: skip
        # Serialised once: config-test and config-set get the very same bytes.
        payload = orjson.dumps(lean_config(after, family))
        tested = self.kea.config_test(family, payload)
        if not tested.ok:
            skip = self.kea.arguments_offset("config-test")
            raise refusal(tested.text, payload, skip, field or "config", locate)
        answer = self.kea.config_set(family, payload)
        if not answer.ok:
            self._restore(family, before)
            raise DaemonError(
                f"The DHCP server (Kea) did not take the change: {plain(answer.text)}.",
                hint="nothing was changed: the previous configuration was put back",
            )
        written = self.kea.config_write(family)
        if not written.ok:
            self._restore(family, before)
            raise DaemonError(
                f"The DHCP server (Kea) could not save the change: {plain(written.text)}.",
                hint="nothing was changed: the previous configuration was put back; check "
                "the free space and the permissions of etc/kea",
            )
        self.faults.reach("after-config-write")

    def _restore(self, family: Family, before: Snapshot) -> None:
        """Put back the configuration read before the change (last known good) and save it."""
        log.error("restoring the previous %s configuration", family)
        restored = self.kea.config_set(family, before.config_json)
        if restored.ok:
            self.kea.config_write(family)
        else:
            log.error("Kea refused the previous configuration too: %s", restored.text)
