"""Users, logins and tokens: the rules, with a history entry for every change."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from central.auth.models import Token, User
from central.auth.schemas import (
    ApiTokenCreate,
    ApiTokenCreated,
    Login,
    LoginAnswer,
    PasswordChange,
    TokenPublic,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from central.core.config import CentralConfig
from central.core.db import now
from central.core.deps import Principal, Role
from central.core.security import (
    dummy_hash,
    hash_password,
    new_token,
    token_hash,
    verify_password,
)
from central.history.service import SYSTEM, record
from central.settings import service as settings_service
from services.common.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    TooManyRequestsError,
    UnauthenticatedError,
    ValidationError,
)
from services.common.files import write_atomic

log = logging.getLogger(__name__)


class LoginThrottle:
    """Counts failed logins per user name and client address; too many lock that pair out.

    Kept in memory, or with ``path`` in a file that Central's worker processes share (each
    operation holds an exclusive lock on it), so that a lockout holds whichever worker
    answers the next attempt.
    """

    MAX_KEYS = 10000

    def __init__(self, path: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._path = path

    @contextlib.contextmanager
    def _state(self) -> Iterator[dict[tuple[str, str], deque[float]]]:
        with self._lock:
            if self._path is None:
                yield self._failures
                return
            self._path.parent.mkdir(parents=True, exist_ok=True)
            with self._path.open("a+b") as file:
                os.fchmod(file.fileno(), 0o600)
                fcntl.flock(file.fileno(), fcntl.LOCK_EX)  # released when the file is closed
                file.seek(0)
                failures = _decode_failures(file.read())
                yield failures
                file.seek(0)
                file.truncate()
                file.write(json.dumps([[*k, list(v)] for k, v in failures.items()]).encode())

    @staticmethod
    def _recent(
        failures: dict[tuple[str, str], deque[float]], key: tuple[str, str], window: float
    ) -> deque[float]:
        stamps = failures.setdefault(key, deque())
        horizon = time.monotonic() - window
        while stamps and stamps[0] < horizon:
            stamps.popleft()
        return stamps

    def retry_after(self, key: tuple[str, str], limit: int, window: float) -> int:
        """Seconds until ``key`` may try again; 0 when it may now."""
        with self._state() as failures:
            stamps = self._recent(failures, key, window)
            if not stamps:
                del failures[key]
            if len(stamps) < limit:
                return 0
            return max(1, int(stamps[-limit] + window - time.monotonic()) + 1)

    def failed(self, key: tuple[str, str], window: float = 86400) -> None:
        with self._state() as failures:
            if len(failures) >= self.MAX_KEYS:  # a spray of names: forget the stale ones
                horizon = time.monotonic() - window
                for stale in [k for k, v in failures.items() if not v or v[-1] < horizon]:
                    del failures[stale]
            failures.setdefault(key, deque()).append(time.monotonic())

    def succeeded(self, key: tuple[str, str]) -> None:
        with self._state() as failures:
            failures.pop(key, None)


def _decode_failures(data: bytes) -> dict[tuple[str, str], deque[float]]:
    """The failures kept in a shared throttle file (empty when it is empty or unreadable)."""
    try:
        items = json.loads(data) if data else []
        return {(str(user), str(client)): deque(map(float, stamps))
                for user, client, stamps in items}  # fmt: skip
    except (ValueError, TypeError):
        log.warning("the login throttle's file was unreadable; starting it afresh")
        return {}


# --- views -------------------------------------------------------------------------------
def user_view(user: User) -> UserPublic:
    return UserPublic.model_validate(user)


def user_public(user: User) -> dict[str, Any]:
    """A user as the history records it."""
    return user_view(user).model_dump(mode="json")


def token_view(token: Token, username: str) -> TokenPublic:
    return TokenPublic(
        id=token.id,
        kind=token.kind,  # type: ignore[arg-type]  # "session" or "api" (the column's values)
        name=token.name,
        user_id=token.user_id,
        username=username,
        created_at=token.created_at,
        expires_at=token.expires_at,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
    )


def token_public(token: Token, username: str) -> dict[str, Any]:
    """A token as the history records it."""
    return token_view(token, username).model_dump(mode="json")


def _history_token(token: Token, username: str) -> dict[str, Any]:
    view = token_public(token, username)
    view.pop("last_used_at")
    return view


# --- sessions ----------------------------------------------------------------------------
def login(db: Session, throttle: LoginThrottle, body: Login, client: str) -> LoginAnswer:
    settings = settings_service.load(db)
    key = (body.username.lower(), client)
    wait = throttle.retry_after(key, settings.login_max_failures, settings.login_lockout_seconds)
    if wait:
        raise TooManyRequestsError(
            f"Too many failed logins for {body.username!r}; try again in {wait} s.",
            field="username",
            headers={"Retry-After": str(wait)},
        )
    user = db.scalar(select(User).where(User.username == body.username))
    good = verify_password(body.password, user.password_hash if user else dummy_hash())
    if user is None or not good or not user.enabled:
        throttle.failed(key, settings.login_lockout_seconds)
        log.warning("failed login for %r from %s", body.username, client)
        raise UnauthenticatedError(
            "Wrong user name or password.",
            field="password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    throttle.succeeded(key)
    lifetime = settings.session_lifetime_seconds
    if body.expires_in is not None:
        lifetime = min(lifetime, body.expires_in)
    secret = new_token("bws")
    token = Token(
        token_hash=token_hash(secret),
        user_id=user.id,
        kind="session",
        name=f"login from {client}",
        expires_at=now() + dt.timedelta(seconds=lifetime),
    )
    db.add(token)
    db.flush()
    actor = Principal(user.id, user.username, user.role, token.id, "session")
    record(db, actor, "session", token.id, "login", after=_history_token(token, user.username))
    db.commit()
    assert token.expires_at is not None
    return LoginAnswer(token=secret, expires_at=token.expires_at, user=user_view(user))


def forget_expired_sessions(db: Session, older_than: dt.timedelta = dt.timedelta(days=1)) -> int:
    """Delete session tokens that expired more than ``older_than`` ago."""
    result = db.execute(
        delete(Token).where(Token.kind == "session", Token.expires_at < now() - older_than)
    )
    db.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def logout(db: Session, actor: Principal) -> None:
    token = db.get(Token, actor.token_id)
    if token is None or token.revoked_at is not None:
        return
    before = _history_token(token, actor.username)
    token.revoked_at = now()
    object_type = "session" if token.kind == "session" else "api-token"
    record(
        db,
        actor,
        object_type,
        token.id,
        "logout",
        before=before,
        after=_history_token(token, actor.username),
    )
    db.commit()


def _revoke_sessions(db: Session, user_id: int, keep: int | None = None) -> None:
    query = update(Token).where(
        Token.user_id == user_id, Token.kind == "session", Token.revoked_at.is_(None)
    )
    if keep is not None:
        query = query.where(Token.id != keep)
    db.execute(query.values(revoked_at=now()))


# --- users -------------------------------------------------------------------------------
def get_user(db: Session, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise NotFoundError(f"There is no user {user_id}.", field="user_id")
    return user


def _enabled_admins(db: Session) -> int:
    count = db.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.ADMINISTRATOR.value, User.enabled.is_(True))
    )
    return int(count or 0)


def create_user(db: Session, actor: Principal, body: UserCreate) -> UserPublic:
    if db.scalar(select(User.id).where(User.username == body.username)) is not None:
        raise ConflictError(f"A user named {body.username!r} exists already.", field="username")
    user = User(
        username=body.username,
        display_name=body.display_name,
        role=body.role,
        password_hash=hash_password(body.password),
        enabled=body.enabled,
    )
    db.add(user)
    db.flush()
    record(db, actor, "user", user.id, "create", after=user_public(user), comment=body.comment)
    db.commit()
    return user_view(user)


def update_user(
    db: Session, actor: Principal, user_id: int, body: UserUpdate, config: CentralConfig
) -> UserPublic:
    user = get_user(db, user_id)
    before = user_public(user)
    changes = body.model_dump(exclude_unset=True, exclude={"comment"})
    for field in ("display_name", "role", "enabled"):
        if field in changes and changes[field] is None:
            raise ValidationError(f"{field} cannot be null.", field=field)
    losing_admin = (
        user.role == Role.ADMINISTRATOR.value
        and user.enabled
        and (
            changes.get("role", Role.ADMINISTRATOR.value) != Role.ADMINISTRATOR.value
            or changes.get("enabled", True) is False
        )
    )
    if losing_admin and _enabled_admins(db) <= 1:
        raise ConflictError("This is the last enabled administrator.", field="role")
    if "display_name" in changes:
        user.display_name = changes["display_name"]
    if "role" in changes:
        user.role = Role(changes["role"]).value
    if "enabled" in changes:
        user.enabled = changes["enabled"]
    password_changed = body.password is not None
    if body.password is not None:
        user.password_hash = hash_password(body.password)
    user.updated_at = now()
    after = user_public(user)
    if password_changed:
        after["password"] = "changed"  # noqa: S105 - a marker, not a password
    if password_changed or user.enabled is False:
        _revoke_sessions(db, user.id, keep=actor.token_id if actor.user_id == user.id else None)
    record(db, actor, "user", user.id, "update", before=before, after=after, comment=body.comment)
    db.commit()
    if password_changed:
        forget_generated_password(config, user.username)
    return user_view(user)


def delete_user(db: Session, actor: Principal, user_id: int, comment: str) -> None:
    user = get_user(db, user_id)
    if user.id == actor.user_id:
        raise ConflictError("You cannot delete yourself.", field="user_id")
    if user.role == Role.ADMINISTRATOR.value and user.enabled and _enabled_admins(db) <= 1:
        raise ConflictError("This is the last enabled administrator.", field="user_id")
    before = user_public(user)
    db.execute(delete(Token).where(Token.user_id == user.id))
    db.delete(user)
    record(db, actor, "user", user_id, "delete", before=before, comment=comment)
    db.commit()


def change_own_password(
    db: Session, actor: Principal, body: PasswordChange, config: CentralConfig
) -> None:
    user = get_user(db, actor.user_id)
    if not verify_password(body.current_password, user.password_hash):
        raise ValidationError("The current password is wrong.", field="current_password")
    user.password_hash = hash_password(body.new_password)
    user.updated_at = now()
    _revoke_sessions(db, user.id, keep=actor.token_id)
    record(
        db,
        actor,
        "user",
        user.id,
        "password",
        before={"password": "old"},
        after={"password": "changed"},
        comment=body.comment,
    )
    db.commit()
    forget_generated_password(config, user.username)


# --- API tokens --------------------------------------------------------------------------
def create_api_token(db: Session, actor: Principal, body: ApiTokenCreate) -> ApiTokenCreated:
    owner_id = body.user_id or actor.user_id
    if owner_id != actor.user_id and actor.role != Role.ADMINISTRATOR.value:
        raise ForbiddenError("Only administrators make tokens for other users.", field="user_id")
    owner = db.get(User, owner_id)
    if owner is None:
        raise NotFoundError(f"There is no user {owner_id}.", field="user_id")
    secret = new_token("bwt")
    expires = None
    if body.expires_in_days is not None:
        expires = now() + dt.timedelta(days=body.expires_in_days)
    token = Token(
        token_hash=token_hash(secret),
        user_id=owner.id,
        kind="api",
        name=body.name,
        expires_at=expires,
    )
    db.add(token)
    db.flush()
    view = token_view(token, owner.username)
    record(
        db, actor, "api-token", token.id, "create", after=view.model_dump(mode="json"),
        comment=body.comment,
    )  # fmt: skip
    db.commit()
    return ApiTokenCreated(**view.model_dump(), token=secret)


def get_api_token(db: Session, actor: Principal, token_id: int) -> tuple[Token, str]:
    row = db.execute(
        select(Token, User.username)
        .join(User, User.id == Token.user_id)
        .where(Token.id == token_id, Token.kind == "api")
    ).first()
    if row is None or (row[0].user_id != actor.user_id and actor.role != Role.ADMINISTRATOR.value):
        raise NotFoundError(f"There is no API token {token_id}.", field="token_id")
    return row[0], row[1]


def revoke_api_token(db: Session, actor: Principal, token_id: int, comment: str) -> None:
    token, username = get_api_token(db, actor, token_id)
    if token.revoked_at is not None:
        return
    before = _history_token(token, username)
    token.revoked_at = now()
    record(
        db,
        actor,
        "api-token",
        token.id,
        "revoke",
        before=before,
        after=_history_token(token, username),
        comment=comment,
    )
    db.commit()


# --- the first administrator -------------------------------------------------------------
def ensure_first_admin(db: Session, config: CentralConfig) -> None:
    """Make the first administrator when there is no user at all.

    From ``etc/burrow/first-admin.json`` (``{"username": ..., "password": ...}``, removed once
    used) or else with a generated password written to ``secrets/initial-admin-password``.
    """
    if db.scalar(select(func.count()).select_from(User)):
        return
    source = config.first_admin_file
    username, password, generated = "admin", "", False
    if source.exists():
        try:
            data = json.loads(source.read_text())
            username = str(data.get("username") or "admin")
            password = str(data["password"])
        except (ValueError, KeyError, AttributeError) as exc:
            raise ValidationError(
                f"{source} must be a JSON object with a password.", field="password"
            ) from exc
        if len(password) < 12:
            raise ValidationError(
                f"The password in {source} is shorter than 12 characters.", field="password"
            )
    else:
        password, generated = secrets.token_urlsafe(18), True
    user = User(
        username=username,
        role=Role.ADMINISTRATOR.value,
        password_hash=hash_password(password),
        display_name="First administrator",
    )
    db.add(user)
    db.flush()
    note = "generated at first start" if generated else f"from {source.name}"
    record(db, SYSTEM, "user", user.id, "create", after=user_public(user), comment=note)
    db.commit()
    if generated:
        config.root.secrets.mkdir(parents=True, exist_ok=True)
        write_atomic(
            config.generated_password_file,
            f"username: {username}\npassword: {password}\n",
            mode=0o600,
        )
        log.warning(
            "made the first administrator %r; its password is in %s (shown once: change it)",
            username,
            config.generated_password_file,
        )
    else:
        source.unlink()
        log.info("made the first administrator %r from %s (file removed)", username, source)


def forget_generated_password(config: CentralConfig, username: str) -> None:
    path = config.generated_password_file
    try:
        first = path.read_text().splitlines()[0]
    except (FileNotFoundError, IndexError):
        return
    if first == f"username: {username}":
        path.unlink(missing_ok=True)
