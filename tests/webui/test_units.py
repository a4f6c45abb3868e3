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
from services.common.problems import MEDIA_TYPE, Problem
from tests.harness.problems import check_problem
from webui import vendor
from webui.app import ConsoleConfig, create_app
from webui.central import Central, UnavailableError, problem_of
from webui.charts import Bar, bar_chart
from webui.forms import FormInputError, Placement, Reader, in_words, refusal
from webui.models import ScopeUsage, ServiceEvent
from webui.pages.auth import safe_next
from webui.pages.dashboard import recent_restarts, utilisation_bars
from webui.pages.dhcp import pool_form
from webui.pages.dns import record_of
from webui.pages.history import history_filter
from webui.paging import Pager, clamp_offset, query, sort_key, toggled
from webui.session import COOKIE, CookieSealer, Session, new_session

LATER = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()


# --- session and CSRF ----------------------------------------------------------------------
def test_sealed_session_round_trips_and_hides_the_token(tmp_path: Path) -> None:
    sealer = CookieSealer.from_file(tmp_path / "key")
    assert (tmp_path / "key").stat().st_mode & 0o777 == 0o600
    session = new_session("bws_secret", "operator-ops", "dns-admin", LATER)
    value = sealer.seal(session)
    # long names, so that a random sealed value cannot hold them by chance
    assert "bws_secret" not in value and "operator-ops" not in value
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


# --- Central's problems and the forms' fields --------------------------------------------------
def _problem(status: int, detail: str, *items: dict[str, Any], hint: str = "") -> dict[str, Any]:
    """A problem answer of the one schema (checked as Central's own answers are)."""
    body: dict[str, Any] = {
        "type": "urn:burrow:problem:validation-error" if status == 422 else "urn:burrow:problem:x",
        "title": "Invalid input" if status == 422 else "Error", "status": status,
        "detail": detail, "problems": list(items),
    }  # fmt: skip
    if hint:
        body["hint"] = hint
    check_problem(status, MEDIA_TYPE, body, status)
    return body


def test_problem_answers_are_read_with_the_one_schema() -> None:
    body = _problem(
        422, "changes[0].record.data: www A: not valid A data (and 1 more)",
        {"field": "changes[0].record.data", "message": "not valid A data", "name": "www",
         "type": "A"},
        {"field": "changes[0].record.ttl", "message": "must be a whole number"},
    )  # fmt: skip
    error = problem_of(httpx.Response(422, json=body))
    assert error.status == 422 and error.problem == Problem.model_validate(body)
    assert [p.field for p in error.problems] == ["changes[0].record.data", "changes[0].record.ttl"]
    assert error.problems[0].model_extra == {"name": "www", "type": "A"}
    # Anything that is not a problem is described, never shown raw.
    plain = problem_of(httpx.Response(502, text="<html>bad gateway</html>"))
    assert plain.status == 502 and plain.problems == [] and "502" in plain.detail
    assert "<html>" not in plain.detail
    # Members outside the one schema are not a problem of it (no second dialect).
    old = problem_of(httpx.Response(422, json={"detail": "x", "field": "name", "errors": []}))
    assert old.problems == [] and "no explanation" in old.detail
    busy = problem_of(httpx.Response(
        503, json=_problem(503, "The dns-agent at 198.51.100.2 cannot be reached."),
        headers={"Retry-After": "5"},
    ))  # fmt: skip
    assert isinstance(busy, UnavailableError) and busy.retry_after == 5
    assert busy.sentence == "The dns-agent at 198.51.100.2 cannot be reached. Try again in 5 s."


