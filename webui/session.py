"""The console's login session: Central's token in an encrypted cookie, and the CSRF token.

The session is kept in the browser, not in the console's memory, so a restart of the console
(supervisord restarts it after a crash) logs nobody out. The cookie is sealed with AES-256-GCM
under a key that only the console reads (``var/lib/burrow/secrets/webui-cookie.key``, 0600):
nobody can read Central's token out of it or forge one. It holds Central's session token,
the user's name and role, the session's CSRF token and Central's expiry time; the cookie
expires with Central's session. Logging out revokes the token at Central, so a copy of an
old cookie is dead after logout.

The CSRF token is a random value made at login and kept inside the sealed cookie; every write
(form field ``csrf_token`` or header ``X-CSRF-Token``) must carry it. The cookie is Secure,
HttpOnly and SameSite=Strict, and named ``__Host-`` so that no other site may set it.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.common.files import write_atomic

COOKIE = "__Host-burrow-session"
#: Roles and what they may change (Central refuses the rest anyway; see central.core.deps).
WRITES = {
    "administrator": frozenset(
        {"dns", "dhcp", "ipam", "users", "settings", "appliance", "backups"}
    ),
    "dns-admin": frozenset({"dns"}),
    "dhcp-admin": frozenset({"dhcp"}),
    "ipam-admin": frozenset({"ipam"}),
    "read-only": frozenset(),
}


@dataclass(frozen=True)
class Session:
    """One logged-in user of the console."""

    token: str
    username: str
    role: str
    csrf: str
    expires_at: str

    def may(self, domain: str) -> bool:
        """Whether the role may change ``domain`` (dns, dhcp, users, settings, appliance,
        backups)."""
        return domain in WRITES.get(self.role, frozenset())

    def expired(self, now: dt.datetime | None = None) -> bool:
        moment = now or dt.datetime.now(dt.UTC)
        try:
            until = dt.datetime.fromisoformat(self.expires_at)
        except ValueError:
            return True
        if until.tzinfo is None:
            until = until.replace(tzinfo=dt.UTC)
        return until <= moment

    def seconds_left(self, now: dt.datetime | None = None) -> int:
        moment = now or dt.datetime.now(dt.UTC)
        until = dt.datetime.fromisoformat(self.expires_at)
        if until.tzinfo is None:
            until = until.replace(tzinfo=dt.UTC)
        return max(0, int((until - moment).total_seconds()))

    def csrf_ok(self, offered: str | None) -> bool:
        return bool(offered) and hmac.compare_digest(self.csrf, offered or "")


def new_session(token: str, username: str, role: str, expires_at: str) -> Session:
    return Session(token, username, role, secrets.token_urlsafe(32), expires_at)


class CookieSealer:
    """Seals sessions into cookie values and opens them again (AES-256-GCM)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the cookie key must be 32 bytes")
        self._aead = AESGCM(key)

    @classmethod
    def from_file(cls, path: Path) -> CookieSealer:
        """The key in ``path``, made (0600) at the first start."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, secrets.token_bytes(32), mode=0o600)
        return cls(path.read_bytes())

    def seal(self, session: Session) -> str:
        nonce = os.urandom(12)
        plain = json.dumps(asdict(session), separators=(",", ":")).encode()
        sealed = self._aead.encrypt(nonce, plain, COOKIE.encode())
        return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def open(self, value: str | None) -> Session | None:
        """The session in ``value``, or None if it is missing, altered or not ours."""
        if not value or len(value) > 4000:
            return None
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            plain = self._aead.decrypt(raw[:12], raw[12:], COOKIE.encode())
            fields = json.loads(plain)
            return Session(**fields)
        except (binascii.Error, ValueError, InvalidTag, TypeError):
            return None
