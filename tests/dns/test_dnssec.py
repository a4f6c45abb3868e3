"""DNSSEC through the dns-agent with a real named: a zone signed under a short test policy
validates against its DS, dynamic updates are signed, a ZSK rollover completes, unsigning ends
with no keys; TSIG key objects grant transfers and updates per zone."""

from __future__ import annotations

import base64
import secrets
from typing import Any

import dns.dnssec
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.update
import dns.xfr
import dns.zone
import pytest

from services.sandbox.sandbox import Sandbox
from tests.dns.conftest import Agent, create
from tests.harness.problems import assert_problem
from tests.harness.wait import wait_for

pytestmark = pytest.mark.sandbox

#: A policy with seconds-scale timings: a ZSK lives 40 s (named refuses a lifetime shorter
#: than a rollover takes: here about 25 s of publication, signature refresh and safety).
FAST = {
    "name": "fast",
    "keys": "ksk-zsk",
    "ksk_lifetime": 0,
    "zsk_lifetime": 40,
    "dnskey_ttl": 5,
    "max_zone_ttl": 10,
    "zone_propagation_delay": 1,
    "publish_safety": 1,
    "retire_safety": 1,
    "purge_keys": 0,
    "signatures_refresh": 50,
    "signatures_validity": 60,
    "signatures_validity_dnskey": 60,
    "signatures_jitter": 5,
    "parent_ds_ttl": 5,
    "parent_propagation_delay": 1,
}


def signed_query(box: Sandbox, name: str, rtype: str) -> dns.message.Message:
    query = dns.message.make_query(name, dns.rdatatype.from_text(rtype), want_dnssec=True)
    return dns.query.tcp(query, box.address, timeout=5)


def rrsets(answer: dns.message.Message, rtype: str) -> tuple[dns.rrset.RRset, dns.rrset.RRset]:
    wanted = dns.rdatatype.from_text(rtype)
    data = next(r for r in answer.answer if r.rdtype == wanted)
    sigs = next(r for r in answer.answer if r.rdtype == dns.rdatatype.RRSIG and r.covers == wanted)
    return data, sigs


def validated_keys(box: Sandbox, zone: str, ds: list[str]) -> dict[dns.name.Name, Any]:
    """The zone's DNSKEY RRset, validated by its own KSK, whose digest is one of ``ds``."""
    origin = dns.name.from_text(zone)
    keys, sigs = rrsets(signed_query(box, zone, "DNSKEY"), "DNSKEY")
    anchors = [dns.rdata.from_text("IN", "DS", text) for text in ds]
    matching = [
        key
        for key in keys
        for anchor in anchors
        if dns.dnssec.make_ds(origin, key, anchor.digest_type) == anchor
    ]
    assert matching, "no DNSKEY served matches the DS the agent gave"
    dns.dnssec.validate(keys, sigs, {origin: keys})  # raises ValidationFailure
    return {origin: keys}


def assert_signed(box: Sandbox, zone: str, name: str, rtype: str, ds: list[str]) -> None:
    keyring = validated_keys(box, zone, ds)
    data, sigs = rrsets(signed_query(box, name, rtype), rtype)
    dns.dnssec.validate(data, sigs, keyring)


def state(agent: Agent, zone: str) -> dict[str, Any]:
    return dict(agent.ok(agent.get(f"/zones/{zone}/dnssec")))


@pytest.fixture(scope="module")
def fast_policy(agent: Agent) -> dict[str, Any]:
    return dict(agent.ok(agent.http.put("/dnssec/policies/fast", json=FAST)))


def test_policy_is_checked(agent: Agent) -> None:
    bad = {**FAST, "name": "bad", "signatures_refresh": 90}
    assert_problem(agent.http.put("/dnssec/policies/bad", json=bad), 422, "signatures_refresh")
    short = {**FAST, "name": "short", "zsk_lifetime": 5}
    response = agent.http.put("/dnssec/policies/short", json=short)
    assert_problem(response, 422)
    assert "rollover" in response.text
    assert "short" not in {p["name"] for p in agent.ok(agent.get("/dnssec/policies"))}
    response = agent.post("/zones", {"name": "nopolicy.test", "dnssec_policy": "missing"})
    assert_problem(response, 422, "dnssec_policy")


