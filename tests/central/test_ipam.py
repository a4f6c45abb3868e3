"""IPAM through Central's API on SQLite and PostgreSQL: the tree's rules, properties, claims,
next free address and block, history, and 20 concurrent claiming callers."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import sqlalchemy

from tests.central.conftest import Api, assert_problem

IPAM = "/api/v1/ipam"


def made(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return dict(response.json())


def refused(central: Api, response: httpx.Response, field: str, before: int) -> None:
    """A 422 naming ``field``, and nothing written."""
    assert_problem(response, 422, field)
    assert central.history_total() == before, "a refused change left a history entry"


def test_the_tree_keeps_children_inside_and_siblings_apart(central: Api) -> None:
    top = made(central.post(f"{IPAM}/blocks", {"prefix": "10.20.0.0/16", "name": "site a",
                                               "comment": "new site"}))  # fmt: skip
    change = central.latest_change()
    assert (change["object_type"], change["object_id"], change["action"]) == (
        "ipam-block", str(top["id"]), "create")  # fmt: skip
    assert change["comment"] == "new site" and change["after"]["prefix"] == "10.20.0.0/16"
    child = made(central.post(f"{IPAM}/blocks", {"prefix": "10.20.1.0/24", "parent_id": top["id"]}))
    rng = made(central.post(f"{IPAM}/ranges", {"start": "10.20.2.10", "end": "10.20.2.99",
                                               "block_id": top["id"]}))  # fmt: skip
    v6 = made(central.post(f"{IPAM}/blocks", {"prefix": "2001:db8:20::/48"}))
    try:
        before = central.history_total()
        cases = [
            ("blocks", {"prefix": "10.21.0.0/24", "parent_id": top["id"]}, "prefix"),  # outside
            ("blocks", {"prefix": "10.20.1.128/25", "parent_id": top["id"]}, "prefix"),  # overlap
            ("blocks", {"prefix": "10.20.0.0/17"}, "prefix"),  # overlaps a top-level sibling
            ("blocks", {"prefix": "10.20.3.1/24", "parent_id": top["id"]}, "prefix"),  # host bits
            ("blocks", {"prefix": "10.20.3.0/24", "parent_id": 2**31 - 1}, "parent_id"),
            ("ranges", {"start": "10.20.2.90", "end": "10.20.2.120", "block_id": top["id"]},
             "start"),  # overlaps a sibling range
            ("ranges", {"start": "10.20.1.1", "end": "10.20.1.5", "block_id": top["id"]},
             "start"),  # overlaps a sibling block
            ("ranges", {"start": "10.30.0.1", "end": "10.30.0.5", "block_id": top["id"]},
             "start"),  # outside its block
            ("ranges", {"start": "10.20.3.9", "end": "10.20.3.1", "block_id": top["id"]}, "end"),
            ("ranges", {"start": "2001:db8:20::1", "end": "2001:db8:20::9",
                        "block_id": top["id"]}, "start"),  # another family than its block
            ("blocks", {"prefix": "10.20.4.0/24", "parent_id": top["id"],
                        "properties": {"no-such-property": "x"}}, "properties.no-such-property"),
        ]  # fmt: skip
        for kind, body, field in cases:
            refused(central, central.post(f"{IPAM}/{kind}", body), field, before)
        refused(central, central.patch(f"{IPAM}/blocks/{top['id']}", {"prefix": "10.20.0.0/23"}),
                "prefix", before)  # would no longer hold its range  # fmt: skip
        v6_range = made(central.post(f"{IPAM}/ranges", {"start": "2001:db8:20::10",
                                                        "end": "2001:db8:20::ff",
                                                        "block_id": v6["id"]}))  # fmt: skip
        free = central.get(f"{IPAM}/blocks/{top['id']}/next-free-block?prefix_length=24").json()
        assert free["prefix"] == "10.20.0.0/24"
        free = central.get(f"{IPAM}/blocks/{top['id']}/next-free-block?prefix_length=23").json()
        assert free["prefix"] == "10.20.4.0/23"
        assert_problem(central.get(f"{IPAM}/blocks/{top['id']}/next-free-block?prefix_length=8"),
                       422, "prefix_length")  # fmt: skip
        tree = central.get(f"{IPAM}/tree").json()
        node = next(n for n in tree["blocks"] if n["block"]["id"] == top["id"])
        assert [b["block"]["id"] for b in node["blocks"]] == [child["id"]]
        assert [r["id"] for r in node["ranges"]] == [rng["id"]]
        assert_problem(central.delete(f"{IPAM}/blocks/{top['id']}"), 409, "block_id")
        assert central.delete(f"{IPAM}/ranges/{v6_range['id']}").status_code == 204
    finally:
        for path in (f"ranges/{rng['id']}", f"blocks/{child['id']}", f"blocks/{top['id']}",
                     f"blocks/{v6['id']}"):  # fmt: skip
            assert central.delete(f"{IPAM}/{path}?comment=cleanup").status_code == 204, path
    assert central.latest_change()["action"] == "delete"


def test_properties_are_defined_checked_and_kept_in_use(central: Api) -> None:
    name = f"site-{central.backend}"
    made(central.post(f"{IPAM}/properties", {"name": name, "kind": "choice",
                                             "choices": ["north", "south"]}))  # fmt: skip
    made(central.post(f"{IPAM}/properties", {"name": f"vlan-{central.backend}", "kind": "number"}))
    block = made(central.post(f"{IPAM}/blocks", {"prefix": "10.22.0.0/16",
                                                 "properties": {name: "north"}}))  # fmt: skip
    try:
        assert block["properties"] == {name: "north"}
        before = central.history_total()
        for values, field in (
            ({name: "east"}, f"properties.{name}"),
            ({f"vlan-{central.backend}": "12"}, f"properties.vlan-{central.backend}"),
            ({"colour": "red"}, "properties.colour"),
        ):
            response = central.patch(f"{IPAM}/blocks/{block['id']}", {"properties": values})
            refused(central, response, field, before)
        refused(central, central.post(f"{IPAM}/properties", {"name": "x", "kind": "choice"}),
                "choices", before)  # fmt: skip
        refused(central, central.patch(f"{IPAM}/properties/{name}", {"choices": ["south"]}),
                "choices", before)  # fmt: skip
        assert_problem(central.delete(f"{IPAM}/properties/{name}"), 409, "property_name")
        changed = central.patch(
            f"{IPAM}/blocks/{block['id']}",
            {"properties": {f"vlan-{central.backend}": 12, name: None}},
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["properties"] == {f"vlan-{central.backend}": 12}
    finally:
        assert central.delete(f"{IPAM}/blocks/{block['id']}").status_code == 204
    for prop in (name, f"vlan-{central.backend}"):
        assert central.delete(f"{IPAM}/properties/{prop}").status_code == 204


def test_claims_next_free_and_release(central: Api) -> None:
    rng = made(central.post(f"{IPAM}/ranges", {"start": "10.23.0.1", "end": "10.23.0.4"}))
    base = f"{IPAM}/ranges/{rng['id']}"
    try:
        claim = made(central.post(f"{base}/claims", {"address": "10.23.0.1", "owner": "build-7",
                                                     "comment": "ci runner"}))  # fmt: skip
        assert (claim["address"], claim["owner"], claim["claimed_by"]) == (
            "10.23.0.1", "build-7", central.admin_name)  # fmt: skip
        change = central.latest_change()
        assert (change["object_type"], change["object_id"]) == (
            "ipam-claim",
            f"{rng['id']}:10.23.0.1",
        )
        before = central.history_total()
        assert_problem(central.post(f"{base}/claims", {"address": "10.23.0.1"}), 409, "address")
        refused(central, central.post(f"{base}/claims", {"address": "10.23.0.9"}), "address",
                before)  # fmt: skip
        refused(central, central.post(f"{base}/claims", {"address": "nonsense"}), "address",
                before)  # fmt: skip
        looked = central.get(f"{base}/next-free-address").json()
        assert (looked["address"], looked["claimed"]) == ("10.23.0.2", False)
        assert central.history_total() == before, "looking changed something"
        assert_problem(central.post(f"{base}/next-free-address?claim=false", {}), 422, "claim")
        got = central.post(f"{base}/next-free-address?claim=true", {"owner": "script"}).json()
        assert (got["address"], got["claimed"], got["claim"]["owner"]) == (
            "10.23.0.2",
            True,
            "script",
        )
        looked = central.get(f"{base}/next-free-address?from=10.23.0.4").json()
        assert looked["address"] == "10.23.0.4"
        usage = central.get(f"{base}/utilisation").json()
        assert (usage["size"], usage["used"], usage["by_source"]) == (4, 2, {"claim": 2})
        view = central.get(f"{base}/addresses").json()
        assert [a["address"] for a in view["items"]] == ["10.23.0.1", "10.23.0.2"]
        assert view["items"][0]["sources"][0] == {"kind": "claim", "owner": "build-7"} | {
            k: None for k in view["items"][0]["sources"][0] if k not in ("kind", "owner")
        }
        stretch = central.get(f"{base}/addresses?first=10.23.0.2&last=10.23.0.4").json()
        assert ([a["address"] for a in stretch["items"]], stretch["total"]) == (["10.23.0.2"], 1)
        one = central.get(f"{base}/addresses?first=10.23.0.1&last=10.23.0.1").json()
        assert [a["address"] for a in one["items"]] == ["10.23.0.1"]
        assert_problem(central.get(f"{base}/addresses?first=10.23.0.9"), 422, "first")
        assert_problem(central.get(f"{base}/addresses?first=10.23.0.3&last=10.23.0.2"), 422,
                       "last")  # fmt: skip
        assert_problem(central.delete(f"{IPAM}/ranges/{rng['id']}"), 409, "range_id")
        refused(
            central, central.patch(base, {"end": "10.23.0.1"}), "start", central.history_total()
        )
    finally:
        for address in ("10.23.0.1", "10.23.0.2"):
            central.delete(f"{base}/claims/{address}?comment=done")
        assert central.latest_change()["action"] == "delete"
        assert_problem(central.delete(f"{base}/claims/10.23.0.2"), 404, "address")
        assert central.delete(f"{IPAM}/ranges/{rng['id']}").status_code == 204


def test_twenty_concurrent_claiming_callers_get_twenty_addresses(central: Api) -> None:
    rng = made(central.post(f"{IPAM}/ranges", {"start": "10.24.0.1", "end": "10.24.0.30"}))
    base = f"{IPAM}/ranges/{rng['id']}"
    made(central.post(f"{base}/claims", {"address": "10.24.0.3"}))
    try:

        def one(n: int) -> httpx.Response:
            return central.post(f"{base}/next-free-address?claim=true", {"owner": f"caller-{n}"})

        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(pool.map(one, range(20)))
        assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
        got = [a.json()["address"] for a in answers]
        assert all(a.json()["claimed"] for a in answers)
        assert len(set(got)) == 20, sorted(got)
        assert "10.24.0.3" not in got
        claims = central.get(f"{base}/claims?limit=100&sort=first").json()
        assert claims["total"] == 21
        owners = {c["address"]: c["owner"] for c in claims["items"]}
        assert {owners[a] for a in got} == {f"caller-{n}" for n in range(20)}
    finally:
        for item in central.get(f"{base}/claims?limit=100").json()["items"]:
            central.delete(f"{base}/claims/{item['address']}")
        assert central.delete(base).status_code == 204


def test_ipam_administrators_change_ipam_and_other_domains_do_not(central: Api) -> None:
    ipam = central.make_user("ipam-admin")
    dns = central.make_user("dns-admin")
    reader = central.make_user("read-only")
    before = central.history_total()
    for user in (dns, reader):
        assert_problem(central.post(f"{IPAM}/blocks", {"prefix": "10.25.0.0/16"}, user.token), 403)
    assert central.history_total() == before
    block = made(central.post(f"{IPAM}/blocks", {"prefix": "10.25.0.0/16"}, ipam.token))
    assert central.latest_change()["actor"] == ipam.username
    assert central.get(f"{IPAM}/blocks/{block['id']}", reader.token).status_code == 200
    assert_problem(
        central.post(
            "/api/v1/servers", {"kind": "dns", "name": "x", "address": "198.51.100.9"}, ipam.token
        ),
        403,
    )
    assert central.delete(f"{IPAM}/blocks/{block['id']}", ipam.token).status_code == 204


def _seed_a_record(central: Api, name: str, address: str) -> None:
    """A zone with one A record written straight into Central's database (no agent here)."""
    server = central.post("/api/v1/servers", {"kind": "dns", "name": f"ipam-{central.backend}",
                                              "address": "198.51.100.79"}).json()  # fmt: skip
    url = central.process.database_url or f"sqlite:///{central.process.root.lib / 'central.db'}"
    engine = sqlalchemy.create_engine(url)
    at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    try:
        with engine.begin() as conn:
            zone_id = conn.execute(
                sqlalchemy.text(
                    "INSERT INTO dns_zones (server_id, name, kind, enabled, ttl, soa, spec,"
                    " record_count, created_at, updated_at) VALUES (:server, :zone, 'primary',"
                    " true, 3600, '', '{}', 1, :at, :at) RETURNING id"
                ),
                {"server": server["id"], "zone": name.split(".", 1)[1], "at": at},
            ).scalar_one()
            conn.execute(
                sqlalchemy.text("INSERT INTO dns_records (zone_id, name, type, ttl, data)"
                                " VALUES (:zone, :name, 'A', 3600, :data)"),
                {"zone": zone_id, "name": name, "data": address},
            )  # fmt: skip
    finally:
        engine.dispose()


