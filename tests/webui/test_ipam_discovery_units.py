"""What the IPAM discovery pages compute without Central: a profile's and a schedule's request
from their forms (only the fields the version or kind takes; an empty secret not sent),
whether a range may be swept, a run in words, the swept addresses of a range."""

from __future__ import annotations

import pytest

from webui.forms import FormInputError
from webui.ipam import Range
from webui.ipam_discovery import (
    Profile,
    Schedule,
    Seen,
    found_words,
    profile_body,
    profile_values,
    run_words,
    schedule_body,
    sweepable,
    swept_in,
)

FORM = {"name": "core", "description": "", "version": "2c", "community": "s3cret",
        "user": "ignored", "auth_passphrase": "ignored-too", "port": "161", "timeout": "2",
        "retries": "1", "comment": "why"}  # fmt: skip


def test_a_v2c_profile_sends_its_community_and_no_v3_field() -> None:
    body = profile_body(FORM, creating=True)
    assert body == {"name": "core", "description": "", "version": "2c", "community": "s3cret",
                    "port": 161, "timeout": 2.0, "retries": 1, "comment": "why"}  # fmt: skip


def test_a_v3_profile_sends_user_protocols_and_the_passphrases_typed() -> None:
    form = FORM | {"version": "3", "user": "ops", "auth_protocol": "sha512",
                   "auth_passphrase": " with spaces ", "priv_protocol": "aes256",
                   "priv_passphrase": ""}  # fmt: skip
    body = profile_body(form, creating=False)
    assert "community" not in body and "priv_passphrase" not in body  # empty: kept as it is
    assert (body["user"], body["auth_protocol"], body["priv_protocol"]) == ("ops", "sha512",
                                                                          "aes256")  # fmt: skip
    assert body["auth_passphrase"] == " with spaces "


def test_a_v3_profile_without_a_user_leaves_it_out_for_central_to_name() -> None:
    body = profile_body(FORM | {"version": "3", "user": ""}, creating=True)
    assert "user" not in body
    assert profile_body(FORM | {"version": "3", "user": ""}, creating=False)["user"] == ""


def test_numbers_that_are_none_are_named_at_their_fields() -> None:
    with pytest.raises(FormInputError) as caught:
        profile_body(FORM | {"port": "snmp", "timeout": "soon"}, creating=True)
    assert set(caught.value.errors.fields) == {"port", "timeout"}
    body = profile_body(FORM | {"port": "", "timeout": "", "retries": ""}, creating=True)
    assert not {"port", "timeout", "retries"} & set(body)


def test_a_profiles_form_values_hold_no_secret() -> None:
    profile = Profile(id=1, name="core", version="2c", community_set=True)
    shown = profile_values(profile)
    assert shown["version"] == "2c" and not {"community", "auth_passphrase"} & set(shown)


def test_a_schedules_request_by_its_kind() -> None:
    form = {"name": "lab", "kind": "sweep", "interval_seconds": "15m", "range_id": "4",
            "rate": "50", "router": "10.0.0.1", "profile_id": "2", "enabled": "yes"}  # fmt: skip
    assert schedule_body(form, "sweep", creating=True) == {
        "name": "lab", "comment": "", "enabled": True, "kind": "sweep", "interval_seconds": 900,
        "range_id": 4, "rate": 50.0}  # fmt: skip
    router = schedule_body(form | {"enabled": ""}, "router", creating=False)
    assert router == {"name": "lab", "comment": "", "enabled": False, "interval_seconds": 900,
                      "router": "10.0.0.1", "profile_id": 2}  # fmt: skip
    with pytest.raises(FormInputError) as caught:
        schedule_body(form | {"interval_seconds": "", "range_id": "x"}, "sweep", creating=True)
    assert set(caught.value.errors.fields) == {"interval_seconds", "range_id"}


def test_only_small_ipv4_ranges_are_swept() -> None:
    assert sweepable(Range(id=1, start="10.0.0.0", end="10.0.15.255"))
    assert not sweepable(Range(id=1, start="10.0.0.0", end="10.0.16.0"))
    assert not sweepable(Range(id=1, family=6, start="2001:db8::1", end="2001:db8::9"))


def test_a_run_and_a_sweep_in_words() -> None:
    never = Schedule(id=1, name="lab", kind="sweep", interval_seconds=60)
    assert run_words(never) == "The schedule lab has not run yet."
    ok = never.model_copy(update={"last_result": "ok", "last_found": 3, "last_new": 1,
                                  "last_seconds": 1.234})  # fmt: skip
    assert run_words(ok) == "The run of lab succeeded: 3 found (1 new) in 1.2 s."
    failed = never.model_copy(update={"last_result": "error", "last_error": "no answer"})
    assert run_words(failed) == "The run of lab failed: no answer"
    assert found_words(None, None, None) == "\u2013"


def test_the_swept_addresses_of_a_range_in_address_order() -> None:
    rng = Range(id=1, start="10.0.0.0", end="10.0.0.255")
    seen = [Seen(address=a) for a in ("10.0.0.10", "10.0.1.1", "10.0.0.9", "2001:db8::1")]
    assert swept_in(rng, seen) == ["10.0.0.9", "10.0.0.10"]
