"""Zones through the dns-agent: kinds, enable and disable, delete, import and export, options,
external changes, and named killed in the middle of a change."""

from __future__ import annotations

import hashlib
import os
import signal
import threading
from typing import Any

import dns.name
import dns.rcode
import dns.rdatatype
import dns.zone
import pytest

from services.common.proc import run
from services.sandbox.sandbox import Sandbox
from tests.dns.conftest import Agent, answer_set, create, query, record_set
from tests.harness.problems import assert_problem
from tests.harness.wait import wait_for

pytestmark = pytest.mark.sandbox

ZONE_FILE = """\
$ORIGIN import.test.
$TTL 1800
@       IN SOA ns1 hostmaster ( 2024010101 3600 900 1209600 300 )
        IN NS  ns1
        IN NS  ns2.example.net.
        IN MX  10 mail
        IN TXT "v=spf1 mx -all"
        IN CAA 0 issuewild ";"
ns1     IN A   203.0.113.53
mail    IN A   203.0.113.25
        IN AAAA 2001:db8::25
www 300 IN CNAME mail
*.dev   IN A   203.0.113.80
_xmpp._tcp IN SRV 5 0 5222 mail
_25._tcp.mail IN TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
mail    IN SSHFP 1 1 0123456789abcdef0123456789abcdef01234567
sip     IN NAPTR 10 100 "S" "SIP+D2U" "" _sip._udp
old     IN DNAME new.example.net.
"""


def test_zone_file_round_trip(agent: Agent, shared_sandbox: Sandbox) -> None:
    response = agent.post("/zones/import", {"name": "import.test", "text": ZONE_FILE})
    zone = agent.ok(response)
    assert zone["serial"] == 2024010101
    assert answer_set(shared_sandbox, "x.dev.import.test.", "A")
    content = agent.records("import.test.")
    original = dns.zone.from_text(ZONE_FILE, origin="import.test.", relativize=False)
    expected = {
        (name.to_text(), ttl, rd.rdtype, rd)
        for name, ttl, rd in original.iterate_rdatas()
        if rd.rdtype != dns.rdatatype.SOA
    }
    served = {
        (n, ttl, dns.rdatatype.from_text(t), rd)
        for n, ttl, t, rd in record_set(content["records"], "import.test.")
    }
    assert served == expected
    # Export gives a zone file that reads back to the same records and SOA.
    exported = agent.ok(agent.get("/zones/import.test./export"))["text"]
    again = dns.zone.from_text(exported, origin="import.test.", relativize=False)
    assert set(again.iterate_rdatas()) == set(original.iterate_rdatas())


def test_bad_zone_file_is_422_and_nothing_is_made(agent: Agent) -> None:
    bad = ZONE_FILE.replace("203.0.113.25", "203.0.113.256").replace("import.test.", "bad.test.")
    response = agent.post("/zones/import", {"name": "bad.test", "text": bad})
    problem = assert_problem(response, 422, "line 10")
    assert [p["line"] for p in problem["problems"]] == [10]
    assert agent.get("/zones/bad.test.").status_code == 404
    # Under another name the file's $ORIGIN is outside the zone: every record under it is
    # refused at its line (none is left out silently), saying so.
    response = agent.post("/zones/import", {"name": "badimport.test", "text": ZONE_FILE})
    problem = assert_problem(response, 422, "line 3")
    assert "the $ORIGIN is import.test." in problem["problems"][0]["message"]
    fields = [p["field"] for p in problem["problems"]]
    assert fields == [f"line {n}" for n in range(3, 19)] + ["text"], fields
    assert agent.get("/zones/badimport.test.").status_code == 404
    conflict = ZONE_FILE.replace("www 300 IN CNAME mail", "mail 300 IN CNAME www").replace(
        "import.test.", "badimport.test."
    )
    response = agent.post("/zones/import", {"name": "badimport.test", "text": conflict})
    problem = assert_problem(response, 422)
    assert "CNAME" in problem["detail"]
    assert [p["line"] for p in problem["problems"]] == [12]  # the CNAME's line


