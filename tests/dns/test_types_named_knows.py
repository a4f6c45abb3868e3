"""Every type Burrow manages is one BIND 9.18 reads in a zone file (named-checkzone): a
dnspython release with a type BIND does not know would otherwise make zones named cannot load."""

from __future__ import annotations

import subprocess
from pathlib import Path

import dns.rdatatype

from services.common.dns.records import record_type


def _managed() -> list[str]:
    names = []
    for value in dns.rdatatype.RdataType:
        text = dns.rdatatype.to_text(value)
        if record_type(text) is not None:
            names.append(text)
    return names


def test_named_checkzone_knows_every_managed_type(tmp_path: Path) -> None:
    managed = _managed()
    assert {"A", "HINFO", "SVCB", "LOC", "URI", "OPENPGPKEY", "ZONEMD"} <= set(managed)
    unknown = []
    for text in managed:
        zone = tmp_path / "t.zone"
        zone.write_text(
            "@ 300 IN SOA ns hm 1 2 3 4 5\n@ 300 IN NS ns\nns 300 IN A 198.51.100.1\n"
            f"x 300 IN {text} \\# 0\n"
        )
        out = subprocess.run(
            ["named-checkzone", "-i", "none", "t.test.", str(zone)],
            capture_output=True, text=True, timeout=30, check=False,
        ).stdout  # fmt: skip
        if "unknown RR type" in out or "obsolete" in out:
            unknown.append(text)
    assert unknown == []
