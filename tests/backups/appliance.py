"""What an appliance serves and holds, made through its Central and read back for comparison:
the end-to-end restore test fills A with it and compares C (restored) with A.

``populate`` makes zones with every record type, DHCP scopes with reservations, options and a
client class, and a user (every change also goes into Central's history). ``observe`` reads
what the appliance really serves and holds: every zone's AXFR (through Central's export, which
reads named back by AXFR), Kea's ``config-get``, the active leases, and Central's objects,
users and history.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import httpx

from services.sandbox.sandbox import Sandbox

HEX64 = "0123456789abcdef" * 4

#: (owner, type, data) for every managed record type.
EVERY_TYPE = [
    ("www", "A", "198.51.100.10"),
    ("www", "AAAA", "2001:db8::10"),
    ("alias", "CNAME", "www"),
    ("@", "MX", "10 mail"),
    ("mail", "A", "198.51.100.25"),
    ("@", "NS", "ns2.example.net."),
    ("host", "PTR", "target.example.net."),
    ("_sip._tcp", "SRV", "10 60 5060 www"),
    ("multi", "TXT", '"first string" "second string"'),
    ("@", "CAA", '0 issue "ca.example.net"'),
    ("_443._tcp.www", "TLSA", f"3 1 1 {HEX64}"),
    ("www", "SSHFP", f"4 2 {HEX64}"),
    ("naptr", "NAPTR", '100 10 "U" "E2U+sip" "!^.*$!sip:info@example.net!" .'),
    ("sub", "NS", "ns1.example.net."),
    ("sub", "DS", f"12345 13 2 {HEX64}"),
    ("moved", "DNAME", "example.net."),
    ("*.wild", "A", "198.51.100.11"),
]


class CentralApi:
    """One appliance's Central as its first administrator."""

    def __init__(self, box: Sandbox, token: str | None = None) -> None:
        self.box = box
        self.token = token or box.central_token()

    def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return self.box.https(
            1231, path, method=method, token=self.token, json_body=body, timeout=120
        )

    def ok(self, response: httpx.Response) -> Any:
        assert response.status_code < 300, (response.request.url, response.text)
        return response.json() if response.content else None

    def get(self, path: str) -> Any:
        return self.ok(self.call("GET", path))

    def post(self, path: str, body: Any) -> Any:
        return self.ok(self.call("POST", path, body))

    def local_server(self, kind: str) -> int:
        if kind == "dhcp":
            items = self.get("/api/v1/dhcp/servers")["items"]
            return int(next(s["id"] for s in items if s["local"]))
        items = self.get(f"/api/v1/servers?filter=local:true kind:{kind}")["items"]
        return int(items[0]["id"])

    def every(self, path: str) -> list[dict[str, Any]]:
        """Every item of a list endpoint (paged by 1000)."""
        items: list[dict[str, Any]] = []
        sep = "&" if "?" in path else "?"
        while True:
            answer = self.get(f"{path}{sep}offset={len(items)}&limit=1000")
            items += answer["items"]
            if len(items) >= answer["total"] or not answer["items"]:
                return items


def record(name: str, rtype: str, data: str) -> dict[str, Any]:
    return {"action": "create", "record": {"name": name, "type": rtype, "data": data}}


