"""Changes to the appliance-owned parts of Kea's configuration, each with the key it names.

Shared by the dhcp-agent's tests (tests/dhcp/test_owned.py) and Central's
(tests/central_dhcp/test_owned.py): each case is Kea's current configuration (as config-get
gives it) with one appliance-owned part changed, and the field the refusal must name.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]


@dataclass(frozen=True)
class OwnedCase:
    """One refused change: what it does, how, and the key named (after ``config.``)."""

    what: str
    change: Callable[[Json], None]  # edits the daemon configuration (inside Dhcp4) in place
    field: str  # Kea's key below the daemon key: "control-socket"

    def applied(self, config: Json, top: str) -> Json:
        """``config`` (``{"Dhcp4": …}``) with this change, as a new object."""
        copy: Json = json.loads(json.dumps(config))
        self.change(copy[top])
        return copy


def _hook(name: str) -> Callable[[Json], None]:
    def add(daemon: Json) -> None:
        hooks = daemon["hooks-libraries"]
        folder = hooks[0]["library"].rsplit("/", 1)[0]
        entry: Json = {"library": f"{folder}/{name}"}
        if name == "libdhcp_run_script.so":
            entry["parameters"] = {"name": "/bin/touch", "sync": False}
        hooks.append(entry)

    return add


def _drop_hook(name: str) -> Callable[[Json], None]:
    def drop(daemon: Json) -> None:
        daemon["hooks-libraries"] = [
            h for h in daemon["hooks-libraries"] if not h["library"].endswith(name)
        ]

    return drop


def _set(path: list[str], value: Any) -> Callable[[Json], None]:
    def change(daemon: Json) -> None:
        node = daemon
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value

    return change


def _delete(key: str) -> Callable[[Json], None]:
    def change(daemon: Json) -> None:
        del daemon[key]

    return change


def _moved_hook(daemon: Json) -> None:
    daemon["hooks-libraries"][0]["library"] = "/tmp/libdhcp_lease_cmds.so"


def _log_to_file(daemon: Json) -> None:
    daemon["loggers"][0]["output_options"] = [{"output": "/tmp/kea.log"}]


def owned_cases(family: str) -> list[OwnedCase]:
    """Every kind of appliance-owned part, changed once (the appliance loads two hooks:
    one more is ``hooks-libraries[2]``)."""
    cases = [
        OwnedCase("control socket removed", _delete("control-socket"), "control-socket"),
        OwnedCase(
            "control socket moved",
            _set(["control-socket", "socket-name"], "/tmp/kea-elsewhere.sock"),
            "control-socket",
        ),
        OwnedCase(
            "lease file moved to /tmp",
            _set(["lease-database", "name"], "/tmp/leases.csv"),
            "lease-database.name",
        ),
        OwnedCase(
            "leases kept in memory only",
            _set(["lease-database", "persist"], False),
            "lease-database.persist",
        ),
        OwnedCase(
            "lease database of another type",
            _set(["lease-database", "type"], "postgresql"),
            "lease-database.type",
        ),
        OwnedCase("lease_cmds dropped", _drop_hook("libdhcp_lease_cmds.so"), "hooks-libraries"),
        OwnedCase("stat_cmds dropped", _drop_hook("libdhcp_stat_cmds.so"), "hooks-libraries"),
        OwnedCase("all hooks dropped", _set(["hooks-libraries"], []), "hooks-libraries"),
        OwnedCase(
            "run_script loaded with a program",
            _hook("libdhcp_run_script.so"),
            "hooks-libraries[2].library",
        ),
        OwnedCase(
            "a configuration backend",
            _hook("libdhcp_mysql_cb.so"),
            "hooks-libraries[2].library",
        ),
        OwnedCase(
            "a hook from outside the hooks directory",
            _moved_hook,
            "hooks-libraries[0].library",
        ),
        OwnedCase("log written to a file", _log_to_file, "loggers[0].output_options[0].output"),
        OwnedCase(
            "interfaces changed",
            _set(["interfaces-config", "interfaces"], ["lo"]),
            "interfaces-config.interfaces",
        ),
        OwnedCase(
            "a host database",
            _set(["hosts-database"], {"type": "mysql", "name": "kea", "host": "127.0.0.1"}),
            "hosts-database",
        ),
    ]
    if family == "v6":
        cases.append(
            OwnedCase(
                "data directory moved",
                _set(["data-directory"], "/tmp"),
                "data-directory",
            )
        )
    return cases
