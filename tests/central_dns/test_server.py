"""Server options and secondary, forward and stub zones through Central's API, on a sandbox of
this module's own with a second named (the lab's upstream) on its network."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dns.flags
import dns.query
import dns.rdatatype
import dns.tsig
import dns.zone
import pytest

from services.common.proc import run
from services.dns.running import parse_options
from services.sandbox.sandbox import Sandbox
from tests.central_dns.conftest import CentralDns
from tests.central_dns.lab import Lab, host_query, refused, upstream_data
from tests.conftest import SandboxFactory, _need_root
from tests.harness import appliance_dns
from tests.harness.problems import assert_problem
from tests.harness.wait import wait_for

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def lab() -> Iterator[tuple[CentralDns, Lab]]:
    _need_root()
    factory = SandboxFactory("o")
    lab: Lab | None = None
    try:
        box = factory.start()
        lab = Lab(box)
        lab.start()
        yield CentralDns(box), lab
    finally:
        if lab is not None:
            lab.stop()
        factory.close()


def _path(api: CentralDns) -> str:
    return f"/api/v1/dns/servers/{api.server_id}/options"


def _put(api: CentralDns, options: dict[str, Any], comment: str = "") -> Any:
    return api.call("PUT", _path(api), {"options": options, "comment": comment})


def _running(box: Sandbox) -> str:
    """named's configuration as named-checkconf prints it (the canonical form)."""
    return run(["named-checkconf", "-p", str(box.root.named_conf)]).stdout


def _options_history(api: CentralDns) -> list[dict[str, Any]]:
    path = (
        f"/api/v1/history?filter=object_type:dns-server-options object_id:{api.server_id}&sort=-id"
    )
    return list(api.ok(api.call("GET", path))["items"])


def test_server_options_through_central(lab: tuple[CentralDns, Lab]) -> None:
    api, net = lab
    box = api.box
    www = "www.up.test."
    options = {
        "recursion": True,
        "allow_recursion": [f"{net.client_address}/32", "localhost"],
        "forwarders": [net.upstream_address],
        "forward_only": True,
        "listen_on": [box.address],
        "listen_on_v6": [box.address6],
        "dnssec_validation": "yes",
    }
    # Before: recursion off (the default), so the client's recursive query is refused.
    assert net.dig(www).status == "REFUSED"
    answer = api.ok(_put(api, options, comment="resolver for the lab"))
    assert answer["known"] is True
    assert answer["options"] == options
    assert api.ok(api.call("GET", _path(api)))["options"] == options
    entry = _options_history(api)[0]
    assert entry["action"] == "update" and entry["comment"] == "resolver for the lab"
    assert entry["after"] == options

    # The running configuration holds them (named-checkconf -p of the file named loaded) ...
    running = _running(box)
    assert f"forwarders {{\n\t\t{net.upstream_address};\n\t}};" in running
    assert "forward only;" in running and "dnssec-validation yes;" in running
    assert f"\t\t{net.client_address}/32;" in running and "recursion yes;" in running
    assert parse_options(running).model_dump(mode="json") == options
    # ... and named acts on them: the client's query is forwarded to the upstream named, ...
    reply = net.dig(www)
    assert reply.status == "NOERROR" and reply.recursion_available
    assert reply.data == {upstream_data("up.test.")[www]}
    seen = net.queries_seen(www)
    assert any("client @0x" in line and f"{box.address}#" in line for line in seen), seen
    # ... a client not in allow-recursion is refused, ...
    assert refused(host_query(box, www))
    # ... named listens on the addresses given and no other.
    extra = str(box.network[7])
    run(["ip", "-n", box.ns, "addr", "add", f"{extra}/{box.network.prefixlen}", "dev", "br0"])
    assert net.dig(box.zone, "SOA", server=extra).status == "NO ANSWER"
    moved = api.ok(_put(api, {**options, "listen_on": [box.address, extra]}, "second address"))
    assert moved["options"]["listen_on"] == [box.address, extra]
    wait_for(
        lambda: net.dig(box.zone, "SOA", server=extra).status == "NOERROR",
        timeout=20, interval=0.5, what="named on the new address",
    )  # fmt: skip
    api.ok(_put(api, options, "back to one address"))
    wait_for(
        lambda: net.dig(box.zone, "SOA", server=extra).status == "NO ANSWER",
        timeout=20, interval=0.5, what="named off the address",
    )  # fmt: skip

    # Bad input: 422 naming the field; nothing changes in Central or in named.
    conf = box.root.named_conf.read_text()
    entries = len(_options_history(api))
    bad = [
        ({**options, "forwarders": ["upstream.example."]}, "options.forwarders[0]"),
        ({**options, "listen_on": [box.address, "203.0.113.249"]}, "options.listen_on[1]"),
        ({**options, "listen_on_v6": ["2001:db8:ffff::99"]}, "options.listen_on_v6[0]"),
        ({**options, "allow_recursion": ["trusted-nets"]}, "options.allow_recursion[0]"),
        ({**options, "allow_recursion": ["198.51.100.7/24"]}, "options.allow_recursion[0]"),
        ({**options, "dnssec_validation": "maybe"}, "options.dnssec_validation"),
        ({**options, "recursion": "yes"}, "options.recursion"),
    ]
    for body, field in bad:
        problem = assert_problem(_put(api, body), 422)
        assert [p["field"] for p in problem["problems"]] == [field], problem
    assert box.root.named_conf.read_text() == conf
    assert api.ok(api.call("GET", _path(api)))["options"] == options
    assert len(_options_history(api)) == entries
    assert net.dig(www).data == {upstream_data("up.test.")[www]}

    # Recursion off: the client that was allowed is refused now.
    api.ok(_put(api, {"recursion": False, "dnssec_validation": "no"}, "authoritative only"))
    reply = net.dig("host.up.test.")
    assert reply.status == "REFUSED" and not reply.recursion_available
    assert "recursion no;" in _running(box)


