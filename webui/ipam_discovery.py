"""IPAM discovery for the console: Central's SNMP profiles, discovery schedules and what
discovery found, as models; the calls the discovery pages make; and what the pages compute
(a profile's request body from its form, whether a range may be swept, a run in words).

A profile's secrets (the community, the passphrases) are write-only: Central never answers
them and the console never writes one into a page, not even the one just typed into a form
Central refused. A secret field left empty when changing a profile keeps the stored secret.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from webui.central import Central
from webui.forms import Reader
from webui.ipam import IPAM, Range
from webui.models import Answer, Listing

#: The largest range a sweep takes (Central's MAX_SWEEP, a /20).
MAX_SWEEP = 4096
#: Addresses in one page of the discovered addresses.
SEEN_PAGE = 100
VERSIONS = (("2c", "v2c"), ("3", "v3 (authPriv)"), ("1", "v1"))
AUTH_PROTOCOLS = (("sha224", "HMAC-SHA-224"), ("sha256", "HMAC-SHA-256"),
                  ("sha384", "HMAC-SHA-384"), ("sha512", "HMAC-SHA-512"))  # fmt: skip
PRIV_PROTOCOLS = (("aes128", "AES-128"), ("aes192", "AES-192"), ("aes256", "AES-256"))
SECRETS = ("community", "auth_passphrase", "priv_passphrase")
#: The fields of a profile's form other than its secrets (what a refused form keeps).
PROFILE_NAMES = ("name", "description", "version", "user", "auth_protocol", "priv_protocol",
                 "port", "timeout", "retries", "comment")  # fmt: skip


# --- Central's answers ---------------------------------------------------------------------
class Profile(Answer):
    id: int
    name: str
    description: str = ""
    version: str
    user: str | None = None
    auth_protocol: str | None = None
    priv_protocol: str | None = None
    community_set: bool = False
    auth_passphrase_set: bool = False
    priv_passphrase_set: bool = False
    port: int = 161
    timeout: float = 2.0
    retries: int = 1


class Schedule(Answer):
    id: int
    name: str
    kind: str
    router: str | None = None
    profile_id: int | None = None
    range_id: int | None = None
    rate: float = 200.0
    interval_seconds: int
    enabled: bool = True
    last_run_at: str | None = None
    last_result: str = ""
    last_found: int | None = None
    last_new: int | None = None
    last_seconds: float | None = None
    last_error: str = ""
    next_run_at: str | None = None


class Seen(Answer):
    address: str
    family: int = 4
    mac: str = ""
    seen_by: str = ""
    first_seen: str = ""
    last_seen: str = ""


class Found(Answer):
    """What one discovery did: addresses found in use, of which new, and how long it took."""

    found: int
    new: int
    seconds: float


# --- the calls -----------------------------------------------------------------------------
class DiscoveryApi:
    """Central's discovery routes under ``/ipam``, for one user's token."""

    def __init__(self, central: Central, token: str) -> None:
        self.central = central
        self.token = token

    def _call(self, method: str, path: str, answer: Any = None, **kwargs: Any) -> Any:
        return self.central.api(method, IPAM + path, self.token, answer, **kwargs)

    def profiles(self) -> list[Profile]:
        found: Listing[Profile] = self._call("GET", "/snmp-profiles", Listing[Profile],
                                             params={"limit": 1000})  # fmt: skip
        return found.items

    def profile(self, profile_id: int) -> Profile:
        found: Profile = self._call("GET", f"/snmp-profiles/{profile_id}", Profile)
        return found

    def create_profile(self, body: dict[str, Any]) -> Profile:
        found: Profile = self._call("POST", "/snmp-profiles", Profile, body=body)
        return found

    def change_profile(self, profile_id: int, body: dict[str, Any]) -> None:
        self._call("PATCH", f"/snmp-profiles/{profile_id}", body=body)

    def delete_profile(self, profile_id: int, comment: str) -> None:
        self._call("DELETE", f"/snmp-profiles/{profile_id}", params={"comment": comment})

    def schedules(self) -> list[Schedule]:
        found: Listing[Schedule] = self._call("GET", "/discovery/schedules", Listing[Schedule],
                                              params={"limit": 1000})  # fmt: skip
        return found.items

    def schedule(self, schedule_id: int) -> Schedule:
        found: Schedule = self._call("GET", f"/discovery/schedules/{schedule_id}", Schedule)
        return found

    def create_schedule(self, body: dict[str, Any]) -> Schedule:
        found: Schedule = self._call("POST", "/discovery/schedules", Schedule, body=body)
        return found

    def change_schedule(self, schedule_id: int, body: dict[str, Any]) -> None:
        self._call("PATCH", f"/discovery/schedules/{schedule_id}", body=body)

    def delete_schedule(self, schedule_id: int, comment: str) -> None:
        self._call("DELETE", f"/discovery/schedules/{schedule_id}", params={"comment": comment})

    def run(self, schedule_id: int) -> Schedule:
        found: Schedule = self._call("POST", f"/discovery/schedules/{schedule_id}/run", Schedule)
        return found

    def seen(self, offset: int, limit: int = SEEN_PAGE, **params: str) -> Listing[Seen]:
        asked = {"offset": offset, "limit": limit, **params}
        found: Listing[Seen] = self._call("GET", "/discovery/seen", Listing[Seen], params=asked)
        return found

    def sweep(self, range_id: int, comment: str) -> Found:
        found: Found = self._call("POST", f"/ranges/{range_id}/sweep", Found,
                                  body={"comment": comment})  # fmt: skip
        return found

    def range(self, range_id: int) -> Range:
        found: Range = self._call("GET", f"/ranges/{range_id}", Range)
        return found

    def ranges(self) -> list[Range]:
        found: Listing[Range] = self._call("GET", "/ranges", Listing[Range],
                                           params={"limit": 1000})  # fmt: skip
        return found.items


# --- a profile's form ----------------------------------------------------------------------
def _number(read: Reader, name: str) -> float | None:
    raw = read.text(name)
    if not raw:
        return None
    if re.fullmatch(r"\d{1,6}(\.\d{1,6})?", raw):
        return float(raw)
    read.errors.at(name, f"“{raw[:40]}” is not a number of seconds, such as 2 or 0.5.")
    return None


def profile_body(form: Mapping[str, str], creating: bool) -> dict[str, Any]:
    """The request a profile's form makes: the fields its version uses, and no other (Central
    refuses a field the version does not take).

    A secret left empty is not sent: when creating, Central names it as missing; when
    changing, the stored secret stays. When creating, an empty user is left out too, so that
    Central names it (``user``) rather than its length. Port, timeout and retries left empty
    take Central's defaults (creating) or stay (changing)."""
    read = Reader(form)
    version = read.text("version")
    body: dict[str, Any] = {"name": read.text("name"), "description": read.text("description"),
                            "version": version, "comment": read.text("comment")}  # fmt: skip
    if version == "3":
        user = read.text("user")
        if user or not creating:
            body["user"] = user
        body["auth_protocol"] = read.text("auth_protocol") or "sha256"
        body["priv_protocol"] = read.text("priv_protocol") or "aes128"
        wanted: tuple[str, ...] = ("auth_passphrase", "priv_passphrase")
    else:
        wanted = ("community",)
    for secret in wanted:
        # a secret is taken as typed (spaces are characters of a passphrase too)
        if form.get(secret, ""):
            body[secret] = form[secret]
    for name in ("port", "retries"):
        number = read.whole(name, example="161" if name == "port" else "1")
        if number is not None:
            body[name] = number
    timeout = _number(read, "timeout")
    if timeout is not None:
        body["timeout"] = timeout
    read.check()
    return body


