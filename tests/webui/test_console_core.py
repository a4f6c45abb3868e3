"""The console's common parts in headless Chromium: the dashboard's health from the daemons,
the history, dialogs, sessions, paging and the look. One logged-in page serves the module."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from services.sandbox.sandbox import Sandbox
from tests.harness.wait import wait_for
from tests.webui.axe import assert_accessible
from tests.webui.conftest import VIEWPORT, login

pytestmark = pytest.mark.sandbox

#: The monitor collects every 5 s and the dashboard asks every 5 s: a change shows within
#: 10 s; the margin is for a loaded machine.
HEALTH_WAIT_MS = 25_000


@pytest.fixture(scope="module")
def admin(browser: Browser, console_box: Sandbox, console_url: str) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.errors = errors  # type: ignore[attr-defined]
    login(page, console_url, *console_box.admin_credentials())
    try:
        yield page
    finally:
        context.close()


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
    expect(page.locator("#history")).not_to_contain_text("session")
    page.click(".tabs >> text=Logins")
    expect(page.locator("#history tbody tr").first).to_contain_text("session")
    expect(page.locator("#history tbody tr").first).to_contain_text("login")
    assert_accessible(page)
    assert page.errors == []  # type: ignore[attr-defined]