def test_ttl_above_the_policy_is_refused(agent: Agent, fast_policy: dict[str, Any]) -> None:
    # fast allows TTLs up to 10 s; named would not load the zone with its default of 3600.
    response = agent.post("/zones", {"name": "longttl.test", "dnssec_policy": "fast"})
    assert "3600" in assert_problem(response, 422, "dnssec_policy")["detail"]
    agent.create_zone("longttl.test.", ttl=10)
    try:
        agent.ok(agent.change("longttl.test.", [create("old", "A", "198.51.100.7", ttl=600)]))
        response = agent.http.patch("/zones/longttl.test.", json={"dnssec_policy": "fast"})
        assert "600" in assert_problem(response, 422, "dnssec_policy")["detail"]
        assert agent.ok(agent.get("/zones/longttl.test."))["dnssec_policy"] is None
    finally:
        agent.http.delete("/zones/longttl.test.")


def test_signed_zone_validates_and_updates_are_signed(
    agent: Agent, shared_sandbox: Sandbox, fast_policy: dict[str, Any]
) -> None:
    zone = "signed.test."
    agent.create_zone(zone, ttl=10, dnssec_policy="fast")
    try:
        found = wait_for(
            lambda: (s := state(agent, zone))["signed"] and s["ds"] and s,
            timeout=30,
            what="named to sign the zone",
        )
        assert found["policy"] == "fast" and not found["unsigning"]
        assert {k["role"] for k in found["keys"]} == {"KSK", "ZSK"}
        assert "dnssec-policy: fast" in found["status"]
        assert_signed(shared_sandbox, zone, zone, "SOA", found["ds"])
        assert_signed(shared_sandbox, zone, zone, "NS", found["ds"])
        # A dynamic update through the agent is signed as it is applied.
        agent.ok(agent.change(zone, [create("www", "A", "198.51.100.80", ttl=10)]))
        assert_signed(shared_sandbox, zone, "www." + zone, "A", found["ds"])
        # Central's view of the records stays the administrator's: no RRSIG, NSEC, DNSKEY.
        types = {r["type"] for r in agent.records(zone)["records"]}
        assert types == {"NS", "A"}, types
        # The keys are named's, in the state root's key directory.
        files = {p.name for p in shared_sandbox.root.bind_keys.iterdir()}
        for key in found["keys"]:
            assert any(f"+{key['id']:05d}.private" in f for f in files)
    finally:
        agent.http.delete(f"/zones/{zone}")


