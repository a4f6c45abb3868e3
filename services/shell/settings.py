"""Who may log in to the diagnostic shell: ``etc/burrow/diag-shell.json`` under the state root.

The file is read again at every login, so a change (from first-boot settings, from Central's
API or from ``python -m services.shell.credentials``) applies without a restart. Format::

    {
      "password": "scrypt$16384$8$1$<salt, base64>$<hash, base64>",
      "authorized_keys": ["ssh-ed25519 AAAAC3Nza... admin@laptop"],
      "idle_timeout": 900
    }

- ``password``: an scrypt hash made by :func:`hash_password`, or ``null`` for no password
  login. Never the password itself.
- ``authorized_keys``: public keys in OpenSSH ``authorized_keys`` form (type, base64 and an
  optional comment; no options). ed25519, ECDSA and RSA keys are accepted.
- ``idle_timeout``: seconds without input after which a session is closed (5 to 86400).

With no file, an unreadable file or neither a password nor a key, every login is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from pathlib import Path

import paramiko
from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.common.errors import ValidationError
from services.common.files import read_json, write_json
from services.common.paths import StateRoot

log = logging.getLogger(__name__)

USER = "diag"
DEFAULT_IDLE_TIMEOUT = 900
#: scrypt cost for new hashes: 16 MiB of memory and some 50 ms per check (RFC 7914).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD_LENGTH = 12
KEY_TYPES = {
    "ssh-ed25519": paramiko.Ed25519Key,
    "ecdsa-sha2-nistp256": paramiko.ECDSAKey,
    "ecdsa-sha2-nistp384": paramiko.ECDSAKey,
    "ecdsa-sha2-nistp521": paramiko.ECDSAKey,
    "ssh-rsa": paramiko.RSAKey,
}


def settings_path(root: StateRoot) -> Path:
    return root.etc / "diag-shell.json"


def hash_password(password: str) -> str:
    """An scrypt hash of ``password`` in the form stored in the settings file."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"The diag password must have at least {MIN_PASSWORD_LENGTH} characters.",
            field="password",
        )
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return "$".join(
        [
            "scrypt",
            str(SCRYPT_N),
            str(SCRYPT_R),
            str(SCRYPT_P),
            base64.b64encode(salt).decode(),
            base64.b64encode(digest).decode(),
        ]
    )


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=256 * 1024 * 1024
    )


def _parse_hash(value: str) -> tuple[int, int, int, bytes, bytes]:
    parts = value.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise ValueError("a password hash has the form scrypt$N$r$p$salt$hash")
    n, r, p = (int(x) for x in parts[1:4])
    if n < 2**10 or n > 2**20 or n & (n - 1) or not 1 <= r <= 32 or not 1 <= p <= 16:
        raise ValueError("scrypt parameters out of range")
    return n, r, p, base64.b64decode(parts[4], validate=True), base64.b64decode(parts[5])


def verify_password(stored: str, password: str) -> bool:
    n, r, p, salt, digest = _parse_hash(stored)
    return hmac.compare_digest(_scrypt(password, salt, n, r, p), digest)


def parse_public_key(line: str) -> paramiko.PKey:
    """One ``authorized_keys`` line (type, base64, optional comment) as a paramiko key."""
    fields = line.split()
    if len(fields) < 2 or fields[0] not in KEY_TYPES:
        raise ValueError(f"not a public key line of a known type ({', '.join(KEY_TYPES)})")
    try:
        blob = base64.b64decode(fields[1], validate=True)
        key: paramiko.PKey = KEY_TYPES[fields[0]](data=blob)
    except Exception as exc:
        raise ValueError(f"the key's data cannot be read: {exc}") from exc
    if key.get_name() != fields[0] and not fields[0].startswith("ecdsa"):
        raise ValueError("the key's type does not match its data")
    return key


class DiagShellSettings(BaseModel):
    """The settings file's content (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")
    password: str | None = None
    authorized_keys: list[str] = []
    idle_timeout: int = Field(default=DEFAULT_IDLE_TIMEOUT, ge=5, le=86400)

    @field_validator("password")
    @classmethod
    def _hash_form(cls, value: str | None) -> str | None:
        if value is not None:
            _parse_hash(value)
        return value

    @field_validator("authorized_keys")
    @classmethod
    def _keys(cls, value: list[str]) -> list[str]:
        for line in value:
            parse_public_key(line)
        return value

    @classmethod
    def load(cls, root: StateRoot) -> DiagShellSettings:
        """The current settings; a missing file means no credentials."""
        path = settings_path(root)
        if not path.exists():
            return cls()
        return cls.model_validate(read_json(path))

    def save(self, root: StateRoot) -> None:
        write_json(settings_path(root), self.model_dump(mode="json"), mode=0o600)

    @property
    def has_credentials(self) -> bool:
        return self.password is not None or bool(self.authorized_keys)

    def keys(self) -> list[paramiko.PKey]:
        return [parse_public_key(line) for line in self.authorized_keys]

    def key_allowed(self, key: paramiko.PKey) -> bool:
        offered = key.asbytes()
        return any(hmac.compare_digest(k.asbytes(), offered) for k in self.keys())

    def password_matches(self, password: str) -> bool:
        return self.password is not None and verify_password(self.password, password)


def fingerprint(key: paramiko.PKey) -> str:
    """The key's SHA256 fingerprint as OpenSSH prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def load_or_refuse(root: StateRoot) -> DiagShellSettings:
    """The settings, or none at all (every login refused) when the file is unusable."""
    try:
        return DiagShellSettings.load(root)
    except Exception as exc:
        log.error("%s is unusable, refusing every login: %s", settings_path(root), exc)
        return DiagShellSettings()
