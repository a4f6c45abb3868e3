"""The console's common parts in headless Chromium: the dashboard's health from the daemons,
the history, dialogs, sessions, paging and the look. One logged-in page serves the module."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from services.sandbox.sandbox import Sandbox
from tests.harness.wait import wait_for
from tests.webui.axe import assert_accessible, wider_than_the_page
from tests.webui.conftest import VIEWPORT, admin_session, login

pytestmark = pytest.mark.sandbox

#: The monitor collects every 5 s and the dashboard asks every 5 s: a change shows within
#: 10 s; the margin is for a loaded machine.
HEALTH_WAIT_MS = 25_000


@pytest.fixture(scope="module")
def admin(browser: Browser, console_box: Sandbox, console_url: str) -> Iterator[Page]:
    with admin_session(browser, console_box, console_url) as found:
        yield found


def _named_answers(box: Sandbox) -> bool:
    try:
        box.check_dns()
    except Exception:
        return False
    return True


def test_dashboard_health_follows_named_without_a_reload(
    console_box: Sandbox, console_url: str, admin: Page
):
    page = admin
    page.goto(console_url + "/")
    dns = page.locator("#check-dns")
    expect(dns).to_have_attribute("data-level", "ok", timeout=HEALTH_WAIT_MS)
    expect(page.locator("#check-dhcp")).to_have_attribute("data-level", "ok")
    assert_accessible(page)
    page.evaluate("window.stillTheSamePage = true")
    supervisor = console_box.supervisor()
    try:
        supervisor.call("supervisor.stopProcess", "named")
        expect(dns).to_have_attribute("data-level", "bad", timeout=HEALTH_WAIT_MS)
        expect(page.locator("#health")).to_have_attribute("data-overall", "bad")
        item = page.locator("#attention li", has_text="DNS server (named)")
        expect(item).to_contain_text("not answering")
        expect(item.locator("a")).to_have_attribute("href", "/servers")
        assert_accessible(page)
    finally:
        if supervisor.process("named")["statename"] != "RUNNING":
            supervisor.call("supervisor.startProcess", "named")
        wait_for(lambda: _named_answers(console_box), timeout=60, what="named answering again")
    expect(dns).to_have_attribute("data-level", "ok", timeout=HEALTH_WAIT_MS)
    expect(page.locator("#attention")).not_to_contain_text("DNS server (named)")
    assert page.evaluate("window.stillTheSamePage === true"), "the page was reloaded"
    assert page.errors == []  # type: ignore[attr-defined]


def test_history_shows_before_and_after_and_keeps_logins_apart(
    console_box: Sandbox, console_url: str, admin: Page
):
    page = admin
    name = f"hist-{secrets.token_hex(3)}"
    page.goto(console_url + "/users")
    form = page.locator("#create-user form")
    form.locator("[name=username]").fill(name)
    form.locator("[name=password]").fill("a long enough password 1")
    form.locator("[name=comment]").fill("made for the history test")
    form.locator("button[type=submit]").click()
    expect(page.locator("text=The user was created.")).to_be_visible()
    row = page.locator("#users tr", has_text=name)
    row.locator("summary:has-text('Edit')").click()
    row.locator("select[name=role]").select_option("dns-admin")
    row.locator("input[name=comment]").fill("now looks after DNS")
    row.locator("button:has-text('Save')").click()
    expect(page.locator("text=The user was saved.")).to_be_visible()
    assert_accessible(page)
    # Deleting asks in the console's dialog (no browser prompt), with a save comment.
    page.locator("#users tr", has_text=name).locator("button:has-text('Delete')").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"Delete the user {name}?")
    assert_accessible(page)
    page.locator("#confirm-cancel").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#users")).to_contain_text(name)  # Cancel sent nothing
    page.locator("#users tr", has_text=name).locator("button:has-text('Delete')").click()
    page.fill("#confirm-comment", "left the team")
    page.click("#confirm-ok")
    expect(page.locator("text=The user was deleted.")).to_be_visible()
    expect(page.locator("#users")).not_to_contain_text(name)

    page.goto(console_url + "/history")
    expect(page.locator(".tabs [aria-current=page]")).to_have_text("Changes")
    page.fill("#h-name", name)
    page.click("button:has-text('Search')")
    rows = page.locator("#history tbody tr")
    expect(rows).to_have_count(3)
    deleted, updated, created = rows.nth(0), rows.nth(1), rows.nth(2)
    expect(deleted).to_contain_text("left the team")
    expect(deleted.locator(".object-name")).to_have_text(name)
    expect(deleted.locator("del.removed", has_text=name)).to_be_visible()  # what was deleted
    expect(updated.locator("del.removed", has_text="read-only")).to_be_visible()
    expect(updated.locator("ins.added", has_text="dns-admin")).to_be_visible()
    expect(updated).to_contain_text("now looks after DNS")
    expect(created).to_contain_text(console_box.admin_credentials()[0])
    assert "{" not in page.locator("#history").inner_text()  # no raw JSON
    assert_accessible(page)
    page.select_option("#h-action", "delete")
    page.click("button:has-text('Search')")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("left the team")
    # Logins are apart from the changes.
    page.goto(console_url + "/history")
    expect(page.locator("#history tbody tr").first).to_be_visible()
    # (other tests' changes may mention sessions, a setting's name for one: look at the kinds)
    actions = page.locator("#history tbody tr td:nth-child(4)").all_inner_texts()
    assert actions and not {a.strip() for a in actions} & {"login", "logout"}, actions
    page.click(".tabs >> text=Logins")
    expect(page.locator("#history tbody tr").first).to_contain_text("session")
    expect(page.locator("#history tbody tr").first).to_contain_text("login")
    assert_accessible(page)
    assert page.errors == []  # type: ignore[attr-defined]


def test_errors_in_plain_words_at_their_fields(console_box: Sandbox, console_url: str, admin: Page):
    page = admin
    page.goto(console_url + "/users")
    form = page.locator("#create-user")
    form.locator("[name=username]").fill(console_box.admin_credentials()[0])  # taken
    form.locator("[name=password]").fill("short")
    form.locator("button[type=submit]").click()
    error = form.locator("#e-password")
    expect(error).to_contain_text("at least 12")
    expect(form.locator("#f-password")).to_have_attribute("aria-describedby", "e-password")
    expect(form.locator("#f-password")).to_have_attribute("aria-invalid", "true")
    shown = page.locator("main").inner_text()
    for internal in ("Input should", "should have", "[0]", "Errno", "REFUSED", "Traceback"):
        assert internal not in shown, (internal, shown)
    assert_accessible(page)


_tokens: dict[int, str] = {}


def _api(box: Sandbox, method: str, path: str, body: object = None) -> dict[str, object]:
    """A call to Central as the first administrator (one login for the module)."""
    token = _tokens.get(id(box)) or _tokens.setdefault(id(box), box.central_token())
    answer = box.https(1231, "/api/v1" + path, 15, method=method, token=token, json_body=body)
    assert answer.status_code < 300, answer.text
    return answer.json() if answer.content else {}


def test_a_role_change_and_a_disabled_user_take_effect_at_the_next_request(
    browser: Browser, console_box: Sandbox, console_url: str
):
    name = f"sess-{secrets.token_hex(3)}"
    password = "a long enough password 2"
    user = _api(console_box, "POST", "/users",
                {"username": name, "role": "read-only", "password": password})  # fmt: skip
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    try:
        page = context.new_page()
        login(page, console_url, name, password)
        expect(page.locator(".who")).to_contain_text("read-only")
        page.goto(console_url + "/users")
        expect(page.locator("#create-user")).to_have_count(0)
        _api(console_box, "PATCH", f"/users/{user['id']}", {"role": "administrator"})
        page.goto(console_url + "/users")  # the next request, no new login
        expect(page.locator(".who")).to_contain_text("administrator")
        expect(page.locator("#create-user")).to_be_visible()
        _api(console_box, "PATCH", f"/users/{user['id']}", {"enabled": False})
        page.goto(console_url + "/history")
        expect(page.locator("#f-username")).to_be_visible()
        expect(page.locator("main")).to_contain_text("Your user was disabled by an administrator.")
    finally:
        context.close()
        _api(console_box, "DELETE", f"/users/{user['id']}?comment=test+done")


def test_a_session_about_to_end_warns_and_a_form_sent_after_it_is_kept(
    browser: Browser, console_box: Sandbox, console_url: str
):
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    try:
        page = context.new_page()
        login(page, console_url, *console_box.admin_credentials())
        page.goto(console_url + "/users")
        warning = page.locator("#session-warning")
        expect(warning).to_be_hidden()
        # The page knows when the session ends; bring that moment near.
        page.evaluate(
            "document.getElementById('session-info').dataset.expires ="
            " new Date(Date.now() + 90000).toISOString()"
        )
        expect(warning).to_be_visible(timeout=5_000)
        expect(warning).to_contain_text("Your session ends in 1 min")
        assert_accessible(page)
        name = f"kept-{secrets.token_hex(3)}"
        form = page.locator("#create-user")
        form.locator("[name=username]").fill(name)
        form.locator("[name=display_name]").fill("Kept Over Login")
        form.locator("[name=role]").select_option("dhcp-admin")
        form.locator("[name=comment]").fill("typed before the session ended")
        form.locator("[name=password]").fill("a password never kept 3")
        context.clear_cookies()  # what the browser does when the session's cookie expires
        form.locator("button[type=submit]").click()
        expect(page.locator("form.login-form")).to_be_visible()
        expect(page.locator("main")).to_contain_text("Your session has ended")
        expect(page.locator("#form-kept")).to_be_visible()
        username, password = console_box.admin_credentials()
        page.fill("#f-username", username)
        page.fill("#f-password", password)
        page.click("button:has-text('Log in')")
        expect(page.locator("#form-restored")).to_be_visible()
        assert page.url.endswith("/users")
        form = page.locator("#create-user")
        expect(form.locator("[name=username]")).to_have_value(name)
        expect(form.locator("[name=display_name]")).to_have_value("Kept Over Login")
        expect(form.locator("[name=role]")).to_have_value("dhcp-admin")
        expect(form.locator("[name=comment]")).to_have_value("typed before the session ended")
        expect(form.locator("[name=password]")).to_have_value("")  # never kept
        assert _api(console_box, "GET", f"/users?filter=username:{name}")["total"] == 0
    finally:
        context.close()


def test_page_jumps_and_a_bulk_action_on_the_checked_rows(
    console_box: Sandbox, console_url: str, admin: Page
):
    page = admin
    tag = secrets.token_hex(3)
    made = [
        _api(console_box, "POST", "/users", {"username": f"bulk-{tag}-{n}", "role": "read-only",
                                             "password": "a long enough password 4"})
        for n in range(3)
    ]  # fmt: skip
    try:
        # 110 changes of one user: 111 history entries, three pages of 50.
        for n in range(110):
            _api(console_box, "PATCH", f"/users/{made[0]['id']}", {"display_name": f"v{n}"})
        page.goto(f"{console_url}/history?name=bulk-{tag}-0")
        pager = page.locator("nav.pager")
        expect(pager).to_contain_text("1\u201350 of 111 (page 1 of 3)")
        expect(pager.locator("[aria-current=page]")).to_have_text("1")
        assert_accessible(page)
        pager.get_by_label("Last page").click()
        expect(pager).to_contain_text("101\u2013111 of 111 (page 3 of 3)")
        pager.get_by_label("Page 2", exact=True).click()
        expect(pager).to_contain_text("51\u2013100 of 111 (page 2 of 3)")
        pager.get_by_label("First page").click()
        expect(pager).to_contain_text("1\u201350 of 111")
        assert "name=bulk-" in page.url  # the search is kept while paging

        page.goto(console_url + "/users")
        bar = page.locator("#users-bulk")
        expect(bar.locator("[data-bulk-count]")).to_have_text("0")
        expect(bar.locator("button[value=disable]")).to_be_disabled()
        for user in made[:2]:
            page.get_by_label(f"Select {user['username']}", exact=True).check()
        expect(bar.locator("[data-bulk-count]")).to_have_text("2")
        expect(page.get_by_label("Select every row of this page")).to_have_js_property(
            "indeterminate", True
        )
        assert_accessible(page)
        bar.locator("button[value=disable]").click()
        expect(page.locator("#confirm-dialog")).to_be_visible()
        page.fill("#confirm-comment", "bulk test")
        page.click("#confirm-ok")
        expect(page.locator("text=The selected users were disabled.")).to_be_visible()
        states = {u["username"]: u["enabled"]
                  for u in _api(console_box, "GET", f"/users?filter=username~bulk-{tag}")["items"]}  # type: ignore[union-attr]  # fmt: skip
        assert states == {made[0]["username"]: False, made[1]["username"]: False,
                          made[2]["username"]: True}  # fmt: skip
    finally:
        for user in made:
            _api(console_box, "DELETE", f"/users/{user['id']}?comment=done")


#: The pages of the console's common part.
PAGES = ("/", "/history", "/history?kind=logins", "/users", "/settings", "/settings/monitoring")


def test_pages_accessible_in_light_and_dark_and_at_390_px(
    browser: Browser, console_box: Sandbox, console_url: str, admin: Page
):
    page = admin
    page.goto(console_url + "/")
    toggle = page.locator("#theme-toggle")
    for theme in ("light", "dark"):
        if page.evaluate("document.documentElement.dataset.theme || 'light'") != theme:
            toggle.click()
        shown = "document.documentElement.dataset.theme || 'light'"
        assert page.evaluate(shown) == theme
        for path in PAGES:
            page.goto(console_url + path)
            expect(page.locator("h1")).to_be_visible()
            # the theme is kept from page to page
            assert page.evaluate(shown) == theme
            assert_accessible(page)
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background != "rgb(245, 246, 248)", "the dark theme did not apply"
    toggle.click()  # back to light for the tests after
    # A phone: every page fits 390 px without sideways scrolling; tables become cards.
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        small = phone.new_page()
        small.goto(console_url + "/")
        assert_accessible(small)  # the login page
        login(small, console_url, *console_box.admin_credentials())
        for path in PAGES:
            small.goto(console_url + path)
            expect(small.locator("h1")).to_be_visible()
            width = small.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, (path, width, wider_than_the_page(small))
            assert_accessible(small)
    finally:
        phone.close()


def test_a_setting_in_seconds_takes_a_duration(console_box: Sandbox, console_url: str, admin: Page):
    page = admin
    before = _api(console_box, "GET", "/settings")["login_lockout_seconds"]
    try:
        page.goto(console_url + "/settings")
        page.fill("#f-login_lockout_seconds", "5 minutes")
        page.click("button:has-text('Save settings')")
        expect(page.locator("#e-login_lockout_seconds")).to_contain_text("is not a duration")
        page.fill("#f-login_lockout_seconds", "1h30m")
        page.click("button:has-text('Save settings')")
        expect(page.locator("text=The settings were saved.")).to_be_visible()
        expect(page.locator("#f-login_lockout_seconds")).to_have_value("5400")
        assert _api(console_box, "GET", "/settings")["login_lockout_seconds"] == 5400
    finally:
        _api(console_box, "PATCH", "/settings", {"login_lockout_seconds": before,
                                               "comment": "put back by the test"})  # fmt: skip