def test_zsk_rollover_completes_and_unsigning(
    agent: Agent, shared_sandbox: Sandbox, fast_policy: dict[str, Any]
) -> None:
    zone = "roll.test."
    agent.create_zone(zone, ttl=10, dnssec_policy="fast")
    try:
        first = wait_for(
            lambda: (s := state(agent, zone))["signed"] and s, timeout=30, what="signing"
        )
        zsk = next(k["id"] for k in first["keys"] if k["role"] == "ZSK")

        def rolled() -> dict[str, Any] | None:
            now = state(agent, zone)
            keys = {k["id"]: k for k in now["keys"]}
            old = keys.get(zsk)
            new = [k for k in now["keys"] if k["role"] == "ZSK" and k["id"] != zsk]
            done = (
                old is not None
                and old["goal"] == "hidden"
                and old["dnskey"] == "hidden"
                and old["zone_rrsig"] == "hidden"
                and any(k["goal"] == "omnipresent" and k["zone_rrsig"] == "omnipresent"
                        for k in new)
            )  # fmt: skip
            return now if done else None

        after = wait_for(rolled, timeout=150, interval=2, what="the ZSK rollover to complete")
        served_tags = {
            dns.dnssec.key_id(dns.rdata.from_text("IN", "DNSKEY", k)) for k in after["dnskey"]
        }
        assert zsk not in served_tags
        assert_signed(shared_sandbox, zone, zone, "NS", after["ds"])

        # The parent publishes the DS: told so, named moves the KSK's DS state on to
        # omnipresent once the parent's DS TTL and propagation delay have passed.
        ksk = next(k["id"] for k in after["keys"] if k["role"] == "KSK")
        wrong = agent.post(f"/zones/{zone}/dnssec/checkds", {"state": "published", "key_id": 1})
        assert_problem(wrong, 422, "key_id")
        agent.ok(agent.post(f"/zones/{zone}/dnssec/checkds", {"state": "published"}))
        wait_for(
            lambda: next(k for k in state(agent, zone)["keys"] if k["id"] == ksk)["ds"]
            == "omnipresent",
            timeout=60, interval=1, what="the KSK's DS omnipresent",
        )  # fmt: skip
        # Unsigning: BIND's insecure policy first; the zone stays validly signed until the
        # DS has aged out (insecure's timings: about a day), and the policy stays until then.
        step = agent.ok(agent.http.patch(f"/zones/{zone}", json={"dnssec_policy": None}))
        assert step["dnssec_policy"] == "insecure"
        unsigning = state(agent, zone)
        assert unsigning["unsigning"] and unsigning["signed"]
        assert "dnssec-policy: insecure" in unsigning["status"]
        assert all(k["goal"] == "hidden" for k in unsigning["keys"])
        assert_signed(shared_sandbox, zone, zone, "NS", after["ds"])
        again = agent.ok(agent.http.patch(f"/zones/{zone}", json={"dnssec_policy": None}))
        assert again["dnssec_policy"] == "insecure"
    finally:
        agent.http.delete(f"/zones/{zone}")


def test_policy_in_use_is_not_deleted(agent: Agent, fast_policy: dict[str, Any]) -> None:
    zone = "inuse.test."
    agent.create_zone(zone, ttl=10, dnssec_policy="fast")
    try:
        response = agent.http.delete("/dnssec/policies/fast")
        assert_problem(response, 409, "name")
        assert zone in response.json()["detail"]
    finally:
        agent.http.delete(f"/zones/{zone}")


def _secret() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _transfer(box: Sandbox, zone: str, key: dns.tsig.Key | None) -> int:
    """The rcode of an AXFR of ``zone`` from the test's host, signed with ``key``."""
    query = dns.message.make_query(zone, dns.rdatatype.AXFR)
    if key is not None:
        query.use_tsig(key)
    try:
        answer = dns.query.tcp(query, box.address, timeout=5)
    except dns.tsig.PeerBadKey:
        return int(dns.rcode.NOTAUTH)
    return int(answer.rcode())


def _update(
    box: Sandbox, zone: str, key: dns.tsig.Key, name: str = "fromkey", rtype: str = "A"
) -> int:
    update = dns.update.UpdateMessage(zone, keyring=key)
    data = "198.51.100.99" if rtype == "A" else '"from a key"'
    update.add(name, 60, rtype, data)
    try:
        return int(dns.query.tcp(update, box.address, timeout=5).rcode())
    except dns.tsig.PeerBadKey:
        return int(dns.rcode.NOTAUTH)


