"""The appliance-owned parts of Kea's configuration (services.common.dhcp.owned), as rules."""

from __future__ import annotations

import json
from typing import Any

from services.common.dhcp.owned import owned_problems

HOOKS = "/usr/lib/x86_64-linux-gnu/kea/hooks"


def _config() -> dict[str, Any]:
    return {
        "interfaces-config": {"interfaces": ["eth0"]},
        "control-socket": {"socket-type": "unix", "socket-name": "/run/kea/kea4.sock"},
        "lease-database": {
            "type": "memfile",
            "persist": True,
            "name": "/var/lib/kea/l4.csv",
            "lfc-interval": 3600,
        },
        "hooks-libraries": [
            {"library": f"{HOOKS}/libdhcp_lease_cmds.so"},
            {"library": f"{HOOKS}/libdhcp_stat_cmds.so"},
        ],
        "loggers": [{"name": "kea-dhcp4", "output_options": [{"output": "stdout"}]}],
    }


def _fields(after: dict[str, Any], before: dict[str, Any] | None = None) -> list[str]:
    problems = owned_problems(before or _config(), after, "v4", HOOKS)
    return [p.field for p in problems]


def test_the_administrators_parts_are_free() -> None:
    after = _config()
    after["lease-database"]["lfc-interval"] = 60
    after["loggers"][0]["severity"] = "DEBUG"
    after["loggers"].append({"name": "kea-dhcp4.packets", "output_options": [{}]})
    after["hooks-libraries"] += [{"library": f"{HOOKS}/libdhcp_ha.so", "parameters": {}},
                                 {"library": f"{HOOKS}/libdhcp_flex_option.so"}]  # fmt: skip
    after["subnet4"] = [{"id": 1, "subnet": "198.51.100.0/24"}]
    assert _fields(after) == []


def test_hooks_from_the_allow_list_in_the_hooks_directory_only() -> None:
    after = _config()
    after["hooks-libraries"] += [
        {"library": f"{HOOKS}/libdhcp_run_script.so", "parameters": {"name": "/bin/sh"}},
        {"library": "/opt/evil/libdhcp_ha.so"},
        {"library": f"{HOOKS}/libdhcp_unknown.so"},
        {"library": f"{HOOKS}/libdhcp_pgsql_cb.so"},
        {},
    ]
    assert _fields(after) == [f"Dhcp4.hooks-libraries[{i}].library" for i in range(2, 7)]


def test_hooks_already_there_are_not_checked_again() -> None:
    """A change that leaves the hooks as they are is not refused for them (the rules apply
    when the hooks change)."""
    before = _config()
    before["hooks-libraries"].append({"library": "/elsewhere/libdhcp_lease_cmds.so"})
    after = json.loads(json.dumps(before))
    after["valid-lifetime"] = 600
    assert _fields(after, before) == []


def test_each_owned_key_is_named() -> None:
    after = _config()
    del after["control-socket"]
    after["lease-database"]["name"] = "/tmp/l4.csv"
    after["interfaces-config"]["interfaces"] = ["*"]
    after["hooks-libraries"] = after["hooks-libraries"][:1]
    after["loggers"][0]["output_options"][0]["output"] = "/var/log/x"
    after["config-control"] = {"config-databases": []}
    assert _fields(after) == [
        "Dhcp4.control-socket",
        "Dhcp4.config-control",
        "Dhcp4.lease-database.name",
        "Dhcp4.interfaces-config.interfaces",
        "Dhcp4.loggers[0].output_options[0].output",
        "Dhcp4.hooks-libraries",
    ]
