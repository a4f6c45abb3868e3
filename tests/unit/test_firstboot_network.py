"""The first boot's network, applied with iproute2's ``ip`` in a namespace of its own (one end
of a veth pair stands in for the NIC; its own UTS namespace keeps the hostname to itself)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.sandbox import netns

PROJECT = Path(__file__).resolve().parents[2]

_APPLY = """
import json, sys
from services.appliance import firstboot
from services.common.paths import StateRoot
fb = firstboot.FirstBoot.model_validate_json(sys.argv[1])
root = StateRoot.at(sys.argv[2])
first = {k: [str(a) for a in v] for k, v in firstboot.apply_network(root, fb).items()}
again = {k: [str(a) for a in v] for k, v in firstboot.apply_network(root, fb).items()}
print(json.dumps({"first": first, "again": again}))
"""


@pytest.fixture
def namespace() -> str:
    ns = f"{os.environ.get('BURROW_TEST_PREFIX', 't')}-fbnet"
    netns.delete(ns)
    netns.add(ns)
    subprocess.run(["ip", "-n", ns, "link", "add", "eth-fb", "type", "veth", "peer", "name",
                    "eth-fb-peer"], check=True)  # fmt: skip
    try:
        yield ns
    finally:
        netns.delete(ns)


def _apply(ns: str, fb: dict[str, object], root: Path) -> dict[str, dict[str, list[str]]]:
    argv = ["ip", "netns", "exec", ns, "unshare", "--uts", sys.executable, "-c", _APPLY]
    proc = subprocess.run(
        [*argv, json.dumps(fb), str(root)],
        env=dict(os.environ, PYTHONPATH=str(PROJECT)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, dict[str, list[str]]] = json.loads(proc.stdout)
    return result


def test_static_addresses_and_the_default_route_are_set_and_kept(
    namespace: str, tmp_path: Path
) -> None:
    fb = {
        "source": "cmdline",
        "hostname": "fb-test",
        "interface": "eth-fb",
        "interfaces": [{"name": "eth-fb", "addresses": ["198.51.100.250/27", "2001:db8::fb/64"]}],
        "gateway": "198.51.100.225",
        "resolvers": ["198.51.100.226"],
    }
    result = _apply(namespace, fb, tmp_path)
    # Applied twice (as at every boot): the second time finds the addresses there.
    assert result["first"] == result["again"]
    assert sorted(result["first"]["eth-fb"]) == ["198.51.100.250/27", "2001:db8::fb/64"]
    link = subprocess.run(["ip", "-n", namespace, "-json", "link", "show", "dev", "eth-fb"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert "UP" in json.loads(link.stdout)[0]["flags"]
    routes = subprocess.run(["ip", "-n", namespace, "-json", "route", "show", "default"],
                            capture_output=True, text=True, check=True)  # fmt: skip
    assert [(r["gateway"], r["dev"]) for r in json.loads(routes.stdout)] == [
        ("198.51.100.225", "eth-fb")
    ]
    assert (tmp_path / "etc/hostname").read_text() == "fb-test\n"
    assert (tmp_path / "etc/resolv.conf").read_text() == "nameserver 198.51.100.226\n"


def test_a_missing_interface_is_named() -> None:
    from services.appliance import firstboot

    with pytest.raises(OSError, match="eth-none"):
        firstboot.addresses_of("eth-none")