def test_external_nsupdate_is_visible_in_read_back(agent: Agent, shared_sandbox: Sandbox) -> None:
    agent.create_zone("external.test.")
    # nsupdate on the appliance itself: its key counts only from 127.0.0.1.
    script = (
        "server 127.0.0.1\nzone external.test.\n"
        'update add outside.external.test. 300 IN TXT "made by nsupdate"\nsend\n'
    )
    box = shared_sandbox
    run(["ip", "netns", "exec", box.ns, "nsupdate", "-k", str(box.root.tsig_key)],
        input_text=script, timeout=20)  # fmt: skip
    records = agent.records("external.test.")["records"]
    assert {
        "name": "outside.external.test.",
        "type": "TXT",
        "ttl": 300,
        "data": '"made by nsupdate"',
    } in records


def test_zone_kinds_enable_disable_delete(agent: Agent, shared_sandbox: Sandbox) -> None:
    agent.create_zone("life.test.", records=[{"name": "www", "type": "A", "data": "198.51.100.5"}])
    assert answer_set(shared_sandbox, "www.life.test.", "A")
    agent.ok(agent.post("/zones/life.test./disable"))
    assert query(shared_sandbox, "www.life.test.", "A").rcode() == dns.rcode.REFUSED
    assert agent.get("/zones/life.test./records").status_code == 409
    agent.ok(agent.post("/zones/life.test./enable"))
    assert answer_set(shared_sandbox, "www.life.test.", "A")

    key = {"name": "transfer-key", "secret": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}
    agent.create_zone("sec.test.", kind="secondary", primaries=["203.0.113.250"], tsig_key=key)
    agent.create_zone("stub.test.", kind="stub", primaries=["203.0.113.250"])
    agent.create_zone("fwd-only.test.", kind="forward", forwarders=["203.0.113.250"])
    names = {z["name"]: z for z in agent.ok(agent.get("/zones"))}
    assert names["sec.test."]["kind"] == "secondary"
    # The agent holds the key's secret (named has it) and answers only its fingerprint.
    fingerprint = hashlib.sha256(key["secret"].encode()).hexdigest()
    for shown in (names["sec.test."], agent.ok(agent.get("/zones/sec.test."))):
        assert shown["tsig_key"] == {"name": "transfer-key", "algorithm": "hmac-sha256",
                                     "secret": None, "fingerprint": fingerprint}  # fmt: skip
    assert key["secret"] in (shared_sandbox.root.bind_etc / "zones.conf").read_text()
    no_secret = agent.http.patch("/zones/sec.test.", json={"tsig_key": {"name": "transfer-key"}})
    assert_problem(no_secret, 422, "tsig_key.secret")
    assert names["fwd-only.test."]["kind"] == "forward"
    for name in ("sec.test.", "stub.test."):  # configured; not loaded: no primary answers
        status = run(
            ["rndc", "-c", str(shared_sandbox.root.rndc_conf), "zonestatus", name],
            netns=shared_sandbox.ns,
            check=False,
        ).stdout
        assert "zone not loaded" in status, status
    unknown = run(
        ["rndc", "-c", str(shared_sandbox.root.rndc_conf), "zonestatus", "no.test."],
        netns=shared_sandbox.ns,
        check=False,
    ).stdout
    assert "no matching zone" in unknown, unknown
    conf = (shared_sandbox.root.bind_etc / "zones.conf").read_text()
    assert 'primaries { 203.0.113.250 key "transfer-key"; };' in conf

    for name in ("life.test.", "sec.test.", "stub.test.", "fwd-only.test."):
        response = agent.http.delete(f"/zones/{name}")
        assert response.status_code == 204, response.text
    assert query(shared_sandbox, "www.life.test.", "A").rcode() == dns.rcode.REFUSED
    assert not (shared_sandbox.root.bind_lib / "db.life.test").exists()
    # named still serves the appliance's first zone after all that.
    assert query(shared_sandbox, shared_sandbox.zone, "SOA").answer


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"name": "a..b"}, "name"),
        ({"name": "sec2.test", "kind": "secondary"}, "primaries"),
        (
            {"name": "ok.test", "records": [{"name": "x", "type": "A", "data": "1.2.3"}]},
            "records[0].data",
        ),
        ({"name": "ok.test", "allow_transfer": ["not-a-net"]}, "allow_transfer[0]"),
    ],
)
def test_bad_zone_is_422(agent: Agent, spec: dict[str, Any], field: str) -> None:
    response = agent.post("/zones", spec)
    assert_problem(response, 422, field)
    assert agent.get("/zones/ok.test.").status_code == 404


