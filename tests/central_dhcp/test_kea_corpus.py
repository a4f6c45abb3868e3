"""Kea's own example configurations for 2.2, each taken through Central into a real Kea.

For each example (``tests/data/kea``, adapted where the appliance owns something:
``tests.central_dhcp.kea_corpus``): an outside tool sets it straight to Kea (``config-set``
through the Control Agent), Central syncs and records the external change, naming what it
keeps raw. Central's objects are those of Kea's config-get (every scope, shared network,
global reservation, class, option definition); a GET then PUT of every object (scopes, their
reservations, global reservations, shared networks, classes, global options, option
definitions, server properties) leaves Kea's configuration hash unchanged; and Central can
still make and remove a scope and a global reservation. An example Kea itself refuses here
is asserted refused, with Kea's reason (``REFUSED``, listed in tests/data/kea/README.md).
"""

from __future__ import annotations

import hashlib
import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from services.common.dhcp.contract import IDENTIFIERS
from services.dhcp.manage import LAST_ID
from services.sandbox.sandbox import Sandbox
from tests.central_dhcp.conftest import CentralDhcp
from tests.central_dhcp.kea_corpus import adapted, examples
from tests.harness.wait import wait_for

pytestmark = pytest.mark.sandbox

_NO_MYSQL_CB = "The type of the configuration backend: 'mysql' is not supported"
_NO_MYSQL = "Can't connect to local server through socket '/run/mysqld/mysqld.sock'"
_NO_HOOKS = "hooks libraries failed to validate"
_NO_DB = "Unable to open database"
_NO_D2 = "Error starting DHCP_DDNS client after server reconfiguration"
#: Examples Kea 2.2 refuses on this appliance, and the words of Kea's reason (the same list
#: is in tests/data/kea/README.md).
REFUSED: dict[str, str] = {
    "kea4/all-keys.json": _NO_MYSQL_CB,
    "kea4/all-keys-netconf.json": _NO_MYSQL_CB,
    "kea6/all-keys.json": _NO_MYSQL_CB,
    "kea6/all-keys-netconf.json": _NO_MYSQL_CB,
    "kea4/comments.json": "unsupported configuration parameter 'comment'",
    "kea6/comments.json": "unsupported configuration parameter 'comment'",
    "kea4/config-backend.json": _NO_MYSQL,
    "kea6/config-backend.json": _NO_MYSQL,
    "kea4/hooks.json": _NO_HOOKS,
    "kea6/hooks.json": _NO_HOOKS,
    "kea4/hooks-radius.json": _NO_HOOKS,
    "kea4/mysql-reservations.json": _NO_DB,
    "kea6/mysql-reservations.json": _NO_DB,
    "kea4/pgsql-reservations.json": _NO_DB,
    "kea6/pgsql-reservations.json": _NO_DB,
    "kea4/with-ddns.json": _NO_D2,
    "kea6/with-ddns.json": _NO_D2,
}
#: Examples Kea takes and then ends on at the next config-get (a fault of Kea 2.2.0: the
#: DHCPv6 option client-data, code 45, configured). Supervisord starts Kea again on the
#: appliance's saved configuration.
ENDS_KEA: dict[str, str] = {"kea6/all-options.json": "client-data"}
Json = dict[str, Any]


def _service(name: str) -> tuple[str, str, str]:
    return ("dhcp4", "v4", "Dhcp4") if name.startswith("kea4/") else ("dhcp6", "v6", "Dhcp6")


def _kea(box: Sandbox, service: str) -> Json:
    answer = box.kea("config-get", service, timeout=30)
    assert answer["result"] == 0, answer
    config: Json = answer["arguments"]
    return config


def _hash(config: Json) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


def _last_id(config: Json) -> Any:
    """The highest scope id the dhcp-agent ever gave, kept in Kea's own configuration."""
    daemon = next(iter(config.values()))
    return daemon.get("user-context", {}).get(LAST_ID)


def _without_last_id(config: Json) -> Json:
    """``config`` less the dhcp-agent's highest-id mark (a new scope moves it on purpose)."""
    copy: Json = json.loads(json.dumps(config))
    daemon = next(iter(copy.values()))
    context = daemon.get("user-context", {})
    context.pop(LAST_ID, None)
    if not context:
        daemon.pop("user-context", None)
    return copy


@pytest.fixture(scope="module")
def appliance(cd_box: Sandbox, central: CentralDhcp) -> Iterator[dict[str, Json]]:
    """The appliance's own configurations, put back (and saved) after the corpus."""
    own = {service: _kea(cd_box, service) for service in ("dhcp4", "dhcp6")}
    try:
        yield own
    finally:
        for service, config in own.items():
            answer = cd_box.kea("config-set", service, config, timeout=30)
            assert answer["result"] == 0, answer
            cd_box.kea("config-write", service, timeout=30)
        central.ok(central.dhcp("POST", "/sync"))


def _listed(central: CentralDhcp, path: str) -> list[Json]:
    items: list[Json] = central.ok(central.dhcp("GET", f"{path}?limit=1000"))["items"]
    return items


def _identifier(reservation: Json) -> tuple[str, str]:
    kind = next(k for k in IDENTIFIERS if reservation.get(k))
    return kind, urllib.parse.quote(str(reservation[kind]), safe="")