def populate(api: CentralApi, box: Sandbox) -> dict[str, Any]:
    """Zones, DHCP objects and a user on ``box`` through its Central; what was made."""
    dns_server = api.local_server("dns")
    zone = api.post(
        "/api/v1/dns/zones",
        {"server_id": dns_server, "name": "types.e2e.test.", "kind": "primary",
         "comment": "every record type"},
    )  # fmt: skip
    api.post(
        f"/api/v1/dns/zones/{zone['id']}/changes",
        {"changes": [record(*item) for item in EVERY_TYPE], "comment": "every type"},
    )
    reverse_net = ipaddress.IPv4Network(f"{box.network.network_address}/24", strict=False)
    reverse = ".".join(reversed(str(reverse_net.network_address).split(".")[:3]))
    rzone = api.post(
        "/api/v1/dns/zones",
        {"server_id": dns_server, "name": f"{reverse}.in-addr.arpa.", "kind": "primary"},
    )
    api.post(
        f"/api/v1/dns/zones/{rzone['id']}/changes",
        {"changes": [record(box.address.split(".")[-1], "PTR", "a.types.e2e.test.")]},
    )
    dhcp = api.local_server("dhcp")
    base = f"/api/v1/dhcp/servers/{dhcp}/v4"
    scopes = api.get(f"{base}/scopes")["items"]
    lab_scope = next(s for s in scopes if ipaddress.IPv4Network(s["subnet"]).overlaps(box.network))
    net = box.network
    api.post(
        f"{base}/scopes/{lab_scope['id']}/reservations",
        {"hw_address": "02:e2:e0:00:00:01", "ip_addresses": [str(net[25])],
         "hostname": "printer", "comment": "the printer"},
    )  # fmt: skip
    api.ok(
        api.call(
            "PUT",
            f"{base}/classes/e2e-phones",
            {
                "name": "e2e-phones",
                "test": "substring(option[60].hex,0,4) == 'SIP/'",
                "global": True,
                "comment": "phones",
            },
        )
    )
    api.ok(
        api.call(
            "PUT",
            f"{base}/options",
            {"options": [{"name": "domain-name", "data": "e2e.test"}], "comment": "options"},
        )
    )
    other = (
        "203.0.113.0/26"
        if net.subnet_of(ipaddress.IPv4Network("198.51.100.0/24"))
        else ("198.51.100.0/26")
    )
    api.post(
        f"{base}/scopes",
        {"subnet": other, "pools": [{"start": other.replace("0/26", "10"),
                                     "end": other.replace("0/26", "40")}],
         "options": [{"name": "routers", "data": other.replace("0/26", "1")}],
         "comment": "a relayed scope"},
    )  # fmt: skip
    user = api.post(
        "/api/v1/users",
        {"username": "e2e-operator", "role": "dns-admin",
         "password": "e2e-operator-password", "comment": "an operator"},
    )  # fmt: skip
    return {"zone": zone, "reverse": rzone, "user": user, "dhcp_server": dhcp}


def axfrs(api: CentralApi) -> dict[str, str]:
    """Every zone's file as named serves it (Central reads it back by AXFR)."""
    out = {}
    for zone in api.every("/api/v1/dns/zones"):
        exported = api.get(f"/api/v1/dns/zones/{zone['id']}/export")
        out[zone["name"]] = exported["text"]
    return out


def active_leases(box: Sandbox) -> dict[str, str]:
    answer = box.kea("lease4-get-all")
    assert answer["result"] in (0, 3), answer
    leases = answer.get("arguments", {}).get("leases", [])
    return {lease["ip-address"]: lease["hw-address"] for lease in leases if lease["state"] == 0}


def kea_config(box: Sandbox) -> dict[str, Any]:
    answer = box.kea("config-get")
    assert answer["result"] == 0, answer
    config = dict(answer["arguments"])
    config.pop("hash", None)
    return config


def central_objects(api: CentralApi) -> dict[str, Any]:
    """Central's own view: zones, records, users, DHCP scopes and classes, the history."""
    dhcp = api.local_server("dhcp")
    zones = api.every("/api/v1/dns/zones")
    records = {
        z["name"]: sorted(
            (r["name"], r["type"], r["data"])
            for r in api.every(f"/api/v1/dns/zones/{z['id']}/records")
        )
        for z in zones
    }
    history = [
        (h["id"], h["actor"], h["object_type"], h["object_id"], h["action"], h["comment"])
        for h in api.every("/api/v1/history?sort=id")
    ]
    return {
        "zones": sorted((z["name"], z["kind"], z["serial"]) for z in zones),
        "records": records,
        "users": sorted((u["username"], u["role"]) for u in api.every("/api/v1/users")),
        "scopes": sorted(
            s["subnet"] for s in api.get(f"/api/v1/dhcp/servers/{dhcp}/v4/scopes")["items"]
        ),
        "classes": sorted(
            c["name"] for c in api.get(f"/api/v1/dhcp/servers/{dhcp}/v4/classes")["items"]
        ),
        "history": history,
    }