def test_server_options(agent: Agent, shared_sandbox: Sandbox) -> None:
    before = agent.ok(agent.get("/options"))
    options = {
        "recursion": True,
        "allow_recursion": [f"{shared_sandbox.host_address}/32"],
        "forwarders": ["203.0.113.250"],
        "forward_only": True,
        "dnssec_validation": "auto",
        "listen_on": [shared_sandbox.address],
        "listen_on_v6": None,
    }
    try:
        assert agent.ok(agent.http.put("/options", json=options))["recursion"] is True
        conf = shared_sandbox.root.named_conf.read_text()
        assert f"allow-recursion {{ {shared_sandbox.host_address}/32; }};" in conf
        assert "forwarders { 203.0.113.250; };" in conf
        assert "dnssec-validation auto;" in conf
        assert f"listen-on {{ 127.0.0.1; {shared_sandbox.address}; }};" in conf
        assert agent.ok(agent.get("/options")) == options
        assert query(shared_sandbox, shared_sandbox.zone, "SOA").answer
        # Incoherent options are refused; named keeps what it had.
        bad = agent.http.put("/options", json={"recursion": False, "allow_recursion": ["::/0"]})
        assert_problem(bad, 422, "allow_recursion")
        bad = agent.http.put("/options", json={"listen_on": ["203.0.113.99"]})
        assert_problem(bad, 422, "listen_on[0]")
        bad = agent.http.put("/options", json={"forwarders": ['any; }; include "/etc']})
        assert_problem(bad, 422, "forwarders[0]")
        assert agent.ok(agent.get("/options")) == options
    finally:
        agent.ok(agent.http.put("/options", json=before))
    assert "recursion no;" in shared_sandbox.root.named_conf.read_text()


def _kill_named_when(
    box: Sandbox, agent: Agent, zone: str, changes: list[dict[str, Any]], moment: Any
) -> int:
    """Apply ``changes`` and SIGKILL named as soon as ``moment()`` says the apply is under way."""
    result: dict[str, int] = {}

    def apply() -> None:
        result["status"] = agent.change(zone, changes).status_code

    pid = box.supervisor().pid("named")
    worker = threading.Thread(target=apply)
    worker.start()
    try:
        wait_for(moment, timeout=60, interval=0.001, what="the apply to reach named")
        os.kill(pid, signal.SIGKILL)
    finally:
        worker.join(timeout=300)
    wait_for(lambda: query(box, zone, "SOA").answer, timeout=60, what="named back")
    return result["status"]


@pytest.mark.parametrize("path", ["update", "reload"])
def test_killing_named_mid_apply_leaves_a_consistent_zone(sandbox: Sandbox, path: str) -> None:
    agent = Agent(sandbox)
    log = sandbox.root.logs / "named.log"
    zone = "crash.test."
    candidate = sandbox.root.bind_lib / "db.crash.test.new"
    # 1,500 records fit one UPDATE message; 6,000 do not and go through a zone-file reload.
    count = 1500 if path == "update" else 6000
    try:
        agent.create_zone(zone)
        offset = log.stat().st_size

        def moment() -> bool:
            if path == "reload":  # the new zone file is written: named is frozen or about to be
                return candidate.exists()
            with log.open("rb") as fh:  # named logs every RR of an update as it applies it
                fh.seek(offset)
                return b"updating zone 'crash.test/IN': adding" in fh.read()

        changes = [
            create(f"n{i}", "A", f"198.51.{100 + i // 250}.{i % 250 + 1}") for i in range(count)
        ]
        status = _kill_named_when(sandbox, agent, zone, changes, moment)
        assert status in (200, 409, 502), status
        names = {r["name"] for r in agent.records(zone)["records"] if r["type"] == "A"}
        made = {f"n{i}.{zone}" for i in range(count)} & names
        assert made in (set(), {f"n{i}.{zone}" for i in range(count)}), len(made)
        if status == 200:
            assert len(made) == count
        assert not candidate.exists()
        # The agent goes on working: the same change again ends with every record there.
        if not made:
            agent.ok(agent.change(zone, changes))
        names = {r["name"] for r in agent.records(zone)["records"] if r["type"] == "A"}
        assert {f"n{i}.{zone}" for i in range(count)} <= names
    finally:
        agent.close()


