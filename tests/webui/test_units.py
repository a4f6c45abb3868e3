"""The console's pure parts: the sealed session, CSRF, errors at fields, paging, charts,
the htmx integrity check, and the pages' rendering against a fake Central."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import datetime as dt
import functools
import io
import json
import re
import tarfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common.errors import SetupError
from webui import vendor
from webui.app import ConsoleConfig, create_app
from webui.central import Central, form_field, problem_of
from webui.charts import Bar, bar_chart
from webui.pages.auth import safe_next
from webui.pages.dashboard import recent_restarts, utilisation_bars
from webui.pages.dns import record_of, ttl_value
from webui.pages.history import history_filter
from webui.paging import Pager, clamp_offset, query, sort_key, toggled
from webui.session import COOKIE, CookieSealer, Session, new_session

LATER = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()


# --- session and CSRF ----------------------------------------------------------------------
def test_sealed_session_round_trips_and_hides_the_token(tmp_path: Path) -> None:
    sealer = CookieSealer.from_file(tmp_path / "key")
    assert (tmp_path / "key").stat().st_mode & 0o777 == 0o600
    session = new_session("bws_secret", "ops", "dns-admin", LATER)
    value = sealer.seal(session)
    assert "bws_secret" not in value and "ops" not in value
    assert sealer.open(value) == session
    assert CookieSealer.from_file(tmp_path / "key").open(value) == session  # survives a restart


def test_altered_or_foreign_cookies_are_refused(tmp_path: Path) -> None:
    sealer = CookieSealer.from_file(tmp_path / "key")
    value = sealer.seal(new_session("t", "ops", "administrator", LATER))
    raw = bytearray(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    raw[20] ^= 1
    altered = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    assert sealer.open(altered) is None
    assert CookieSealer(b"k" * 32).open(value) is None
    for junk in (None, "", "!!!", "a" * 5000, "AAAA"):
        assert sealer.open(junk) is None


def test_session_roles_expiry_and_csrf() -> None:
    session = new_session("t", "u", "dhcp-admin", LATER)
    assert session.may("dhcp") and not session.may("dns") and not session.may("users")
    assert not Session("t", "u", "read-only", "c", LATER).may("dns")
    assert Session("t", "u", "administrator", "c", LATER).may("settings")
    assert not session.expired()
    assert Session("t", "u", "read-only", "c", "2000-01-01T00:00:00+00:00").expired()
    assert Session("t", "u", "read-only", "c", "not a time").expired()
    assert session.csrf_ok(session.csrf)
    assert not session.csrf_ok(None) and not session.csrf_ok("") and not session.csrf_ok("x")


def test_login_redirects_only_inside_the_console() -> None:
    assert safe_next("/dns/zones?q=a") == "/dns/zones?q=a"
    for bad in (None, "", "https://evil.example/", "//evil.example/", "/\\evil", "dns"):
        assert safe_next(bad) == "/"


# --- errors at fields ------------------------------------------------------------------------
def test_api_fields_map_to_form_fields() -> None:
    assert form_field("changes[0].record.data") == "data"
    assert form_field("changes.0.new.ttl") == "ttl"
    assert form_field("ip_addresses.0") == "ip_addresses"
    assert form_field("pools.1.start") == "start"
    assert form_field("username") == "username"


def test_problem_json_becomes_errors_by_field() -> None:
    body = {
        "status": 422, "detail": "changes[0].record.data: www A: not valid A data",
        "field": "changes[0].record.data",
        "errors": [{"field": "changes[0].record.data",
                    "message": "changes[0].record.data: www A: not valid A data"}],
    }  # fmt: skip
    error = problem_of(httpx.Response(422, json=body))
    assert error.status == 422
    assert error.errors == {"data": "www A: not valid A data"}
    assert error.detail == "www A: not valid A data"
    plain = problem_of(httpx.Response(502, text="<html>bad gateway</html>"))
    assert plain.status == 502 and plain.errors == {} and "502" in plain.detail


# --- paging, filters, values ---------------------------------------------------------------
def test_pager() -> None:
    p = Pager(offset=100, limit=50, total=10_000)
    assert (p.page, p.pages, p.first, p.last) == (3, 200, 101, 150)
    assert (p.previous_offset, p.next_offset) == (50, 150)
    last = Pager(offset=9950, limit=50, total=10_000)
    assert last.next_offset is None and last.last == 10_000
    empty = Pager(0, 50, 0)
    assert (empty.pages, empty.first, empty.last, empty.previous_offset) == (1, 0, 0, None)
    assert clamp_offset("125", 50) == 100
    assert clamp_offset("-5", 50) == 0 and clamp_offset("x", 50) == 0
    assert sort_key("-ttl", ("ttl",), "name") == "-ttl"
    assert sort_key("password", ("ttl",), "name") == "name"
    assert toggled("name", "name") == "-name" and toggled("-name", "name") == "name"
    assert query({"q": "a b", "offset": 0, "sort": ""}, offset=50) == "q=a+b&offset=50"


def test_history_filter_and_record_values() -> None:
    assert history_filter({"actor": "admin", "object_type": "dns-zone x", "q": "moved"}) == (
        "actor:admin object_type:dns-zone moved"
    )
    assert history_filter({}) == ""
    assert ttl_value("") is None and ttl_value(" 300 ") == 300 and ttl_value("soon") == "soon"
    assert record_of({"name": "", "type": "mx", "ttl": "", "data": " 10 mail "}) == {
        "name": "@", "type": "MX", "ttl": None, "data": "10 mail",
    }  # fmt: skip


# --- dashboard and charts ------------------------------------------------------------------
def test_utilisation_and_restarts() -> None:
    bars = utilisation_bars(
        [{"subnet": "203.0.113.0/24", "total": 200, "assigned": 150, "utilisation": 0.75}], "v4"
    )
    assert bars == [Bar("203.0.113.0/24", 0.75, "150 / 200 (75%)")]
    now = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    events = [
        {"time": "2026-01-01T12:00:00+00:00", "program": "named"},
        {"time": "2026-01-01T13:00:00+00:00", "program": "named"},
        {"time": "2025-12-01T00:00:00+00:00", "program": "central"},
        {"time": "garbage", "program": "webui"},
    ]
    assert recent_restarts(events, now) == {"named": 2}


def test_bar_chart_is_escaped_accessible_svg() -> None:
    svg = bar_chart([Bar("<lab>", 0.95, "95%"), Bar("b", 2.0, "x")], title="Use & more")
    assert svg.startswith("<svg") and 'role="img"' in svg and "<title" in svg
    assert "&lt;lab&gt;" in svg and "Use &amp; more" in svg
    assert "chart-high" in svg and "<script" not in svg and "style=" not in svg
    widths = re.findall(r'width="([\d.]+)" height="\d+" class="chart-bar', svg)
    assert len(widths) == 2 and max(float(w) for w in widths) <= 560
    assert "nothing to show" in bar_chart([], title="t")


# --- htmx from npm -------------------------------------------------------------------------
def _package(script: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo(vendor.HTMX_MEMBER)
        info.size = len(script)
        archive.addfile(info, io.BytesIO(script))
    return buffer.getvalue()


def test_htmx_is_taken_only_with_its_pinned_integrity() -> None:
    tarball = _package(b"var htmx = {};")
    assert vendor.extract_htmx(tarball, vendor.integrity_of(tarball)) == b"var htmx = {};"
    with pytest.raises(SetupError, match="integrity"):
        vendor.extract_htmx(tarball)  # not the pinned package
    assert vendor.HTMX_INTEGRITY.startswith("sha512-")


# --- pages against a fake Central ----------------------------------------------------------
class FakeCentral:
    """Answers the few calls the tested pages make, and records the writes."""

    def __init__(self) -> None:
        self.writes: list[tuple[str, str, Any]] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v1")
        if path == "/auth/login":
            body = json.loads(request.content)
            if body == {"username": "ops", "password": "right-password"}:
                return httpx.Response(200, json={
                    "token": "bws_x", "expires_at": LATER,
                    "user": {"username": "ops", "role": "read-only"},
                })  # fmt: skip
            return httpx.Response(401, json={"detail": "Wrong user name or password.",
                                             "field": "password"})  # fmt: skip
        if request.method != "GET":
            self.writes.append((request.method, path, request.content))
            return httpx.Response(403, json={"detail": "The role 'read-only' may not do this."})
        if path == "/dns/zones":
            items = [{"id": i, "name": f"z{i}.example.", "kind": "primary", "record_count": 1,
                      "serial": 1, "enabled": True} for i in range(1, 51)]  # fmt: skip
            return httpx.Response(200, json={"items": items, "total": 10_000})
        return httpx.Response(404, json={"detail": "no such page"})


def _scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, steps: Any) -> FakeCentral:
    """Run ``steps(http)`` against the console app (lifespan included) and a fake Central."""
    fake = FakeCentral()
    monkeypatch.setattr(
        "webui.app.Central",
        functools.partial(Central, transport=httpx.MockTransport(fake.handler)),
    )
    config = ConsoleConfig("https://central.test", tmp_path / "ca.crt", tmp_path / "cookie.key")
    app = create_app(config)

    async def run() -> None:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="https://console.test"
            ) as http:
                await steps(http)

    # In a thread of its own: Playwright's driver may hold this thread's event loop.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()
    return fake


def test_login_page_headers_and_a_login_error_that_names_no_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def steps(http: httpx.AsyncClient) -> None:
        page = await http.get("/")
        assert page.status_code == 200 and "Burrow" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
        assert "<script>" not in page.text  # no inline script
        bad = await http.post("/login", data={"username": "ops", "password": "nope"})
        assert bad.status_code == 401 and "The user name or the password is wrong." in bad.text
        assert COOKIE not in bad.cookies
        foreign = await http.post(
            "/login",
            data={"username": "ops", "password": "right-password"},
            headers={"Origin": "https://evil.example"},
        )
        assert foreign.status_code == 403

    _scenario(tmp_path, monkeypatch, steps)


def test_pages_need_a_login_and_writes_need_the_csrf_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def steps(http: httpx.AsyncClient) -> None:
        first = await http.get("/dns/zones")
        assert first.status_code == 303
        assert first.headers["location"] == "/login?next=%2Fdns%2Fzones"
        done = await http.post("/login", data={
            "username": "ops", "password": "right-password", "next": "/dns/zones",
        })  # fmt: skip
        assert done.status_code == 303 and done.headers["location"] == "/dns/zones"
        cookie = done.headers["set-cookie"]
        assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=strict" in cookie
        zones = await http.get("/dns/zones")
        assert zones.status_code == 200 and "z1.example." in zones.text
        assert "of 10000 (page 1 of 200)" in zones.text
        assert "Create zone" not in zones.text and "Delete" not in zones.text  # read-only
        refused = await http.post("/dns/zones", data={"name": "x.example"})
        assert refused.status_code == 403
        token = re.search(r'name="csrf_token" value="([^"]+)"', zones.text)
        assert token is not None
        no = await http.post("/dns/zones", data={"name": "x.example", "csrf_token": token[1]})
        assert no.status_code == 403 and "may not do this" in no.text

    fake = _scenario(tmp_path, monkeypatch, steps)
    assert [w[1] for w in fake.writes] == ["/dns/zones"]  # only the one with the token
