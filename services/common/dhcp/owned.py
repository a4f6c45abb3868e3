"""The parts of Kea's configuration that belong to the appliance, and the hooks it allows.

The appliance, not a DHCP administrator, decides how its programs reach Kea and where Kea
keeps its state: the control socket (the dhcp-agent and the Control Agent talk to Kea through
it), the lease database (its type and the lease file that backups ship), the interfaces Kea
listens on (the appliance's network settings), where Kea logs (stdout, which supervisord
keeps and rotates), DHCPv6's data directory (its server DUID), and that no host database or
configuration backend outside the appliance is used. Every change to Kea's configuration, the
raw configuration included, goes through ``ConfigEditor.apply`` (services.dhcp.changes),
which refuses a change to any of them naming the key (``Dhcp4.control-socket``).

Hooks are Kea's plug-ins; a hook runs inside Kea with Kea's rights. The allowed ones are
libraries that Debian's Kea 2.2 ships in its hooks directory
(``dpkg -L kea-dhcp4-server kea-dhcp6-server kea-common``: bootp, flex_option, ha, lease_cmds,
mysql_cb, pgsql_cb, run_script, stat_cmds), minus those that would let a DHCP administrator
act outside DHCP: ``libdhcp_run_script.so`` runs a program named in its parameters at every
lease event (Kea manual 16.16), and the configuration backends ``mysql_cb`` / ``pgsql_cb``
take configuration from a database outside the appliance (manual 16.9). ``lease_cmds`` and
``stat_cmds`` are needed by the appliance (lease search, lease changes, statistics) and cannot
be removed. A library is named by its path in the hooks directory, never elsewhere.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from services.common.dhcp.checks import Problem
from services.common.dhcp.kea import top_key
from services.common.dhcp.options import Family

Json = dict[str, Any]

#: Hooks the appliance needs: removing them breaks lease search, lease changes, statistics.
REQUIRED_HOOKS = ("libdhcp_lease_cmds.so", "libdhcp_stat_cmds.so")
#: Hooks a DHCP administrator may load (Debian's Kea 2.2 ships each of them).
ALLOWED_HOOKS = (*REQUIRED_HOOKS, "libdhcp_bootp.so", "libdhcp_flex_option.so", "libdhcp_ha.so")
#: Shipped by Debian's Kea but refused, and why.
REFUSED_HOOKS = {
    "libdhcp_run_script.so": "runs a program at every lease event",
    "libdhcp_mysql_cb.so": "takes configuration from a database outside the appliance",
    "libdhcp_pgsql_cb.so": "takes configuration from a database outside the appliance",
}

#: Top-level keys that must stay as the appliance set them (absent ones stay absent).
OWNED_KEYS = (
    "control-socket",
    "data-directory",
    "hosts-database",
    "hosts-databases",
    "config-control",
)
#: What a DHCP administrator may tune in the lease database; the rest (type, name, persist,
#: and any database connection) is the appliance's.
LEASE_DATABASE_TUNABLE = frozenset({"lfc-interval", "max-row-errors"})


def owned_problems(
    before: Json, after: Json, family: Family, hooks_dir: str | None
) -> list[Problem]:
    """What ``after`` (a daemon configuration, inside ``Dhcp4``) changes of the appliance's
    parts of ``before``; fields are Kea's keys (``Dhcp4.lease-database.name``)."""
    top = top_key(family)
    problems: list[Problem] = []
    for key in OWNED_KEYS:
        if before.get(key) != after.get(key):
            problems.append(Problem(f"{top}.{key}", _owned_message(key, before.get(key))))
    was = before.get("lease-database") or {}
    now = after.get("lease-database") or {}
    for key in sorted((set(was) | set(now)) - LEASE_DATABASE_TUNABLE):
        if was.get(key) != now.get(key):
            problems.append(
                Problem(
                    f"{top}.lease-database.{key}",
                    f"is owned by the appliance ({_shown(was.get(key))}) and cannot be changed",
                )
            )
    was_if = (before.get("interfaces-config") or {}).get("interfaces")
    now_if = (after.get("interfaces-config") or {}).get("interfaces")
    if was_if != now_if:
        problems.append(
            Problem(
                f"{top}.interfaces-config.interfaces",
                f"is owned by the appliance ({_shown(was_if)}): the interfaces Kea serves "
                "come from the appliance's network settings",
            )
        )
    problems += _logger_problems(before, after, top)
    if before.get("hooks-libraries") != after.get("hooks-libraries"):
        problems += hook_problems(after.get("hooks-libraries"), top, hooks_dir)
    return problems


