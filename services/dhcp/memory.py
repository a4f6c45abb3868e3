"""An in-memory Kea for unit tests: the transport interface without a daemon.

It keeps a running and a saved configuration per daemon and a lease table, answers the
commands Burrow uses with Kea's answer shapes and result codes, and can be told to refuse a
command (``refuse``) to exercise the paths where Kea says no. It does not validate like Kea;
integration tests use the real daemons.
"""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

import orjson

Json = dict[str, Any]


def _empty(top: str) -> Json:
    key = "subnet4" if top == "Dhcp4" else "subnet6"
    return {top: {key: [], "option-data": [], "option-def": [], "client-classes": []}}


class MemoryKea:
    """A fake of the dhcp4 and dhcp6 daemons behind the Control Agent."""

    def __init__(self) -> None:
        self.running: dict[str, Json] = {"dhcp4": _empty("Dhcp4"), "dhcp6": _empty("Dhcp6")}
        self.saved: dict[str, Json] = copy.deepcopy(self.running)
        self.leases: dict[str, dict[str, Json]] = {"dhcp4": {}, "dhcp6": {}}
        self.refuse: dict[str, str] = {}  # command -> text of the error Kea answers
        self.log: list[str] = []

    def close(self) -> None:
        return None

    def exchange(self, command: str, service: str, arguments: bytes | None) -> bytes:
        return orjson.dumps(self.send(command, service, orjson.loads(arguments or b"null")))

    def decode(self, _command: str, raw: bytes) -> Json:
        answer: Json = orjson.loads(raw)
        return answer

    def send(self, command: str, service: str, arguments: Json | None) -> Json:
        self.log.append(command)
        if command in self.refuse:
            return {"result": 1, "text": self.refuse[command]}
        args = arguments or {}
        handler = getattr(self, "_" + command.replace("-", "_"), None)
        if handler is None:
            return {"result": 2, "text": f"'{command}' command not supported."}
        answer: Json = handler(service, args)
        return answer

    # --- configuration ------------------------------------------------------------
    def _config_get(self, service: str, _args: Json) -> Json:
        return {"result": 0, "arguments": copy.deepcopy(self.running[service])}

    def _check(self, service: str, config: Json) -> str | None:
        top = "Dhcp4" if service == "dhcp4" else "Dhcp6"
        if set(config) != {top}:
            return f"missing {top}"
        key = "subnet4" if service == "dhcp4" else "subnet6"
        entries = list(config[top].get(key, []))
        for network in config[top].get("shared-networks", []):
            entries += network.get(key, [])
        ids = [e.get("id") for e in entries]
        if len(ids) != len(set(ids)):
            return "duplicate subnet id"
        for entry in entries:
            try:
                ipaddress.ip_network(entry["subnet"])
            except (KeyError, ValueError):
                return f"bad subnet {entry.get('subnet')!r}"
        return None

    def _config_test(self, service: str, args: Json) -> Json:
        reason = self._check(service, args)
        if reason:
            return {"result": 1, "text": reason}
        return {"result": 0, "text": "Configuration seems sane."}

    def _config_set(self, service: str, args: Json) -> Json:
        reason = self._check(service, args)
        if reason:
            return {"result": 1, "text": reason}
        self.running[service] = copy.deepcopy(args)
        return {"result": 0, "text": "Configuration successful."}

    def _config_write(self, service: str, _args: Json) -> Json:
        self.saved[service] = copy.deepcopy(self.running[service])
        return {"result": 0, "text": "Configuration written."}

    def _config_reload(self, service: str, _args: Json) -> Json:
        self.running[service] = copy.deepcopy(self.saved[service])
        return {"result": 0, "text": "Configuration successful."}

    def _status_get(self, _service: str, _args: Json) -> Json:
        return {"result": 0, "arguments": {"pid": 1, "uptime": 1}}

    # --- leases -------------------------------------------------------------------
    def add_lease(self, service: str, lease: Json) -> None:
        self.leases[service][lease["ip-address"]] = dict(lease)

    def _sorted(self, service: str) -> list[Json]:
        table = self.leases[service]
        return [table[k] for k in sorted(table, key=lambda a: int(ipaddress.ip_address(a)))]

    def _page(self, service: str, args: Json) -> Json:
        start = args.get("from", "start")
        leases = self._sorted(service)
        if start != "start":
            pivot = int(ipaddress.ip_address(start))
            leases = [x for x in leases if int(ipaddress.ip_address(x["ip-address"])) > pivot]
        page = leases[: int(args["limit"])]
        if not page:
            return {"result": 3, "text": "0 IPv4 lease(s) found.", "arguments": {"leases": []}}
        return {"result": 0, "arguments": {"leases": page, "count": len(page)}}

    _lease4_get_page = _page
    _lease6_get_page = _page

    def _get(self, service: str, args: Json) -> Json:
        lease = self.leases[service].get(args["ip-address"])
        if lease is None:
            return {"result": 3, "text": "Lease not found."}
        return {"result": 0, "arguments": lease}

    _lease4_get = _get
    _lease6_get = _get

    def _by(self, service: str, key: str, value: str) -> Json:
        found = [x for x in self._sorted(service) if x.get(key) == value]
        return {"result": 0 if found else 3, "arguments": {"leases": found}}

    def _lease4_get_by_hw_address(self, service: str, args: Json) -> Json:
        return self._by(service, "hw-address", args["hw-address"])

    def _lease4_get_by_client_id(self, service: str, args: Json) -> Json:
        return self._by(service, "client-id", args["client-id"])

    def _lease6_get_by_duid(self, service: str, args: Json) -> Json:
        return self._by(service, "duid", args["duid"])

    def _lease4_get_by_hostname(self, service: str, args: Json) -> Json:
        return self._by(service, "hostname", args["hostname"])

    _lease6_get_by_hostname = _lease4_get_by_hostname

    def _delete(self, service: str, args: Json) -> Json:
        if self.leases[service].pop(args["ip-address"], None) is None:
            return {"result": 3, "text": "IPv4 lease not found."}
        return {"result": 0, "text": "IPv4 lease deleted."}

    def _lease4_wipe(self, service: str, args: Json) -> Json:
        table = self.leases[service]
        gone = [k for k, v in table.items() if v["subnet-id"] == args["subnet-id"]]
        for key in gone:
            del table[key]
        return {"result": 0 if gone else 3, "text": f"Deleted {len(gone)} lease(s)"}

    _lease6_wipe = _lease4_wipe

    def _add(self, service: str, args: Json) -> Json:
        if args["ip-address"] in self.leases[service]:
            return {"result": 1, "text": "lease already exists"}
        # Kea finds the subnet of an address itself; the fake takes the first one
        lease = {"valid-lft": 3600, "cltt": 0, "subnet-id": 1, "state": 0, **args}
        self.leases[service][args["ip-address"]] = lease
        return {"result": 0, "text": "Lease added."}

    def _update(self, service: str, args: Json) -> Json:
        if args["ip-address"] not in self.leases[service]:
            return {"result": 1, "text": "failed to update the lease: no such lease"}
        self.leases[service][args["ip-address"]] = {"cltt": 0, **args}
        return {"result": 0, "text": "Lease updated."}

    _lease4_add = _add
    _lease6_add = _add
    _lease4_update = _update
    _lease6_update = _update
    _lease4_del = _delete
    _lease6_del = _delete

    def _stat_lease4_get(self, service: str, _args: Json) -> Json:
        key = "subnet4" if service == "dhcp4" else "subnet6"
        top = "Dhcp4" if service == "dhcp4" else "Dhcp6"
        rows = []
        for entry in self.running[service][top].get(key, []):
            total = 0
            for pool in entry.get("pools", []):
                first, _, last = str(pool["pool"]).partition("-")
                total += int(ipaddress.ip_address(last.strip()))
                total -= int(ipaddress.ip_address(first.strip())) - 1
            assigned = sum(
                1 for x in self.leases[service].values() if x["subnet-id"] == entry["id"]
            )
            rows.append([entry["id"], total, assigned, assigned, 0])
        columns = ["subnet-id", "total-addresses", "cumulative-assigned-addresses"]
        columns += ["assigned-addresses", "declined-addresses"]
        return {"result": 0, "arguments": {"result-set": {"columns": columns, "rows": rows}}}

    _stat_lease6_get = _stat_lease4_get