def test_tsig_keys_grant_transfer_and_update(agent: Agent, shared_sandbox: Sandbox) -> None:
    zone = "keyed.test."
    granted = {"name": "xfr-granted", "algorithm": "hmac-sha256", "secret": _secret()}
    other = {"name": "xfr-other", "algorithm": "hmac-sha512", "secret": _secret()}
    for key in (granted, other):
        assert agent.ok(agent.post("/keys", key)) == {
            "name": key["name"], "algorithm": key["algorithm"], "zones": []
        }  # fmt: skip
    try:
        listed = agent.ok(agent.get("/keys"))
        assert granted["secret"] not in str(listed) and "secret" not in str(listed)
        response = agent.post("/zones", {"name": zone, "transfer_keys": ["nokey"]})
        assert_problem(response, 422, "transfer_keys[0]")
        agent.create_zone(zone, transfer_keys=["xfr-granted"], update_keys=["xfr-granted"])
        good = dns.tsig.Key(granted["name"], granted["secret"], granted["algorithm"])
        bad = dns.tsig.Key(other["name"], other["secret"], other["algorithm"])
        assert _transfer(shared_sandbox, zone, good) == dns.rcode.NOERROR
        assert _transfer(shared_sandbox, zone, None) in (dns.rcode.REFUSED, dns.rcode.NOTAUTH)
        assert _transfer(shared_sandbox, zone, bad) in (dns.rcode.REFUSED, dns.rcode.NOTAUTH)
        assert _update(shared_sandbox, zone, bad) in (dns.rcode.REFUSED, dns.rcode.NOTAUTH)
        assert _update(shared_sandbox, zone, good) == dns.rcode.NOERROR
        # A key in use is not deleted; the refusal names the zone.
        response = agent.http.delete("/keys/xfr-granted")
        assert_problem(response, 409, "name")
        assert zone in response.json()["detail"]
        assert "secret" not in agent.get("/zones/" + zone).text
        # A grant (update-policy): the other key may change A records at dyn and below only.
        grants = "grants.test."
        grant = {"key": "xfr-other", "match": "subdomain", "name": "dyn", "types": ["A"]}
        both = {"name": grants, "update_grants": [grant], "allow_update": ["198.51.100.0/24"]}
        assert_problem(agent.post("/zones", both), 422, "update_grants")
        missing = {"name": grants, "update_grants": [{**grant, "key": "nokey"}]}
        assert_problem(agent.post("/zones", missing), 422, "update_grants[0].key")
        agent.create_zone(grants, update_grants=[grant])
        box = shared_sandbox
        assert _update(box, grants, bad, "a.dyn") == dns.rcode.NOERROR
        assert _update(box, grants, bad, "www") == dns.rcode.REFUSED
        assert _update(box, grants, bad, "a.dyn", "TXT") == dns.rcode.REFUSED
        assert _update(box, grants, good) in (dns.rcode.REFUSED, dns.rcode.NOTAUTH)
        assert "grants.test." in {
            z for k in agent.ok(agent.get("/keys")) for z in k["zones"] if k["name"] == "xfr-other"
        }
        agent.ok(agent.change(grants, [create("agent", "A", "198.51.100.98")]))  # burrow-tsig
    finally:
        agent.http.delete("/zones/grants.test.")
        agent.http.delete(f"/zones/{zone}")
        for key in (granted, other):
            agent.http.delete(f"/keys/{key['name']}")
    assert agent.ok(agent.get("/keys")) == []


def test_large_change_to_a_signed_zone(
    agent: Agent, shared_sandbox: Sandbox, fast_policy: dict[str, Any]
) -> None:
    """A change too large for one UPDATE rewrites the zone file; named signs it again."""
    zone = "bigsigned.test."
    # BIND's default policy: signatures last days, so named does not re-sign (and move the
    # serial on) while the large change is planned against the serial it read.
    agent.create_zone(zone, ttl=10, dnssec_policy="default")
    try:
        first = wait_for(
            lambda: (s := state(agent, zone))["signed"] and s["ds"] and s, timeout=30,
            what="signing",
        )  # fmt: skip
        # 400 TXT records of 200 octets: past one UPDATE message (64 KiB), so the zone file
        # is rewritten, and named signs what it loads.
        text = '"' + "x" * 200 + '"'
        changes = [create(f"t{i}", "TXT", text) for i in range(400)]
        result = agent.ok(agent.change(zone, changes))
        assert result["method"] == "reload"

        # The agent waits for named's signatures before it answers; on a loaded machine the
        # TCP answer may still lag by a moment, so the check is retried for a while.
        def signed(name: str, rtype: str) -> bool:
            assert_signed(shared_sandbox, zone, name + zone, rtype, first["ds"])
            return True

        wait_for(lambda: signed("t399.", "TXT"), timeout=60, interval=0.5, what="t399 signed")
        assert len(agent.records(zone)["records"]) == 402
        # And the zone still takes updates, signed.
        agent.ok(agent.change(zone, [create("after", "A", "198.51.100.90", ttl=10)]))
        wait_for(lambda: signed("after.", "A"), timeout=60, interval=0.5, what="after signed")
    finally:
        agent.http.delete(f"/zones/{zone}")