def _owned_message(key: str, value: Any) -> str:
    if key == "control-socket":
        return (
            f"is owned by the appliance ({_shown(value)}): the dhcp-agent and the Control "
            "Agent reach Kea through it"
        )
    if value is None:
        return "is not used on the appliance and cannot be set"
    return f"is owned by the appliance ({_shown(value)}) and cannot be changed"


def _shown(value: Any) -> str:
    if value is None:
        return "not set"
    if isinstance(value, dict) and "socket-name" in value:
        return str(value["socket-name"])
    return str(value) if not isinstance(value, dict | list) else f"set to {value}"


def _outputs(config: Json) -> set[str]:
    found: set[str] = set()
    for logger in config.get("loggers") or []:
        for option in (logger or {}).get("output_options") or []:
            found.add(str((option or {}).get("output", "stdout")))
    return found


def _logger_problems(before: Json, after: Json, top: str) -> list[Problem]:
    """Loggers and their levels are the administrator's; where they write is not: Kea would
    write (as its own user) to any path named, and supervisord keeps and rotates stdout."""
    allowed = _outputs(before) or {"stdout"}
    problems: list[Problem] = []
    loggers = after.get("loggers") or []
    if not isinstance(loggers, list):
        return []  # Kea's config-test names it
    for i, logger in enumerate(loggers):
        options = (logger or {}).get("output_options") if isinstance(logger, dict) else None
        for j, option in enumerate(options if isinstance(options, list) else []):
            output = option.get("output", "stdout") if isinstance(option, dict) else None
            if output not in allowed:
                problems.append(
                    Problem(
                        f"{top}.loggers[{i}].output_options[{j}].output",
                        f"log outputs are owned by the appliance: use "
                        f"{' or '.join(sorted(allowed))}",
                    )
                )
    return problems


def hook_problems(hooks: Any, top: str, hooks_dir: str | None) -> list[Problem]:
    """Every library from the allow-list, by its path in the hooks directory; the required
    ones present."""
    field = f"{top}.hooks-libraries"
    if hooks is None:
        hooks = []
    if not isinstance(hooks, list):
        return [Problem(field, "must be a list of hook libraries")]
    problems: list[Problem] = []
    names: list[str] = []
    for index, entry in enumerate(hooks):
        library = entry.get("library") if isinstance(entry, dict) else None
        at = f"{field}[{index}].library"
        if not isinstance(library, str) or not library:
            problems.append(Problem(at, "names no library"))
            continue
        path = PurePosixPath(library)
        name = path.name
        if name in REFUSED_HOOKS:
            problems.append(
                Problem(at, f"{name} is not allowed on the appliance: it {REFUSED_HOOKS[name]}")
            )
            continue
        if name not in ALLOWED_HOOKS:
            problems.append(
                Problem(at, f"{name} is not an allowed hook; allowed: {', '.join(ALLOWED_HOOKS)}")
            )
            continue
        if hooks_dir is not None and str(path.parent) != hooks_dir:
            problems.append(
                Problem(at, f"hook libraries are loaded from {hooks_dir} only: "
                        f"use {hooks_dir}/{name}")
            )  # fmt: skip
            continue
        names.append(name)
    for needed in REQUIRED_HOOKS:
        if needed not in names and not any(needed in p.message for p in problems):
            problems.append(
                Problem(field, f"{needed} is needed by the appliance (lease search, lease "
                        "changes, statistics) and cannot be removed")
            )  # fmt: skip
    return problems