def test_every_problem_lands_at_its_field_and_the_rest_at_the_top() -> None:
    form = Placement.same(
        "comment", fields={"changes[].new.ttl": "ttl", "changes[].new.data": "data"}
    )
    exc = problem_of(httpx.Response(422, json=_problem(
        422, "...",
        {"field": "changes[0].new.data", "message": "not valid A data"},
        {"field": "changes[0].new.ttl", "message": "must be at most 2147483647"},
        {"field": "changes[0].new.data", "message": "too long"},
        {"field": "changes[0].record", "message": "no such record", "name": "www", "type": "A"},
        {"field": "body", "message": "too many changes at once"},
        hint="reload the page",
    )))  # fmt: skip
    errors = refusal(exc, form)
    assert errors["data"] == "not valid A data; too long"
    assert errors["ttl"] == "must be at most 2147483647"
    assert "name" not in errors and "comment" not in errors
    assert errors.top == [
        "record (www A): no such record", "too many changes at once", "Reload the page",
    ]  # fmt: skip
    assert errors.banner.startswith("Invalid input: nothing was changed")


def test_list_entries_lines_of_a_file_and_one_pool_of_many() -> None:
    network = Placement.same(
        "hostname", fields={"routes[]": "routes", "resolvers[]": "resolvers"},
        entries={"routes": "line", "resolvers": "resolver"},
    )  # fmt: skip
    exc = problem_of(httpx.Response(422, json=_problem(
        422, "...",
        {"field": "routes[1].gateway", "message": "192.0.2.200 is on no network here"},
        {"field": "resolvers[2]", "message": "not an address"},
    )))  # fmt: skip
    errors = refusal(exc, network)
    assert errors["routes"] == "line 2: 192.0.2.200 is on no network here"
    assert network.locate("routes.1.gateway") == ("routes", "line 2: ")  # an older notation
    assert errors["resolvers"] == "resolver 3: not an address"
    zone_file = Placement.same("name", "text", fields={"records[]": "text"},
                               entries={"text": "record"}, lines="text")  # fmt: skip
    exc = problem_of(httpx.Response(422, json=_problem(
        422, "...",
        {"field": "line 7", "message": "unknown type FOO"},
        {"field": "records[3].data", "message": "not valid MX data", "line": 12},
        {"field": "records[4].data", "message": "not valid A data"},
    )))  # fmt: skip
    assert refusal(exc, zone_file)["text"] == (
        "line 7: unknown type FOO; line 12: not valid MX data; record 5: not valid A data"
    )
    # The pool form adds the third pool: problems of the others are not its fields'.
    exc = problem_of(httpx.Response(422, json=_problem(
        422, "...",
        {"field": "pools[2].end", "message": "outside the subnet"},
        {"field": "pools[0].start", "message": "overlaps another scope"},
    )))  # fmt: skip
    errors = refusal(exc, pool_form(2))
    assert errors.fields == {"end": ["outside the subnet"]}
    assert errors.top == ["pool 1 start: overlaps another scope"]


def test_a_refusal_without_problems_is_its_detail_in_the_banner() -> None:
    exc = problem_of(httpx.Response(403, json=_problem(
        403, "The role 'read-only' may not do this; it needs administrator or dns-admin."
    )))  # fmt: skip
    errors = refusal(exc, Placement.same("name"))
    assert not errors.fields and not errors.top
    assert (
        errors.banner
        == exc.sentence
        == ("The role 'read-only' may not do this; it needs administrator or dns-admin.")
    )
    assert in_words(exc) == exc.sentence
    two = problem_of(httpx.Response(422, json=_problem(
        422, "a: x (and 1 more)", {"field": "scopes[0].pools[1].start", "message": "bad"},
        {"field": "valid_lifetime", "message": "must be a whole number"},
    )))  # fmt: skip
    assert in_words(two) == "pool 2 start: bad; valid lifetime: must be a whole number."


