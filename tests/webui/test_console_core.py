"""The console's common parts in headless Chromium: the dashboard's health from the daemons,
the history, dialogs, sessions, paging and the look. One logged-in page serves the module."""

from __future__ import annotations

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
