"""The console's one JavaScript library, htmx, fetched from the npm registry at build time.

The appliance has no internet: the library is downloaded when the project is set up or the
image is built (``python -m webui.vendor``, run by ``./build.sh`` and ``image/build.py``), its
sha512 checked against the integrity the registry publishes (pinned here), and the minified
file extracted into ``webui/static/vendor/`` (not committed). Nothing is loaded from a CDN at
run time.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import logging
import sys
import tarfile
from pathlib import Path

import httpx

from services.common.errors import SetupError
from services.common.files import write_atomic

log = logging.getLogger(__name__)

HTMX_VERSION = "2.0.8"
#: ``dist.integrity`` of htmx.org 2.0.8 in the npm registry's metadata.
HTMX_INTEGRITY = (
    "sha512-fm297iru0iWsNJlBrjvtN7V9zjaxd+69Oqjh4F/Vq9W"
    "wi2kFisLcrLCiv5oBX0KLfOX/zG8AUo9ROMU5XUB44Q=="
)
HTMX_TARBALL = f"https://registry.npmjs.org/htmx.org/-/htmx.org-{HTMX_VERSION}.tgz"
HTMX_MEMBER = "package/dist/htmx.min.js"
VENDOR_DIR = Path(__file__).resolve().parent / "static" / "vendor"
HTMX_FILE = VENDOR_DIR / "htmx.min.js"
STAMP_FILE = VENDOR_DIR / "htmx.version"


def integrity_of(data: bytes) -> str:
    """The npm ``integrity`` string (SRI, sha512) of ``data``."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def extract_htmx(tarball: bytes, expected: str = HTMX_INTEGRITY) -> bytes:
    """The minified htmx from the package ``tarball``, after checking its integrity."""
    got = integrity_of(tarball)
    if got != expected:
        raise SetupError(
            f"The htmx package does not match its pinned integrity (got {got}).",
            hint="the download was altered or the pin in webui/vendor.py is wrong",
        )
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        try:
            member = archive.getmember(HTMX_MEMBER)
        except KeyError:
            raise SetupError(f"The htmx package has no {HTMX_MEMBER}.") from None
        handle = archive.extractfile(member)
        if handle is None:
            raise SetupError(f"{HTMX_MEMBER} in the htmx package is not a file.")
        with handle:
            return handle.read()


def is_current() -> bool:
    return (
        HTMX_FILE.exists()
        and STAMP_FILE.exists()
        and STAMP_FILE.read_text().strip() == HTMX_INTEGRITY
    )


def ensure(*, force: bool = False) -> Path:
    """Put the pinned htmx into ``webui/static/vendor/`` unless it is there already."""
    if is_current() and not force:
        return HTMX_FILE
    log.info("downloading htmx %s from the npm registry", HTMX_VERSION)
    try:
        response = httpx.get(HTMX_TARBALL, timeout=60, follow_redirects=True)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise SetupError(
            f"Could not download htmx {HTMX_VERSION}: {exc}.",
            hint="the npm registry must be reachable at build time",
        ) from exc
    script = extract_htmx(response.content)
    VENDOR_DIR.mkdir(parents=True, exist_ok=True)
    # Served by the console, which runs as its own user.
    write_atomic(HTMX_FILE, script, mode=0o644)
    write_atomic(STAMP_FILE, (HTMX_INTEGRITY + "\n").encode(), mode=0o644)
    return HTMX_FILE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m webui.vendor", description=__doc__)
    parser.add_argument("--force", action="store_true", help="download even if present")
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        path = ensure(force=args.force)
    except SetupError as exc:
        print(f"webui.vendor: {exc}", file=sys.stderr)
        return 1
    print(f"htmx {HTMX_VERSION}: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