def test_form_text_becomes_numbers_and_flags_or_a_plain_error() -> None:
    read = Reader({"ttl": " 300 ", "code": "", "port": "12ab", "on": "yes", "off": "",
                   "auto": "False", "bad": "maybe"})  # fmt: skip
    assert read.whole("ttl") == 300 and read.whole("code") is None
    assert read.whole("port", default=1231, example="1231") == 1231
    assert read.flag("on") and not read.flag("off")
    assert read.truth("auto") is False and read.truth("bad") is None
    assert read.whole("code", required=True) is None
    with pytest.raises(FormInputError) as refused:
        read.check()
    errors = refused.value.errors
    assert errors["port"] == "“12ab” is not a whole number: write digits only, such as 1231."
    assert errors["bad"] == "“maybe” is neither true nor false."
    assert errors["code"] == "A whole number is needed here."
    # A field the form does not show (a hidden one) is named at the top.
    shown = refusal(refused.value, Placement.same("port", "bad"))
    assert set(shown.fields) == {"port", "bad"}
    assert shown.top == ["code: A whole number is needed here."]


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
    read = Reader({"name": "", "type": "mx", "ttl": "", "data": " 10 mail "})
    assert record_of(read) == {"name": "@", "type": "MX", "ttl": None, "data": "10 mail"}
    read = Reader({"name": "www", "type": "A", "ttl": "60", "data": "198.51.100.7"})
    assert record_of(read)["ttl"] == 60  # a number, never the text "60"


