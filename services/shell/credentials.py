"""Set who may log in as ``diag``: ``python -m services.shell.credentials --root ROOT ACTION``.

Actions: ``password`` (read from stdin, stored as an scrypt hash), ``no-password``,
``add-key FILE`` (an OpenSSH public key file, ``-`` for stdin), ``remove-key FINGERPRINT``,
``idle-timeout SECONDS`` and ``show``. The running diag-shell reads the file at every login.
First-boot settings call :func:`set_credentials`.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from services.common.errors import BurrowError, ValidationError
from services.common.paths import StateRoot
from services.shell.settings import (
    DiagShellSettings,
    fingerprint,
    hash_password,
    parse_public_key,
    settings_path,
)


def set_credentials(
    root: StateRoot,
    *,
    password: str | None = None,
    authorized_keys: list[str] | None = None,
) -> DiagShellSettings:
    """Store a new password (hashed) and/or replace the authorized keys; returns the result."""
    current = DiagShellSettings.load(root)
    data = current.model_dump()
    if password is not None:
        data["password"] = hash_password(password)
    if authorized_keys is not None:
        for n, line in enumerate(authorized_keys):
            try:
                parse_public_key(line)
            except ValueError as exc:
                raise ValidationError(
                    f"Authorized key {n + 1} is not usable: {exc}.", field="authorized_keys"
                ) from exc
        data["authorized_keys"] = [" ".join(line.split()) for line in authorized_keys]
    updated = DiagShellSettings.model_validate(data)
    updated.save(root)
    return updated


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("New diag password: ")
        if getpass.getpass("Again: ") != first:
            raise ValidationError("The two passwords differ.", field="password")
        return first
    return sys.stdin.readline().rstrip("\n")


def _show(settings: DiagShellSettings, root: StateRoot) -> str:
    lines = [f"file: {settings_path(root)}"]
    lines.append(f"password: {'set' if settings.password else 'not set'}")
    for key, line in zip(settings.keys(), settings.authorized_keys, strict=True):
        comment = " ".join(line.split()[2:])
        lines.append(f"key: {key.get_name()} {fingerprint(key)} {comment}".rstrip())
    if not settings.authorized_keys:
        lines.append("keys: none")
    lines.append(f"idle timeout: {settings.idle_timeout} s")
    if not settings.has_credentials:
        lines.append("every login is refused until a password or a key is set")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.shell.credentials")
    parser.add_argument("--root", default=os.environ.get("BURROW_ROOT", "/"))
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("password", help="set the password (read from stdin)")
    sub.add_parser("no-password", help="remove the password")
    add = sub.add_parser("add-key", help="add an OpenSSH public key")
    add.add_argument("file", help="public key file, or - for stdin")
    rm = sub.add_parser("remove-key", help="remove a key by its SHA256 fingerprint")
    rm.add_argument("fingerprint")
    idle = sub.add_parser("idle-timeout", help="seconds without input before a session ends")
    idle.add_argument("seconds", type=int)
    sub.add_parser("show", help="show what is set (never the hash)")
    args = parser.parse_args(argv)
    root = StateRoot.at(args.root)
    try:
        current = DiagShellSettings.load(root)
        if args.action == "password":
            current = set_credentials(root, password=_read_password())
        elif args.action == "no-password":
            current = DiagShellSettings.model_validate({**current.model_dump(), "password": None})
            current.save(root)
        elif args.action == "add-key":
            text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
            new = [line for line in text.splitlines() if line.strip()]
            current = set_credentials(root, authorized_keys=current.authorized_keys + new)
        elif args.action == "remove-key":
            keep = [
                line
                for key, line in zip(current.keys(), current.authorized_keys, strict=True)
                if fingerprint(key) != args.fingerprint
            ]
            if len(keep) == len(current.authorized_keys):
                raise ValidationError(f"No key has fingerprint {args.fingerprint}.")
            current = set_credentials(root, authorized_keys=keep)
        elif args.action == "idle-timeout":
            data = {**current.model_dump(), "idle_timeout": args.seconds}
            current = DiagShellSettings.model_validate(data)
            current.save(root)
        print(_show(current, root))
    except BurrowError as exc:
        print(f"credentials: {exc}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(f"credentials: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