def test_options_changed_behind_centrals_back_show_as_external(
    lab: tuple[CentralDns, Lab],
) -> None:
    api, _net = lab
    box = api.box
    api.ok(_put(api, {"recursion": False, "dnssec_validation": "no"}, "known state"))
    api.ok(api.call("POST", f"/api/v1/dns/servers/{api.server_id}/sync"))
    # Someone edits named.conf on the appliance and reloads named.
    conf = box.root.named_conf.read_text()
    assert "dnssec-validation no;" in conf
    box.root.named_conf.write_text(conf.replace("dnssec-validation no;", "dnssec-validation auto;"))
    box.rndc("reconfig")
    synced = api.ok(api.call("POST", f"/api/v1/dns/servers/{api.server_id}/sync"))
    assert synced["options_changed"] is True
    assert api.ok(api.call("GET", _path(api)))["options"]["dnssec_validation"] == "auto"
    entry = _options_history(api)[0]
    assert entry["actor"] == "external" and entry["action"] == "external-change"
    assert entry["before"]["dnssec_validation"] == "no"
    assert entry["after"]["dnssec_validation"] == "auto"
    # The agent adopted it: a later change of zones keeps it in named.conf.
    api.create_zone(api.new_zone_name())
    assert "dnssec-validation auto;" in box.root.named_conf.read_text()
    again = api.ok(api.call("POST", f"/api/v1/dns/servers/{api.server_id}/sync"))
    assert again["options_changed"] is False


def _recursive_for_client(api: CentralDns, net: Lab, **extra: Any) -> None:
    options = {"recursion": True, "allow_recursion": [f"{net.client_address}/32"], **extra}
    api.ok(_put(api, options, "recursion for the lab client"))


def _axfr(address: str, zone: str) -> set[str]:
    return _lines(dns.zone.from_xfr(dns.query.xfr(address, zone, timeout=5)))


def _lines(transferred: dns.zone.Zone) -> set[str]:
    return {
        f"{name} {rds.ttl} {dns.rdatatype.to_text(rds.rdtype)} {rd.to_text()}"
        for name, node in transferred.nodes.items()
        for rds in node.rdatasets
        for rd in rds
    }