# --- dashboard and charts ------------------------------------------------------------------
def test_utilisation_and_restarts() -> None:
    usage = ScopeUsage(subnet_id=1, subnet="203.0.113.0/24", total=200, assigned=150,
                       utilisation=0.75)  # fmt: skip
    bars = utilisation_bars([usage], "v4")
    assert bars == [Bar("203.0.113.0/24", 0.75, "150 / 200 (75%)")]
    now = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    events = [
        ServiceEvent(time="2026-01-01T12:00:00+00:00", program="named"),
        ServiceEvent(time="2026-01-01T13:00:00+00:00", program="named"),
        ServiceEvent(time="2025-12-01T00:00:00+00:00", program="central"),
        ServiceEvent(time="garbage", program="webui"),
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
def _user(role: str) -> dict[str, Any]:
    return {"id": 7, "username": "ops", "display_name": "", "role": role, "enabled": True}


ZONE = {"id": 1, "name": "z1.example.", "kind": "primary", "record_count": 1, "serial": 1,
        "enabled": True, "ttl": 3600, "soa": "ns1.z1.example. hostmaster 1"}  # fmt: skip
SETTINGS = {"health_interval_seconds": 30, "backup_auto_approve": False,
            "backup_full_time": "02:30"}  # fmt: skip


class FakeCentral:
    """Answers the calls the tested pages make in the one problem format, and records the
    writes. ``role``: who logs in; ``answers``: (method, path) -> the answer to a write."""

    def __init__(self, role: str = "read-only") -> None:
        self.role = role
        self.writes: list[tuple[str, str, Any]] = []
        self.answers: dict[tuple[str, str], httpx.Response] = {}
        self.down = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        path = request.url.path.removeprefix("/api/v1")
        if path == "/auth/login":
            body = json.loads(request.content)
            if body == {"username": "ops", "password": "right-password"}:
                return httpx.Response(200, json={
                    "token": "bws_x", "token_type": "bearer", "expires_at": LATER,
                    "user": _user(self.role),
                })  # fmt: skip
            return httpx.Response(401, json=_problem(401, "Wrong user name or password."))
        if request.method != "GET":
            self.writes.append((request.method, path, json.loads(request.content or b"null")))
            if (request.method, path) in self.answers:
                return self.answers[request.method, path]
            if self.role == "read-only":
                return httpx.Response(403, json=_problem(
                    403, "The role 'read-only' may not do this."
                ))  # fmt: skip
            return httpx.Response(200, json={})
        if path == "/dns/zones":
            items = [ZONE | {"id": i, "name": f"z{i}.example."} for i in range(1, 51)]
            return httpx.Response(200, json={"items": items, "total": 10_000})
        if path == "/dns/zones/1":
            return httpx.Response(200, json=ZONE)
        if path == "/dns/zones/1/records":
            record = {"id": 3, "zone_id": 1, "name": "www.z1.example.", "type": "A", "ttl": 60,
                      "data": "198.51.100.7"}  # fmt: skip
            return httpx.Response(200, json={"items": [record], "total": 1})
        if path == "/me":
            return httpx.Response(200, json=_user(self.role) | {"token": "session"})
        if path == "/servers":
            return httpx.Response(200, json={"items": [], "total": 0})
        if path == "/settings":
            return httpx.Response(200, json=SETTINGS)
        if path == "/users":
            return httpx.Response(200, json={"items": [_user(self.role)], "total": 1})
        return httpx.Response(404, json=_problem(404, "There is no such page."))


def _scenario(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, steps: Any, fake: FakeCentral | None = None
) -> FakeCentral:
    """Run ``steps(http)`` against the console app (lifespan included) and a fake Central."""
    fake = fake or FakeCentral()
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


async def _log_in(http: httpx.AsyncClient) -> str:
    """Log in; the session's CSRF token."""
    done = await http.post("/login", data={"username": "ops", "password": "right-password"})
    assert done.status_code == 303
    page = await http.get("/settings")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    return token[1]


def test_numbers_and_flags_go_to_central_as_json_numbers_and_booleans(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def steps(http: httpx.AsyncClient) -> None:
        csrf = await _log_in(http)
        added = await http.post("/dns/zones/1/records", data={
            "csrf_token": csrf, "name": "www", "type": "A", "ttl": "1m", "data": "198.51.100.7",
        })  # fmt: skip
        assert added.status_code == 303
        saved = await http.post("/settings", data={
            "csrf_token": csrf, "health_interval_seconds": "20", "backup_auto_approve": "true",
            "backup_full_time": "03:15",
        })  # fmt: skip
        assert saved.status_code == 303
        user = await http.post("/users/7", data={"csrf_token": csrf, "role": "dns-admin",
                                                 "enabled": "no"})  # fmt: skip
        assert user.status_code == 303
        # Text where a number belongs is refused by the console, with the field named.
        bad = await http.post("/dns/zones/1/records", data={
            "csrf_token": csrf, "name": "www", "type": "A", "ttl": "an hour", "data": "x",
        })  # fmt: skip
        assert bad.status_code == 422
        assert 'id="e-ttl">“an hour” is not a duration' in bad.text
        assert 'aria-invalid="true" aria-describedby="e-ttl"' in bad.text
        zone = await http.post("/dns/zones", data={"csrf_token": csrf, "name": "n.example",
                                                   "ttl": "1 hr", "server_id": "one"})  # fmt: skip
        assert zone.status_code == 422 and "“1 hr” is not a duration" in zone.text
        assert 'id="e-server_id">DNS server: “one” is not a whole number' in zone.text

    fake = _scenario(tmp_path, monkeypatch, steps, FakeCentral("administrator"))
    record, settings, user = (w[2] for w in fake.writes)
    assert record["changes"][0]["record"]["ttl"] == 60
    assert settings == {"health_interval_seconds": 20, "backup_auto_approve": True,
                        "backup_full_time": "03:15", "comment": ""}  # fmt: skip
    assert user == {"role": "dns-admin", "enabled": False, "comment": ""}
    assert len(fake.writes) == 3  # the bad TTL never reached Central


def test_several_problems_at_their_fields_and_one_the_form_lacks_on_top(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeCentral("administrator")
    fake.answers["POST", "/dns/zones/1/changes"] = httpx.Response(422, json=_problem(
        422, "changes[0].record.ttl: must be at most 2147483647 (and 2 more)",
        {"field": "changes[0].record.ttl", "message": "must be at most 2147483647"},
        {"field": "changes[0].record.data", "message": "not valid A data", "name": "www",
         "type": "A"},
        {"field": "changes[0].ptr", "message": "no reverse zone holds 198.51.100.7"},
    ))  # fmt: skip

    async def steps(http: httpx.AsyncClient) -> None:
        csrf = await _log_in(http)
        page = await http.post("/dns/zones/1/records", data={
            "csrf_token": csrf, "name": "www", "type": "A", "ttl": "9999999999", "data": "x",
        })  # fmt: skip
        assert page.status_code == 422
        assert 'id="e-ttl">must be at most 2147483647<' in page.text
        assert 'id="e-data">not valid A data<' in page.text
        top = re.search(r'<ul class="error form-top" role="alert">(.*?)</ul>', page.text)
        assert top is not None and "change 1 ptr: no reverse zone holds" in top[1]
        assert "Invalid input: nothing was changed" in page.text
        assert 'value="9999999999"' in page.text  # what was typed stays

    _scenario(tmp_path, monkeypatch, steps, fake)


def test_central_down_or_unavailable_is_said_plainly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeCentral("administrator")
    fake.answers["POST", "/dns/zones/1/changes"] = httpx.Response(
        503, headers={"Retry-After": "5"}, json=_problem(
            503, "The dns-agent at 198.51.100.2 cannot be reached.",
            hint="check that the dns-agent runs",
        ),
    )  # fmt: skip

    async def steps(http: httpx.AsyncClient) -> None:
        csrf = await _log_in(http)
        page = await http.post("/dns/zones/1/records", data={
            "csrf_token": csrf, "name": "www", "type": "A", "ttl": "", "data": "198.51.100.9",
        })  # fmt: skip
        assert page.status_code == 503
        assert ("The dns-agent at 198.51.100.2 cannot be reached. Check that the dns-agent "
                "runs. Try again in 5 s.") in page.text  # fmt: skip
        fake.down = True
        down = await http.get("/dns/zones")
        assert down.status_code == 503 and "Central is not answering" in down.text
        assert "nothing answers at https://central.test" in down.text
        assert "Errno" not in down.text
        login = await http.post("/login", data={"username": "ops", "password": "x"})
        assert login.status_code == 503 and "Central cannot be reached" in login.text

    _scenario(tmp_path, monkeypatch, steps, fake)


def test_durations_in_seconds_or_units() -> None:
    from webui.forms import Reader, format_duration, parse_duration

    assert parse_duration("3600") == 3600
    assert parse_duration("1h30m") == 5400
    assert parse_duration("1W2d") == 9 * 86400
    for bad in ("", "x", "30m1h", "1h1h", "1d 2h", "-5", "1.5h"):
        assert parse_duration(bad) is None, bad
    for seconds in (0, 1, 59, 60, 5400, 86400, 90061, 604800 + 1):
        assert parse_duration(format_duration(seconds)) == seconds
    read = Reader({"ttl": "2h", "lease": "ninety"})
    assert read.duration("ttl") == 7200
    assert read.duration("lease") is None
    assert "lease" in read.errors and "not a duration" in read.errors["lease"]


def test_history_difference_reads_as_lines_and_fields() -> None:
    from webui.pages.history import difference, history_filter

    diff = difference(
        {"zone": "a.example.", "records": ["www 300 IN A 198.51.100.4"]},
        {"zone": "a.example.", "serial": 5, "records": ["www 300 IN A 198.51.100.5"]},
    )
    (records, serial) = diff.lines
    assert records.removed == ["www 300 IN A 198.51.100.4"]
    assert records.added == ["www 300 IN A 198.51.100.5"]
    assert (serial.before, serial.after) == ("", "5")
    assert diff.same == [("zone", "a.example.")]
    deleted = difference({"username": "bob", "enabled": True}, None)
    assert [(line.field, line.before, line.after) for line in deleted.lines] == [
        ("username", "bob", ""),
        ("enabled", "yes", ""),
    ]
    assert history_filter({"name": "www.a.example. x"}) == "content~www.a.example."


def test_plain_words_pages_and_the_checked_rows() -> None:
    from webui.forms import plain
    from webui.paging import Pager, selected

    assert plain("update failed: REFUSED") == "update failed: refused by the DNS server"
    assert "Errno" not in plain("agent: [Errno 111] Connection refused")
    assert plain("pools[0].start: Input should be a valid IPv4 address") == (
        "pool 1 start: must be a valid IPv4 address"
    )
    assert plain("ns1.example.com. at 198.51.100.7") == "ns1.example.com. at 198.51.100.7"
    pager = Pager(500, 50, 10_000)
    assert pager.jumps() == [1, None, 9, 10, 11, 12, 13, None, 200]
    assert Pager(0, 50, 120).jumps() == [1, 2, 3]
    assert pager.last_offset == 9950 and pager.offset_of(0) == 0 and pager.offset_of(999) == 9950
    assert selected({"selected": "3\n7\n3\n\n"}) == ["3", "7"]
    assert selected({}) == []
