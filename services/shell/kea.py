"""Kea views through the Control Agent (127.0.0.1:8000, basic auth as ``burrow``).

Only the commands in :data:`READ_ONLY` are ever sent (Kea 2.2 ARM, "Management API"); the
user picks among fixed requests and never writes a command or its arguments. Passwords and
secrets in configurations are masked before they are shown.
"""

from __future__ import annotations

import base64
import http.client
import json
from typing import Any

from services.common.dhcp.ha import HaState
from services.shell import syntax
from services.shell.command import Command
from services.shell.runner import Context
from services.shell.syntax import Refused

READ_ONLY = frozenset(
    {
        "status-get",
        "config-get",
        "version-get",
        "statistic-get-all",
        "lease4-get",
        "lease6-get",
        "lease4-get-by-hw-address",
        "lease4-get-page",
        "lease6-get-page",
        "ha-heartbeat",  # the HA hook's state: answers, changes nothing
    }
)
SERVICES = ("dhcp4", "dhcp6")
AGENT = ("127.0.0.1", 8000)
PAGE = 100
MASK = "*****"
#: Keys whose values are never shown (in Kea, appliance and other configurations).
SECRET_WORDS = ("password", "secret", "token", "community", "private")
RESULTS = {0: "ok", 1: "error", 2: "unsupported", 3: "empty"}