def test_a_secondary_zone_transfers_from_its_primary(lab: tuple[CentralDns, Lab]) -> None:
    api, net = lab
    zone = api.create_zone(
        "xfr.test.", kind="secondary", primaries=[net.upstream_address], comment="secondary"
    )
    assert zone["kind"] == "secondary" and zone["options"]["primaries"] == [net.upstream_address]
    www = "www.xfr.test."
    wait_for(
        lambda: api.served(www, "A") == {upstream_data("xfr.test.")[www]},
        timeout=30, interval=0.2, what="the secondary zone transferred",
    )  # fmt: skip
    answer = api.box.dns_query(www, "A")
    assert answer.flags & dns.flags.AA  # authoritative: served from the transferred copy
    served = appliance_dns.transfer(api.box, "xfr.test.", timeout=5)
    assert _lines(served) == _axfr(net.upstream_address, "xfr.test.")
    listed = api.ok(api.call("GET", "/api/v1/dns/zones?filter=name:xfr.test."))["items"]
    assert [z["kind"] for z in listed] == ["secondary"]
    # Central shows the serial and the records named serves (the upstream's serial is 7).
    shown = api.ok(api.call("GET", f"/api/v1/dns/zones/{zone['id']}"))
    assert shown["serial"] == 7 and " 7 " in shown["soa"]
    records = {(r["name"], r["type"], r["data"]) for r in api.records(zone["id"])}
    assert (www, "A", upstream_data("xfr.test.")[www]) in records
    assert ("xfr.test.", "TXT", '"served by the upstream"') in records
    synced = api.ok(api.call("POST", f"/api/v1/dns/servers/{api.server_id}/sync"))
    assert "xfr.test." not in synced["changed"]  # a transfer is not an external change
    listed = api.ok(api.call("GET", "/api/v1/dns/zones?filter=name:xfr.test."))["items"]
    assert listed[0]["serial"] == 7 and listed[0]["record_count"] == len(records)


def test_a_forward_zone_forwards(lab: tuple[CentralDns, Lab]) -> None:
    api, net = lab
    _recursive_for_client(api, net)
    api.create_zone("fwd.test.", kind="forward", forwarders=[net.upstream_address])
    www = "www.fwd.test."
    before = len(net.queries_seen(www))
    reply = net.dig(www)
    assert reply.status == "NOERROR", reply
    assert reply.data == {upstream_data("fwd.test.")[www]}
    assert len(net.queries_seen(www)) > before
    # A name outside the forward zone is not sent to the upstream (no global forwarders now).
    other = "host.up.test."
    asked = len(net.queries_seen(other))
    assert net.dig(other).status != "NOERROR"
    assert len(net.queries_seen(other)) == asked


def test_a_stub_zone_resolves_via_its_primaries(lab: tuple[CentralDns, Lab]) -> None:
    api, net = lab
    _recursive_for_client(api, net)
    api.create_zone("stub.test.", kind="stub", primaries=[net.upstream_address])
    host = "host.stub.test."
    reply = wait_for(
        lambda: (r := net.dig(host)).status == "NOERROR" and r,
        timeout=30, interval=0.5, what="the stub zone resolving",
    )  # fmt: skip
    assert reply.data == {upstream_data("stub.test.")[host]}
    assert net.queries_seen(host), "the query did not reach the stub zone's name server"
    # Global forwarders (here one that never answers) do not take the stub zone's names.
    silent = str(api.box.network[9])
    _recursive_for_client(api, net, forwarders=[silent], forward_only=True)
    www = "www.stub.test."
    reply = net.dig(www)
    assert reply.status == "NOERROR", reply
    assert reply.data == {upstream_data("stub.test.")[www]}


def test_named_down_during_a_change_keeps_the_old_configuration(
    lab: tuple[CentralDns, Lab],
) -> None:
    api, net = lab
    box = api.box
    known = {"recursion": False, "dnssec_validation": "no"}
    api.ok(_put(api, known, "known state"))
    conf = box.root.named_conf.read_text()
    entries = len(_options_history(api))
    supervisor = box.supervisor()
    supervisor.call("supervisor.stopProcess", "named")
    try:
        wanted = {"recursion": True, "allow_recursion": [f"{net.client_address}/32"]}
        response = _put(api, wanted, "while named is down")
        problem = assert_problem(response, 502)
        assert "named" in problem["detail"] and "Errno" not in problem["detail"]
    finally:
        supervisor.call("supervisor.startProcess", "named")
    assert box.root.named_conf.read_text() == conf
    stored = api.ok(api.call("GET", _path(api)))["options"]
    assert stored["recursion"] is False and stored["allow_recursion"] == []
    assert len(_options_history(api)) == entries
    wait_for(lambda: box.dns_query(box.zone, "SOA").answer, timeout=30, what="named back")
    assert net.dig("www.up.test.").status == "REFUSED"
    assert "recursion no;" in _running(box)
