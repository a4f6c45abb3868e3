"""DHCP-DDNS settings: what is refused, and the configuration D2 gets from them."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from services.common.dhcp import ddns
from services.common.dns.tsig import TsigKeyInstall
from services.common.paths import StateRoot


def test_zones_are_checked_and_named_at_their_place() -> None:
    with pytest.raises(ValidationError) as caught:
        ddns.DdnsSettings.model_validate({
            "forward": [{"zone": "dyn.test.", "key": "k"}, {"zone": "dyn.test.", "key": "k"},
                        {"zone": "no-dot.test", "key": "k"}],
            "reverse": [{"zone": "dyn.test.", "key": "k"}],
        })  # fmt: skip
    places = sorted(".".join(map(str, e["loc"])) for e in caught.value.errors())
    assert places == ["forward.2.zone"], places  # a bad name stops before the whole is judged
    with pytest.raises(ValidationError) as caught:
        ddns.DdnsSettings.model_validate({
            "forward": [{"zone": "dyn.test.", "key": "k"}, {"zone": "DYN.test.", "key": "k"},
                        {"zone": "2.0.192.in-addr.arpa.", "key": "k"}],
            "reverse": [{"zone": "dyn.test.", "key": "k"}],
        })  # fmt: skip
    places = sorted(".".join(map(str, e["loc"])) for e in caught.value.errors())
    assert places == ["forward.1.zone", "forward.2.zone", "reverse.0.zone"], places


def test_d2_gets_the_keys_it_needs_and_no_zone_without_its_key(tmp_path: Path) -> None:
    root = StateRoot.at(tmp_path)
    settings = ddns.DdnsSettings.model_validate({
        "forward": [{"zone": "dyn.test.", "key": "k1"}, {"zone": "gone.test.", "key": "lost"}],
        "reverse": [{"zone": "100.51.198.in-addr.arpa.", "key": "k1"}],
    })  # fmt: skip
    keys = {
        name: TsigKeyInstall(name=name, secret="LSWXnfkKZjdPJI5QxlpnfQ==")
        for name in ("k1", "unused")
    }
    assert ddns.missing_keys(settings, keys) is not None
    config = ddns.d2_config(root, settings, keys)["DhcpDdns"]
    assert [k["name"] for k in config["tsig-keys"]] == ["k1"]
    assert config["tsig-keys"][0]["algorithm"] == "HMAC-SHA256"
    forward = config["forward-ddns"]["ddns-domains"]
    assert [d["name"] for d in forward] == ["dyn.test."]
    assert forward[0]["dns-servers"] == [{"ip-address": "127.0.0.1", "port": 53}]
    assert (config["ip-address"], config["port"]) == ("127.0.0.1", 53001)