def mask(value: Any) -> Any:
    """``value`` with every password or secret replaced by asterisks."""
    if isinstance(value, dict):
        return {
            k: (MASK if any(s in k.lower() for s in SECRET_WORDS) else mask(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask(v) for v in value]
    return value


def call(
    ctx: Context, command: str, service: str | None, arguments: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One read-only command; the answer for that service (or the agent's own)."""
    if command not in READ_ONLY:
        raise Refused(f"Kea command {command!r} is not read-only")
    body: dict[str, Any] = {"command": command}
    if service:
        body["service"] = [service]
    if arguments is not None:
        body["arguments"] = arguments
    try:
        password = ctx.root.kea_api_password.read_text().strip()
    except OSError as exc:
        raise Refused(f"the Control Agent's password cannot be read: {exc.strerror}") from None
    token = base64.b64encode(f"burrow:{password}".encode()).decode()
    conn = http.client.HTTPConnection(*AGENT, timeout=10)
    try:
        conn.request(
            "POST",
            "/",
            json.dumps(body),
            {"Content-Type": "application/json", "Authorization": f"Basic {token}"},
        )
        raw = conn.getresponse().read()
    except OSError as exc:
        raise Refused(f"the Kea Control Agent cannot be reached: {exc}") from None
    finally:
        conn.close()
    answer = json.loads(raw)
    if isinstance(answer, list):
        answer = answer[0] if answer else {"result": 1, "text": "empty answer"}
    return dict(answer)


def _show(ctx: Context, label: str, answer: dict[str, Any]) -> int:
    result = int(answer.get("result", 1))
    text = answer.get("text", "")
    ctx.line(f"{label}: {RESULTS.get(result, result)}" + (f" ({text})" if text else ""))
    if "arguments" in answer:
        ctx.line(json.dumps(mask(answer["arguments"]), indent=2, sort_keys=True))
    return 0 if result in (0, 3) else 1


def _services(args: list[str], what: str) -> list[str]:
    if not args:
        return list(SERVICES)
    syntax.no_more(f"kea {what} {args[0]}", args[1:])
    return [syntax.choice(args[0], SERVICES, "the service")]


def _yes_no(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def ha_lines(state: HaState) -> list[str]:
    """The HA state of kea-dhcp4 and of its partner as it knows it, a few lines."""
    if not state.configured:
        return ["dhcp4 high availability: not configured"]
    age = "unknown" if state.age_seconds is None else f"{state.age_seconds} s ago"
    return [
        f"dhcp4 high availability: {state.mode or 'unknown mode'}",
        f"  this server: {state.local_role or '?'}, state {state.state or '?'}, "
        f"serves {', '.join(state.scopes) or 'no scope'}",
        f"  partner:     {state.partner_role or '?'}, state {state.partner_state or 'not heard'}"
        f", in touch {_yes_no(state.in_touch)}, last answer {age}",
        f"  link interrupted {_yes_no(state.communication_interrupted)}, "
        f"unsent lease updates {state.unsent_updates if state.unsent_updates is not None else '?'}"
        f", partner's clients unanswered {state.unacked_clients or 0}",
    ]


def ha(ctx: Context) -> int:
    status = call(ctx, "status-get", "dhcp4")
    if int(status.get("result", 1)) != 0:
        return _show(ctx, "dhcp4 status", status)
    arguments = status.get("arguments") or {}
    heartbeat: dict[str, Any] = {}
    if arguments.get("high-availability"):
        beat = call(ctx, "ha-heartbeat", "dhcp4")
        if int(beat.get("result", 1)) == 0:
            heartbeat = beat.get("arguments") or {}
    for line in ha_lines(HaState.from_kea(arguments, heartbeat)):
        ctx.line(line)
    return 0


def kea(ctx: Context, args: list[str]) -> int:
    if not args:
        raise Refused("usage: kea status|version|config|stats|leases|lease|lease-hw|ha ...")
    sub, rest = args[0], args[1:]
    status = 0
    if sub in ("status", "version", "stats"):
        command = {"status": "status-get", "version": "version-get", "stats": "statistic-get-all"}
        for service in _services(rest, sub):
            status |= _show(ctx, f"{service} {sub}", call(ctx, command[sub], service))
    elif sub == "config":
        if len(rest) != 1:
            raise Refused("usage: kea config dhcp4|dhcp6|ctrl-agent")
        target = syntax.choice(rest[0], (*SERVICES, "ctrl-agent"), "the service")
        agent_or_service = None if target == "ctrl-agent" else target
        status = _show(ctx, f"{target} config", call(ctx, "config-get", agent_or_service))
    elif sub == "leases":
        for service in _services(rest, sub):
            page = {"from": "start", "limit": PAGE}
            answer = call(ctx, f"lease{service[-1]}-get-page", service, page)
            status |= _show(ctx, f"{service} leases (first {PAGE})", answer)
    elif sub == "lease":
        if len(rest) != 1:
            raise Refused("usage: kea lease ADDRESS")
        addr = syntax.address(rest[0])
        if ":" in addr:
            answer = call(ctx, "lease6-get", "dhcp6", {"ip-address": addr, "type": "IA_NA"})
        else:
            answer = call(ctx, "lease4-get", "dhcp4", {"ip-address": addr})
        status = _show(ctx, f"lease {addr}", answer)
    elif sub == "ha":
        syntax.no_more("kea ha", rest)
        status = ha(ctx)
    elif sub == "lease-hw":
        if len(rest) != 1:
            raise Refused("usage: kea lease-hw HARDWARE-ADDRESS")
        hw = syntax.mac(rest[0])
        answer = call(ctx, "lease4-get-by-hw-address", "dhcp4", {"hw-address": hw})
        status = _show(ctx, f"leases of {hw}", answer)
    else:
        raise Refused(
            f"kea {sub!r} is not available: status, version, config, stats, leases, lease, "
            "lease-hw, ha (read-only views)"
        )
    return status


def _complete(ctx: Context, words: list[str]) -> list[str]:
    if not words:
        return ["status", "version", "config", "stats", "leases", "lease", "lease-hw", "ha"]
    if len(words) == 1 and words[0] in ("status", "version", "stats", "leases"):
        return list(SERVICES)
    if words == ["config"]:
        return [*SERVICES, "ctrl-agent"]
    return []


COMMANDS = [
    Command(
        "kea",
        "kea status|version|stats|leases [dhcp4|dhcp6] | kea config dhcp4|dhcp6|ctrl-agent | "
        "kea lease ADDRESS | kea lease-hw MAC | kea ha",
        "Kea DHCP status, configuration (secrets masked), statistics, leases and high availability",
        kea,
        _complete,
        f"'kea leases' shows the first {PAGE} leases of each service. 'kea ha' shows the HA "
        "state of the DHCPv4 server and of its partner as the server last heard it.",
    )
]