@pytest.mark.parametrize("name", examples())
def test_example_through_central(
    cd_box: Sandbox, central: CentralDhcp, appliance: dict[str, Json], name: str
) -> None:
    service, family, key = _service(name)
    config = adapted(name, appliance[service])
    answer = cd_box.kea("config-set", service, config, timeout=30)
    if name in REFUSED:
        assert answer["result"] == 1, f"{name}: Kea took the example it refused before"
        assert REFUSED[name] in answer["text"], answer
        return
    assert answer["result"] == 0, f"{name}: {answer}"
    if name in ENDS_KEA:
        assert ENDS_KEA[name] in json.dumps(config)
        ended = cd_box.kea("config-get", service, timeout=30)
        assert ended["result"] != 0, f"{name}: Kea answered config-get: {str(ended)[:200]}"
        wait_for(lambda: cd_box.kea("config-get", service, timeout=10)["result"] == 0,
                 timeout=60, interval=0.5, what=f"{service} started again")  # fmt: skip
        central.ok(central.dhcp("POST", "/sync"))  # Central follows Kea back
        return
    # The outside change: Central takes it in at a sync and says so in the history.
    synced = central.ok(central.dhcp("POST", "/sync"))
    assert synced["families"][family]["changed"] is True
    kea = _kea(cd_box, service)[key]
    live = central.ok(central.dhcp("GET", f"/{family}/config"))
    assert synced["families"][family]["hash"] == live["hash"]  # Central's snapshot is Kea's
    assert live["config"][key] == kea
    recorded = central.history(action="external-change")
    assert recorded and recorded[0]["object_id"].endswith(f":{family}"), recorded[:1]

    # Central's objects are Kea's.
    base = f"/{family}"
    scopes = _listed(central, base + "/scopes")
    subnet_key = "subnet4" if family == "v4" else "subnet6"
    kea_subnets = list(kea.get(subnet_key, []))
    for network in kea.get("shared-networks", []):
        kea_subnets += network.get(subnet_key, [])
    assert sorted((s["id"], s["subnet"]) for s in scopes) == sorted(
        (e["id"], e["subnet"]) for e in kea_subnets
    )
    networks = _listed(central, base + "/shared-networks")
    assert [n["name"] for n in networks] == [n["name"] for n in kea.get("shared-networks", [])]
    globals_ = _listed(central, base + "/reservations")
    assert len(globals_) == len(kea.get("reservations", []))
    classes = _listed(central, base + "/classes")
    assert [c["name"] for c in classes] == [c["name"] for c in kea.get("client-classes", [])]
    definitions = _listed(central, base + "/option-definitions")
    assert len(definitions) == len(kea.get("option-def", []))
    options = central.ok(central.dhcp("GET", base + "/options"))
    assert len(options) == len(kea.get("option-data", []))
    shown = [scopes, networks, globals_, classes, definitions, options]
    if "'extra'" in str(shown):  # raw parts: the history names them
        assert "not modeled by Central" in recorded[0]["comment"], recorded[0]["comment"]
        assert recorded[0]["after"]["unmodeled"]
    for scope in scopes:
        entry = next(e for e in kea_subnets if e["id"] == scope["id"])
        raw = (scope.get("extra") or {}).get("reservations")
        assert len(scope.get("reservations", [])) == len(entry.get("reservations", [])) or raw

    # A GET then PUT of every object changes nothing in Kea.
    original = _kea(cd_box, service)
    before = _hash(original)
    changed: list[str] = []

    def put_back(what: str, method: str, path: str, body: Any) -> None:
        central.ok(central.dhcp(method, base + path, body))
        if _hash(_kea(cd_box, service)) != before:
            changed.append(what)

    for scope in scopes:
        put_back(f"scope {scope['id']}", "PUT", f"/scopes/{scope['id']}", scope)
        for reservation in scope.get("reservations", []):
            kind, value = _identifier(reservation)
            put_back(f"scope {scope['id']} reservation {kind}={value}", "PUT",
                     f"/scopes/{scope['id']}/reservations/{kind}/{value}", reservation)  # fmt: skip
    for reservation in globals_:
        kind, value = _identifier(reservation)
        put_back(f"global reservation {kind}={value}", "PUT",
                 f"/reservations/{kind}/{value}", reservation)  # fmt: skip
    for network in networks:
        path = f"/shared-networks/{urllib.parse.quote(network['name'], safe='')}"
        put_back(f"shared network {network['name']}", "PUT", path, network)
    for cls in classes:
        path = f"/classes/{urllib.parse.quote(cls['name'], safe='')}"
        put_back(f"class {cls['name']}", "PUT", path, cls)
    put_back("global options", "PUT", "/options", {"options": options})
    for definition in definitions:
        put_back(f"option definition {definition.get('space')}/{definition['code']}", "POST",
                 "/option-definitions", definition)  # fmt: skip
    properties = central.ok(central.dhcp("GET", base + "/properties"))
    put_back("properties", "PATCH", "/properties", properties)
    assert changed == [], f"{name}: a GET then PUT changed Kea's configuration: {changed}"

    # Every other object stays manageable: a new scope and a global reservation come and go.
    subnet = "198.18.200.0/24" if family == "v4" else "3fff:ffff:200::/64"
    made = central.ok(central.dhcp("POST", base + "/scopes", {"subnet": subnet}))
    reservation = (
        {"hw_address": "02:00:5e:00:53:99", "ip_addresses": ["198.18.201.9"]}
        if family == "v4"
        else {"duid": "00:03:00:01:02:00:5e:00:53:99", "prefixes": ["3fff:ffff:300::/56"]}
    )
    kind, value = _identifier(reservation)
    central.ok(central.dhcp("PUT", f"{base}/reservations/{kind}/{value}", reservation))
    central.ok(central.dhcp("DELETE", f"{base}/reservations/{kind}/{value}"))
    central.ok(central.dhcp("DELETE", f"{base}/scopes/{made['id']}"))
    after = _kea(cd_box, service)
    # The only trace the scope leaves is the highest id given, so that its id is never reused.
    assert _last_id(after) == made["id"]
    assert _hash(_without_last_id(after)) == _hash(_without_last_id(original))
