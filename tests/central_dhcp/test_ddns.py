"""DNS updates from DHCP: Central sets which zones Kea's DHCP-DDNS server updates, a real
dhclient asking for a name gets its A and PTR records in named, signed with a TSIG key made
through Central, and Central shows them as made by DHCP."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rdatatype
import dns.reversename

from services.sandbox.sandbox import Sandbox
from tests.central_dhcp.conftest import CentralDhcp, kea_config
from tests.harness.dhcp import dhclient
from tests.harness.problems import assert_problem
from tests.harness.wait import wait_for

FORWARD = "dyn-ddns.test."


def _answer(box: Sandbox, name: str, rtype: str) -> set[str]:
    query = dns.message.make_query(name, dns.rdatatype.from_text(rtype))
    reply = dns.query.udp(query, box.address, timeout=2)
    return {
        rd.to_text()
        for rrset in reply.answer
        for rd in rrset
        if rrset.rdtype == query.question[0].rdtype
    }


def _reverse_zone(box: Sandbox) -> str:
    # the /24 around the sandbox's /27: 100.51.198.in-addr.arpa.
    first = ipaddress.IPv4Address(box.address).packed
    return f"{first[2]}.{first[1]}.{first[0]}.in-addr.arpa."


def test_a_dhcp_client_gets_its_names_in_dns(
    cd_box: Sandbox, central: CentralDhcp, tmp_path: Path
) -> None:
    box = cd_box
    dns_id = central.ok(central.call("GET", "/api/v1/servers?filter=local:true kind:dns"))["items"][
        0
    ]["id"]
    made: dict[str, Any] = {}
    scope: dict[str, Any] | None = None
    try:
        made["key"] = central.ok(central.call(
            "POST", "/api/v1/dns/tsig-keys", {"server_id": dns_id, "name": "ddns-lab"}
        ))  # fmt: skip
        for name in (FORWARD, _reverse_zone(box)):
            made[name] = central.ok(central.call(
                "POST", "/api/v1/dns/zones", {"server_id": dns_id, "name": name}
            ))  # fmt: skip

        # Refused whole, naming each field, nothing set: a zone Central does not manage, a
        # key it does not know, a forward zone given as reverse.
        bad = {"forward": [{"zone": "nowhere.test.", "key": "ddns-lab"},
                           {"zone": FORWARD, "key": "no-such-key"}],
               "reverse": [{"zone": FORWARD, "key": "ddns-lab"}]}  # fmt: skip
        assert_problem(central.dhcp("PUT", "/ddns", bad), 422, "reverse[0].zone")
        bad["reverse"] = []
        problem = assert_problem(central.dhcp("PUT", "/ddns", bad), 422, "forward[0].zone")
        assert [p["field"] for p in problem["problems"]] == ["forward[0].zone", "forward[1].key"]
        assert central.ok(central.dhcp("GET", "/ddns")) == {"forward": [], "reverse": []}

        settings = {"forward": [{"zone": FORWARD, "key": "ddns-lab"}],
                    "reverse": [{"zone": _reverse_zone(box), "key": "ddns-lab"}]}  # fmt: skip
        assert central.ok(central.dhcp("PUT", "/ddns", settings | {"comment": "lab"})) == settings
        for name in (FORWARD, _reverse_zone(box)):
            zone = central.ok(central.call("GET", f"/api/v1/dns/zones/{made[name]['id']}"))
            assert "ddns-lab" in zone["options"]["update_keys"], zone
        assert kea_config(box)["Dhcp4"]["dhcp-ddns"]["enable-updates"] is True
        entry = central.history(object_type="dhcp-ddns")[0]
        assert entry["comment"] == "lab" and entry["after"] == settings

        scope = central.ok(central.dhcp("POST", "/v4/scopes", {
            "subnet": str(box.network),
            "pools": [{"start": str(box.network[16]), "end": str(box.network[20])}],
            "extra": {"ddns-send-updates": True, "ddns-qualifying-suffix": FORWARD,
                      "ddns-override-client-update": True},
        }))  # fmt: skip
        conf = tmp_path / "dhclient.conf"
        conf.write_text('send host-name "printer1";\n')
        lease = dhclient(box.add_client(mac="02:dd:00:00:00:01"), extra=["-cf", str(conf)])
        address = lease["new_ip_address"]
        host = f"printer1.{FORWARD}"
        wait_for(lambda: _answer(box, host, "A") == {address}, timeout=20,
                 what=f"named to answer {host} A {address}")  # fmt: skip
        ptr = dns.reversename.from_address(address).to_text()
        wait_for(lambda: _answer(box, ptr, "PTR") == {host}, timeout=20,
                 what=f"named to answer {ptr} PTR {host}")  # fmt: skip

        # Central takes them in as made by DHCP, not as someone's change behind its back.
        central.ok(central.call("POST", f"/api/v1/dns/servers/{dns_id}/sync"))
        records = central.ok(central.call(
            "GET", f"/api/v1/dns/zones/{made[FORWARD]['id']}/records?filter=name:{host}"
        ))["items"]  # fmt: skip
        assert {r["type"] for r in records} == {"A", "DHCID"}, records
        assert {r["origin"] for r in records} == {"dhcp"}, records
        changes = central.history(object_type="dns-zone", object_id=str(made[FORWARD]["id"]))
        assert changes[0]["actor"] == "kea-dhcp-ddns" and changes[0]["action"] == "dhcp-update"
    finally:
        central.ok(central.dhcp("PUT", "/ddns", {"forward": [], "reverse": []}))
        if scope is not None:
            central.ok(
                central.dhcp(
                    "DELETE",
                    f"/v4/scopes/{scope['scope']['id'] if 'scope' in scope else scope['id']}",
                )
            )
        for name in (FORWARD, _reverse_zone(box)):
            if name in made:
                central.call("DELETE", f"/api/v1/dns/zones/{made[name]['id']}")
        if "key" in made:
            central.call("DELETE", f"/api/v1/dns/tsig-keys/{made['key']['id']}")
    assert kea_config(box)["Dhcp4"]["dhcp-ddns"]["enable-updates"] is False