def test_soa_fields_and_zone_options_change(agent: Agent, shared_sandbox: Sandbox) -> None:
    agent.create_zone("soa.test.")
    serial = agent.records("soa.test.")["serial"]
    update = {
        "soa": {
            "refresh": 7200,
            "retry": 600,
            "expire": 604800,
            "minimum": 60,
            "rname": "dns-admin.soa.test.",
        },
        "allow_transfer": ["203.0.113.0/24"],
        "notify": "explicit",
        "also_notify": ["203.0.113.9"],
    }
    zone = agent.ok(agent.http.patch("/zones/soa.test.", json=update))
    assert zone["soa"]["refresh"] == 7200 and zone["serial"] > serial
    soa = answer_set(shared_sandbox, "soa.test.", "SOA").pop()
    assert (soa.refresh, soa.retry, soa.expire, soa.minimum) == (7200, 600, 604800, 60)  # type: ignore[attr-defined]
    assert soa.rname.to_text() == "dns-admin.soa.test."  # type: ignore[attr-defined]
    conf = (shared_sandbox.root.bind_etc / "zones.conf").read_text()
    assert "203.0.113.0/24;" in conf and "also-notify { 203.0.113.9; };" in conf
    bad = agent.http.patch("/zones/soa.test.", json={"forwarders": ["203.0.113.1"]})
    assert_problem(bad, 422, "forwarders")
    bad = agent.http.patch("/zones/soa.test.", json={"soa": {"refresh": -1}})
    assert_problem(bad, 422, "soa.refresh")
    bad = agent.http.patch("/zones/soa.test.", json={"soa": {"expire": 2**32}})
    assert_problem(bad, 422, "soa.expire")
    assert answer_set(shared_sandbox, "soa.test.", "SOA") == {soa}


def test_a_zone_named_cannot_load_puts_the_last_good_configuration_back(
    agent: Agent, shared_sandbox: Sandbox
) -> None:
    agent.create_zone("unloadable.test.")
    agent.ok(agent.post("/zones/unloadable.test./disable"))
    good = (shared_sandbox.root.bind_etc / "zones.conf").read_text()
    zone_file = shared_sandbox.root.bind_lib / "db.unloadable.test"
    zone_file.chmod(0)  # named (user bind) cannot read it; named-checkconf (root) does not look
    try:
        response = agent.post("/zones/unloadable.test./enable")
        assert "zonestatus" in assert_problem(response, 502)["detail"]
        assert (shared_sandbox.root.bind_etc / "zones.conf").read_text() == good
        assert not agent.ok(agent.get("/zones/unloadable.test."))["enabled"]
        assert query(shared_sandbox, shared_sandbox.zone, "SOA").answer
        status = run(
            ["rndc", "-c", str(shared_sandbox.root.rndc_conf), "zonestatus", "unloadable.test."],
            netns=shared_sandbox.ns,
            check=False,
        ).stdout
        assert "no matching zone" in status, status
    finally:
        zone_file.chmod(0o644)
    agent.ok(agent.post("/zones/unloadable.test./enable"))
    assert query(shared_sandbox, "unloadable.test.", "SOA").answer