def test_next_free_skips_records_and_claims_counted_together(central: Api) -> None:
    """An address both claimed and in an A record counts once: a window is not taken for full
    while an address is free, and is once every address is used. What next free keeps between
    requests follows new records, claims and releases."""
    rng = made(central.post(f"{IPAM}/ranges", {"start": "10.26.0.1", "end": "10.26.0.4"}))
    base = f"{IPAM}/ranges/{rng['id']}"

    def next_free() -> str | None:
        answer = central.get(f"{base}/next-free-address")
        assert answer.status_code == 200, answer.text
        return answer.json()["address"]  # type: ignore[no-any-return]

    try:
        assert next_free() == "10.26.0.1"
        _seed_a_record(central, "host.ipam-count.test.", "10.26.0.1")
        assert next_free() == "10.26.0.2"
        for address in ("10.26.0.1", "10.26.0.2", "10.26.0.3"):
            made(central.post(f"{base}/claims", {"address": address}))
        assert next_free() == "10.26.0.4"
        made(central.post(f"{base}/claims", {"address": "10.26.0.4"}))
        assert next_free() is None
        usage = central.get(f"{base}/utilisation").json()  # the claimed A record counts once
        assert (usage["used"], usage["free"], usage["by_source"]) == (4, 0, {"a": 1, "claim": 4})
        full = central.post(f"{base}/next-free-address?claim=true", {}).json()
        assert (full["address"], full["claimed"]) == (None, False)
        assert central.delete(f"{base}/claims/10.26.0.1").status_code == 204
        assert next_free() is None  # the A record still uses it
        assert central.delete(f"{base}/claims/10.26.0.3").status_code == 204
        assert next_free() == "10.26.0.3"
        view = central.get(f"{base}/addresses").json()
        assert {s["kind"] for s in view["items"][0]["sources"]} == {"a"}
        assert view["items"][0]["problems"] == ["a-without-ptr"]
    finally:
        for item in central.get(f"{base}/claims?limit=100").json()["items"]:
            central.delete(f"{base}/claims/{item['address']}")
        assert central.delete(base).status_code == 204
