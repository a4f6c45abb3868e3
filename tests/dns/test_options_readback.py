"""Server options rendered into named.conf read back equal through the real named-checkconf."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from services.common.dns.named_conf import named_conf_text
from services.common.dns.options import ServerOptions
from services.common.paths import StateRoot
from services.dns.running import parse_options, running_options

KEY = 'key "{0}" {{ algorithm hmac-sha256; secret "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"; }};\n'


def _root(tmp_path: Path) -> StateRoot:
    root = StateRoot.at(tmp_path)
    for path in (root.bind_etc, root.bind_cache, root.named_run):
        path.mkdir(parents=True, exist_ok=True)
    root.rndc_key.write_text(KEY.format("rndc-key"))
    root.tsig_key.write_text(KEY.format("burrow-tsig"))
    (root.bind_etc / "zones.conf").write_text("")
    return root


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"recursion": True},
        {
            "recursion": True,
            "allow_recursion": ["198.51.100.0/27", "2001:db8::7/128", "localnets", "localhost"],
            "forwarders": ["203.0.113.53", "2001:db8::53"],
            "forward_only": True,
            "listen_on": ["127.0.0.1", "198.51.100.2"],
            "listen_on_v6": ["2001:db8::2"],
            "dnssec_validation": "auto",
        },
        {"listen_on": [], "listen_on_v6": [], "dnssec_validation": "yes"},
        {"recursion": True, "allow_recursion": ["any"], "forwarders": ["203.0.113.53"]},
    ],
)
def test_rendered_options_read_back_equal(tmp_path: Path, options: dict[str, Any]) -> None:
    root = _root(tmp_path)
    wanted = ServerOptions.model_validate(options)
    root.named_conf.write_text(named_conf_text(root, wanted))
    assert running_options(root.named_conf) == wanted


def test_named_defaults_are_read_for_what_is_left_out() -> None:
    read = parse_options('options {\n\tdirectory "/tmp";\n};\n')
    assert read.recursion is True
    assert read.allow_recursion == ["localnets", "localhost"]
    assert read.listen_on is None and read.listen_on_v6 is None
    assert read.dnssec_validation == "auto"


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"forwarders": ["ns.example."]}, "forwarders"),
        ({"recursion": True, "allow_recursion": ["my-acl"]}, "allow_recursion"),
        ({"recursion": True, "allow_recursion": ["198.51.100.1/24"]}, "allow_recursion"),
        ({"listen_on": ["2001:db8::1"]}, "listen_on"),
        ({"listen_on_v6": ["198.51.100.1"]}, "listen_on_v6"),
        ({"forward_only": True}, "forward_only"),
        ({"allow_recursion": ["any"]}, "allow_recursion"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ServerOptions.model_validate(options)
    loc = caught.value.errors()[0]["loc"]
    assert (str(loc[0]) if loc else "") == field