def profile_values(profile: Profile) -> dict[str, str]:
    """A profile's form filled from Central's answer (never a secret: there is none)."""
    return {
        "name": profile.name, "description": profile.description, "version": profile.version,
        "user": profile.user or "", "auth_protocol": profile.auth_protocol or "sha256",
        "priv_protocol": profile.priv_protocol or "aes128", "port": str(profile.port),
        "timeout": f"{profile.timeout:g}", "retries": str(profile.retries),
    }  # fmt: skip


# --- a schedule's form ---------------------------------------------------------------------
def schedule_body(form: Mapping[str, str], kind: str, creating: bool) -> dict[str, Any]:
    """The request a schedule's form makes: ``router`` and ``profile_id`` for a router
    schedule, ``range_id`` and ``rate`` for a sweep; ``enabled`` from its checkbox."""
    read = Reader(form)
    body: dict[str, Any] = {"name": read.text("name"), "comment": read.text("comment"),
                            "enabled": read.flag("enabled")}  # fmt: skip
    if creating:
        body["kind"] = kind
    interval = read.duration("interval_seconds", example="15m", required=creating)
    if interval is not None:
        body["interval_seconds"] = interval
    if kind == "router":
        body["router"] = read.text("router") or None
        body["profile_id"] = read.whole("profile_id")
    else:
        body["range_id"] = read.whole("range_id")
        rate = _number(read, "rate")
        if rate is not None:
            body["rate"] = rate
    read.check()
    if not creating:  # a field the form left empty stays as it is
        body = {k: v for k, v in body.items() if v is not None}
    return body


# --- sweeps and runs in words --------------------------------------------------------------
def sweepable(rng: Range) -> bool:
    """Whether the range can be swept now: IPv4 and at most MAX_SWEEP addresses."""
    return rng.family == 4 and rng.size <= MAX_SWEEP


def found_words(found: int | None, new: int | None, seconds: float | None) -> str:
    """``3 found (1 new) in 1.2 s``."""
    if found is None:
        return "\u2013"
    took = f" in {seconds:.1f} s" if seconds is not None else ""
    return f"{found:,} found ({new or 0:,} new){took}"


def run_words(schedule: Schedule) -> str:
    """What a schedule's last run did, in one sentence."""
    if not schedule.last_result:
        return f"The schedule {schedule.name} has not run yet."
    if schedule.last_result == "error":
        return f"The run of {schedule.name} failed: {schedule.last_error}"
    counts = found_words(schedule.last_found, schedule.last_new, schedule.last_seconds)
    return f"The run of {schedule.name} succeeded: {counts}."


def swept_in(rng: Range, seen: list[Seen]) -> list[str]:
    """The addresses of ``seen`` inside ``rng``, in address order."""
    inside = []
    for item in seen:
        try:
            value = ipaddress.ip_address(item.address)
        except ValueError:
            continue
        if value.version == rng.family and rng.first <= int(value) <= rng.last:
            inside.append((int(value), str(value)))
    return [text for _, text in sorted(inside)]
