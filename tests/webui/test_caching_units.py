"""The Caching page against a fake Central that manages one caching server: the navigation
offers Caching and neither DNS zones nor DHCP, the settings go to Central typed and whole, a
refusal lands at the field and entry it names, what cannot be read is named before anything is
sent, a read-only user sees the forms disabled; and the settings' form text reads back as it
was written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common.caching.contract import CachingSettings
from tests.webui.test_units import FakeCentral, _log_in, _problem, _scenario
from webui import caching
from webui.central import Central
from webui.forms import FormInputError, Reader
from webui.health import health
from webui.models import Server
from webui.web import kinds_of

SETTINGS = {
    "forwarders": [{"address": "198.51.100.53", "port": 53}],
    "local_zones": [{"name": "lan.example.", "type": "static",
                     "records": ["www.lan.example. 3600 IN A 10.0.0.5"]}],
}  # fmt: skip
STATS = {
    "queries": 200, "cache_hits": 150, "cache_misses": 50, "prefetches": 3,
    "recursive_replies": 50, "rcodes": {"NOERROR": 190, "NXDOMAIN": 10},
    "requestlist_avg": 0.1, "recursion_time_avg": 0.02, "uptime_seconds": 3700.0,
    "msg_cache_count": 40, "rrset_cache_count": 80, "raw": {},
}  # fmt: skip
SERVER = {"id": 4, "kind": "caching", "name": "cache-1", "address": "198.51.100.2",
          "port": 1337, "local": True, "state": "reachable"}  # fmt: skip


class CachingCentral(FakeCentral):
    """A Central that manages one caching server and an appliance."""

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v1")
        if request.method == "GET":
            if path == "/servers":
                appliance = SERVER | {"id": 5, "kind": "appliance", "name": "cache-1-appliance"}
                return httpx.Response(200, json={"items": [SERVER, appliance], "total": 2})
            if path == "/caching/servers":
                return httpx.Response(200, json=[SERVER])
            if path == "/caching/servers/4/settings":
                settings = CachingSettings.model_validate(SETTINGS).model_dump(mode="json")
                return httpx.Response(200, json={"server_id": 4, "server_name": "cache-1",
                                                 "settings": settings})  # fmt: skip
            if path == "/caching/servers/4/stats":
                return httpx.Response(200, json={"server_id": 4, "server_name": "cache-1",
                                                 "hit_ratio": 0.75, "stats": STATS})  # fmt: skip
        return super().handler(request)


def _nav(html: str) -> list[str]:
    found = re.search(r'<nav aria-label="Main">(.*?)</nav>', html, re.S)
    assert found is not None
    return re.findall(r">([^<]+)</a>", found[1])


def test_the_settings_form_text_reads_back_as_written() -> None:
    settings = CachingSettings.model_validate({
        "forwarders": [{"address": "198.51.100.53"}, {"address": "2001:db8::53", "port": 5353}],
        "forward_first": True,
        "forward_zones": [{"name": "corp.example", "servers": [{"address": "10.1.1.1"}],
                           "first": True}],
        "stub_zones": [{"name": "lab.example", "servers": [{"address": "10.2.0.53"}]}],
        "local_zones": [{"name": "lan.example", "records": ["www.lan.example A 10.0.0.5",
                                                            'txt.lan.example TXT "a b"']},
                        {"name": "ads.example", "type": "always_nxdomain"}],
        "access": [{"network": "10.0.0.0/8"}, {"network": "192.0.2.0/24", "action": "refuse"}],
        "insecure_domains": ["corp.example"],
        "cache_max_ttl": 7200, "msg_cache_mb": 8, "serve_expired": True,
    })  # fmt: skip
    shown = caching.form_values(settings)
    assert shown["forwarders"] == "198.51.100.53 2001:db8::53@5353"
    assert shown["cache_max_ttl"] == "2h"
    read = Reader(shown)
    body = caching.read_settings(read)
    read.check()
    assert CachingSettings.model_validate(body) == settings


def test_what_cannot_be_read_is_named_at_its_field_and_line() -> None:
    read = Reader({
        "forwarders": "198.51.100.53@dns", "forward_zones": "corp.example.",
        "local_zones": "  www.lan.example. A 10.0.0.5\nlan.example. static extra",
        "access": "10.0.0.0/8 allow now", "msg_cache_mb": "lots", "rrset_cache_mb": "64",
        "cache_min_ttl": "0", "cache_max_ttl": "a day",
    })  # fmt: skip
    caching.read_settings(read)
    with pytest.raises(FormInputError) as caught:
        read.check()
    fields = caught.value.errors.fields
    assert set(fields) == {"forwarders", "forward_zones", "local_zones", "access",
                           "msg_cache_mb", "cache_max_ttl"}  # fmt: skip
    assert fields["forwarders"][0].startswith("forwarder 1: “198.51.100.53@dns”")
    assert fields["local_zones"][0].startswith("line 1: a record needs its zone")
    assert fields["local_zones"][1].startswith("line 2: write a zone's name and its type")


def test_a_caching_appliance_offers_caching_and_no_dns_zones_or_dhcp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def steps(http: httpx.AsyncClient) -> None:
        await _log_in(http)
        listed = await http.get("/caching")
        assert listed.status_code == 303
        assert listed.headers["location"] == "/caching/servers/4"
        page = await http.get("/caching/servers/4")
        assert page.status_code == 200, page.text
        assert _nav(page.text)[:3] == ["Dashboard", "Caching", "IPAM"]
        assert "DHCP" not in _nav(page.text) and "DNS" not in _nav(page.text)
        assert 'id="stat-hit-ratio">75.0%<' in page.text
        assert "NXDOMAIN" in page.text and "up 1h1m40s" in page.text
        assert "www.lan.example. 3600 IN A 10.0.0.5" in page.text
        assert '<fieldset class="read-only" disabled>' in page.text  # read-only
        assert "Save settings" not in page.text and ">Flush<" not in page.text
        servers = await http.get("/servers")
        assert 'data-kind="caching">caching DNS (Unbound)<' in servers.text
        assert 'href="/caching/servers/4"' in servers.text

    _scenario(tmp_path, monkeypatch, steps, CachingCentral())


def test_settings_go_whole_and_typed_and_a_refusal_lands_at_its_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = CachingCentral("dns-admin")
    form = {
        "forwarders": "198.51.100.53 198.51.100.54@5353", "forward_zones": "", "stub_zones": "",
        "local_zones": "lan.example. static\n  www.lan.example. A 10.0.0.5\n  bad.lan.example. A x",
        "access": "10.0.0.0/8", "insecure_domains": "", "msg_cache_mb": "32",
        "rrset_cache_mb": "64", "cache_min_ttl": "0", "cache_max_ttl": "1d",
        "dnssec_validation": "yes", "prefetch": "yes", "comment": "office",
    }  # fmt: skip

    async def steps(http: httpx.AsyncClient) -> None:
        csrf = await _log_in(http)
        saved = await http.post("/caching/servers/4/settings", data=form | {"csrf_token": csrf})
        assert saved.status_code == 303, saved.text
        assert saved.headers["location"] == "/caching/servers/4?done=caching-saved"
        fake.answers["PUT", "/caching/servers/4/settings"] = httpx.Response(422, json=_problem(
            422, "settings.local_zones[0].records[1]: the data are not valid",
            {"field": "settings.local_zones[0].records[1]",
             "message": "the data of 'bad.lan.example. A x' are not valid"},
            {"field": "settings.cache_max_ttl", "message": "must be at least 60"},
        ))  # fmt: skip
        refused = await http.post("/caching/servers/4/settings", data=form | {"csrf_token": csrf})
        assert refused.status_code == 422
        assert ('id="e-local_zones">local zone 1: the data of &#39;bad.lan.example. A x&#39; '
                "are not valid<") in refused.text  # fmt: skip
        assert 'id="e-cache_max_ttl">must be at least 60<' in refused.text
        assert "bad.lan.example. A x" in refused.text  # what was typed stays
        fake.answers["POST", "/caching/servers/4/flush"] = httpx.Response(200, json={
            "server_id": 4, "flushed": {"name": "example.com.", "zone": True,
                                        "detail": "ok removed 3 rrsets"},
        })  # fmt: skip
        flushed = await http.post("/caching/servers/4/flush", data={
            "csrf_token": csrf, "name": "example.com", "zone": "yes", "comment": "stale",
        })  # fmt: skip
        assert flushed.status_code == 200, flushed.text
        assert "Flushed every name at and below example.com.: ok removed 3 rrsets" in flushed.text

    _scenario(tmp_path, monkeypatch, steps, fake)
    first: dict[str, Any] = fake.writes[0][2]
    assert fake.writes[0][:2] == ("PUT", "/caching/servers/4/settings")
    assert first["comment"] == "office"
    assert first["settings"]["forwarders"] == [
        {"address": "198.51.100.53"},
        {"address": "198.51.100.54", "port": 5353},
    ]
    assert first["settings"]["local_zones"] == [{"name": "lan.example.", "type": "static",
        "records": ["www.lan.example. A 10.0.0.5", "bad.lan.example. A x"]}]  # fmt: skip
    assert first["settings"]["cache_max_ttl"] == 86400 and first["settings"]["prefetch"] is True
    assert first["settings"]["serve_expired"] is False
    assert fake.writes[2] == (
        "POST",
        "/caching/servers/4/flush",
        {"name": "example.com", "zone": True, "type": None, "negative": False, "comment": "stale"},
    )


def test_the_dashboards_health_checks_unbound_and_not_named_or_kea(tmp_path: Path) -> None:
    central = Central("https://central.test", tmp_path / "ca.crt",
                      transport=httpx.MockTransport(CachingCentral().handler))  # fmt: skip
    found = health(central, "bws_x", kinds_of([Server.model_validate(SERVER)]))
    checks = {c.key: c for c in found["checks"]}
    assert "dns" not in checks and "dhcp" not in checks
    assert (checks["caching"].level, checks["caching"].detail) == ("ok", "Unbound is answering.")
    assert kinds_of([]) == frozenset({"dns", "dhcp"}), "nothing registered: as before"
