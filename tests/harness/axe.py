"""axe-core, the accessibility checker, run in a browser test's page.

axe-core (MPL-2.0) is fetched from the npm registry the first time a test needs it, checked
against the integrity the registry publishes (pinned here) and kept in ``tests/.artifacts/``
(not committed); it is injected into the page under test, never served by the console.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page

from webui.vendor import integrity_of

AXE_VERSION = "4.14.1"
#: ``dist.integrity`` of axe-core 4.14.1 in the npm registry's metadata.
AXE_INTEGRITY = (
    "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37"
    "OgudVGtQ=="
)
AXE_TARBALL = f"https://registry.npmjs.org/axe-core/-/axe-core-{AXE_VERSION}.tgz"
CACHE = Path(__file__).resolve().parents[1] / ".artifacts" / f"axe-core-{AXE_VERSION}.min.js"


def axe_source() -> str:
    """The minified axe-core, downloaded and checked once."""
    if CACHE.exists():
        return CACHE.read_text()
    tarball = httpx.get(AXE_TARBALL, timeout=60, follow_redirects=True).content
    got = integrity_of(tarball)
    assert got == AXE_INTEGRITY, f"axe-core {AXE_VERSION} does not match its pin (got {got})"
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        handle = archive.extractfile("package/axe.min.js")
        assert handle is not None
        source = handle.read().decode()
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    CACHE.write_text(source)
    return source


def violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (WCAG 2 A and AA, best practices)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated by the browser's debugging protocol: the console's CSP (no inline
        # script) stays as it is for the page.
        page.evaluate("() => {" + axe_source() + "\n}")
    found: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
        .map(v => ({id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(" "))}))"""
    )
    return found


def duplicate_ids(page: Page) -> list[str]:
    """The ids that more than one element of the page carries."""
    found: list[str] = page.evaluate(
        """() => { const seen = {}; for (const el of document.querySelectorAll("[id]"))
        seen[el.id] = (seen[el.id] || 0) + 1;
        return Object.keys(seen).filter(id => seen[id] > 1); }"""
    )
    return found


def assert_accessible(page: Page) -> None:
    """No axe-core violation and no duplicate id on the page."""
    twice = duplicate_ids(page)
    assert twice == [], f"duplicate ids at {page.url}: {twice}"
    found = violations(page)
    assert found == [], f"axe-core violations at {page.url}: {found}"
