"""axe-core, the accessibility engine, run in the browser tests' pages.

The package comes from the npm registry on first use (its sha512 checked against the pin
below, as webui.vendor does for htmx) and is kept in ``tests/.artifacts/``. It is evaluated in
the page through the DevTools protocol, which the console's CSP does not apply to, so the
console's pages are checked exactly as served.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from webui.vendor import integrity_of

AXE_VERSION = "4.14.1"
#: ``dist.integrity`` of axe-core 4.14.1 in the npm registry's metadata.
AXE_INTEGRITY = (
    "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NP"
    "jCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
)
AXE_TARBALL = f"https://registry.npmjs.org/axe-core/-/axe-core-{AXE_VERSION}.tgz"
CACHE = Path(__file__).resolve().parents[1] / ".artifacts" / f"axe-core-{AXE_VERSION}.min.js"
_source: list[str] = []


def axe_source() -> str:
    if _source:
        return _source[0]
    if not CACHE.exists():
        response = httpx.get(AXE_TARBALL, timeout=60, follow_redirects=True)
        response.raise_for_status()
        assert integrity_of(response.content) == AXE_INTEGRITY, "axe-core does not match its pin"
        with tarfile.open(fileobj=io.BytesIO(response.content), mode="r:gz") as archive:
            handle = archive.extractfile("package/axe.min.js")
            assert handle is not None
            script = handle.read()
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        CACHE.write_bytes(script)
    _source.append(CACHE.read_text())
    return _source[0]


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (WCAG 2.1 A and AA and best practice)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source() + "\n;undefined")
    found: list[dict[str, Any]] = page.evaluate(
        """async () => {
            const tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"];
            const result = await window.axe.run(document, {runOnly: {type: "tag", values: tags}});
            return result.violations.map(v => ({
                id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 5),
            }));
        }"""
    )
    return found


def duplicate_ids(page: Page) -> list[str]:
    """The element ids the page uses more than once."""
    found: list[str] = page.evaluate(
        """() => {
            const seen = new Map();
            for (const el of document.querySelectorAll("[id]")) {
                seen.set(el.id, (seen.get(el.id) || 0) + 1);
            }
            return [...seen].filter(([, n]) => n > 1).map(([id]) => id);
        }"""
    )
    return found


def assert_accessible(page: Page) -> None:
    """No axe-core violation and no duplicate id on the page."""
    violations = axe_violations(page)
    assert violations == [], f"axe-core on {page.url}: {violations}"
    dupes = duplicate_ids(page)
    assert dupes == [], f"duplicate ids on {page.url}: {dupes}"


def wider_than_the_page(page: Page) -> list[str]:
    """The innermost elements that reach past the viewport's right edge (why a page scrolls
    sideways), as tag#id.class and their right edge."""
    found: list[str] = page.evaluate(
        """() => {
            const edge = document.documentElement.clientWidth;
            const wide = [...document.body.querySelectorAll("*")].filter(
                el => el.getBoundingClientRect().right > edge + 1);
            return wide.filter(el => !wide.some(o => o !== el && el.contains(o))).slice(0, 8)
                .map(el => {
                    const classes = String(el.className || "").split(" ").filter(Boolean);
                    const id = el.id ? "#" + el.id : "";
                    const right = Math.round(el.getBoundingClientRect().right);
                    return `${el.tagName.toLowerCase()}${id}${classes.map(c => "." + c).join("")}`
                        + ` right ${right}: ${(el.textContent || "").trim().slice(0, 60)}`;
                });
        }"""
    )
    return found


def check_narrow_and_dark(page: Page, urls: list[str]) -> None:
    """Each of ``urls`` at 390x844 in the dark scheme: it answers, the dark scheme applies, the
    page does not scroll sideways and axe-core finds nothing; the page's size and scheme are
    put back after."""
    size = page.viewport_size
    page.set_viewport_size({"width": 390, "height": 844})
    page.emulate_media(color_scheme="dark")
    try:
        for url in urls:
            shown = page.goto(url)
            assert shown is not None and shown.ok, (url, shown and shown.status)
            expect(page.locator("h1")).to_be_visible()
            background = page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert background != "rgb(245, 246, 248)", (url, "the dark scheme did not apply")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, (url, width)
            assert_accessible(page)
    finally:
        page.emulate_media(color_scheme="light")
        if size is not None:
            page.set_viewport_size(size)
