"""Monitoring settings, the MIB view and the Prometheus text, without daemons (issue 19)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.common import ntp
from services.common.figures import (
    BackupFigures,
    CertificateFigure,
    Figures,
    PoolFigure,
    ProgramFigure,
    prometheus_text,
)
from services.common.monitoring import REDACTED, MonitoringSettings, token_matches
from services.common.paths import StateRoot
from services.common.pki import CertificateAuthority
from services.common.syslog import conf_path, log_names, write_config
from services.monitor.agent import SnmpAgent, answers_someone
from services.monitor.collect import Collector
from services.monitor.mib import BURROW, POOL_ENTRY, PROGRAM_ENTRY, MibView
from services.monitor.notify import Notifier

STORED = {
    "communities": [{"name": "noc", "community": "secret-one", "networks": ["10.0.0.0/8"]}],
    "users": [{"name": "ops", "auth_passphrase": "auth-pass-1", "priv_passphrase": "priv-pass-1"}],
}


def test_omitted_secrets_are_kept_by_name_and_never_shown() -> None:
    stored = MonitoringSettings.model_validate(STORED)
    change = MonitoringSettings.model_validate(
        {
            "communities": [{"name": "noc", "networks": ["192.168.0.0/16"]}],
            "users": [{"name": "ops", "priv_passphrase": "priv-pass-2"}],
            "metrics_token": "a-scrape-token-of-16+",
        }
    )
    merged = change.merged_with(stored)
    assert merged.communities[0].community == "secret-one"
    assert str(merged.communities[0].networks[0]) == "192.168.0.0/16"
    assert merged.users[0].auth_passphrase == "auth-pass-1"
    assert merged.users[0].priv_passphrase == "priv-pass-2"
    assert merged.missing_secrets() == []
    assert token_matches(merged, "a-scrape-token-of-16+")
    assert not token_matches(merged, "another-token-000000")
    shown = json.dumps(merged.redacted())
    for secret in ("secret-one", "auth-pass-1", "priv-pass-2", "a-scrape-token"):
        assert secret not in shown
    assert merged.redacted()["metrics_token"] == REDACTED


def test_a_new_entry_without_its_secret_is_named() -> None:
    change = MonitoringSettings.model_validate({"users": [{"name": "new"}]})
    fields = [field for field, _ in change.merged_with(MonitoringSettings()).missing_secrets()]
    assert fields == ["users[0].auth_passphrase", "users[0].priv_passphrase"]


@pytest.mark.parametrize(
    "bad",
    [
        {"communities": [{"name": "a", "community": "short", "networks": ["10.0.0.0/8"]}]},
        {"communities": [{"name": "a", "community": "long-enough", "networks": []}]},
        {"communities": [{"name": "a b", "community": "long-enough", "networks": ["10.0.0.0/8"]}]},
        {"users": [{"name": "u", "auth_protocol": "md5"}]},
        {"receivers": [{"address": "10.0.0.1", "user": "nobody"}]},
        {"receivers": [{"address": "10.0.0.1"}]},
        {"snmp_port": 0},
        {"communities": [{"name": "a", "community": "x" * 8, "networks": ["10.0.0.0/8"]}] * 2},
    ],
)
def test_bad_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        MonitoringSettings.model_validate(bad)


def _figures() -> Figures:
    return Figures(
        hostname="box",
        programs=[
            ProgramFigure(name="central", state="RUNNING", pid=5, restarts=2),
            ProgramFigure(name="named", state="FATAL"),
        ],
        pools=[PoolFigure(family=4, subnet_id=7, subnet="198.51.100.0/27", total=20, assigned=19)],
    )


def test_the_view_is_ordered_and_walks_in_order() -> None:
    view = MibView.build(_figures(), MonitoringSettings(), uptime_ticks=100)
    assert view.order == sorted(view.order)
    assert int(view.get((*PROGRAM_ENTRY, 3, 2))) == 200  # named FATAL
    assert int(view.get((*PROGRAM_ENTRY, 4, 1))) == 2
    assert int(view.get((*POOL_ENTRY, 7, 4, 7))) == 95
    first, _ = next(view.after(BURROW))
    assert first[: len(BURROW)] == BURROW
    last = view.order[-1]
    assert list(view.after(last)) == []


def test_prometheus_text_has_the_same_figures() -> None:
    text = prometheus_text(_figures())
    assert 'burrow_program_up{program="central"} 1' in text
    assert 'burrow_program_state{program="named"} 200' in text
    assert 'burrow_program_restarts_total{program="central"} 2' in text
    labels = 'family="ipv4",subnet_id="7",subnet="198.51.100.0/27"'
    assert f"burrow_dhcp_pool_utilisation_percent{{{labels}}} 95" in text
    assert text.endswith("\n")


def test_collector_reads_backup_age_restarts_and_interfaces(tmp_path: Path) -> None:
    root = StateRoot.at(tmp_path)
    root.make_dirs()
    (root.lib / "backup-status.json").write_text(json.dumps({
        "state": "active", "changes_not_at_peer": 3, "outbox": 1,
        "last_full": {"sent_at": "2026-01-01T00:00:00+00:00"},
        "last_incremental": {"sent_at": "2026-01-02T00:00:00+00:00"},
    }))  # fmt: skip
    backup = Collector(root).backup()
    assert backup.last_stored_at == "2026-01-02T00:00:00+00:00"
    assert backup.age_seconds is not None and backup.age_seconds > 0
    assert backup.changes_not_at_peer == 3 and not backup.paired
    root.service_events.write_text(
        json.dumps({"program": "named", "kind": "crash", "restarts": 1}) + "\n"
        + json.dumps({"program": "named", "kind": "crash", "restarts": 2}) + "\n{torn"
    )  # fmt: skip
    assert Collector(root).restarts() == {"named": 2}
    net = tmp_path / "net"
    (net / "eth0/statistics").mkdir(parents=True)
    files = {"ifindex": "2", "mtu": "1500", "flags": "0x1003", "operstate": "up",
             "address": "02:00:00:00:00:01", "statistics/rx_bytes": "99"}  # fmt: skip
    for name, value in files.items():
        (net / "eth0" / name).write_text(value + "\n")
    (eth0,) = Collector(root, sys_net=net).interfaces()
    seen = (eth0.index, eth0.name, eth0.mtu, eth0.oper_up, eth0.in_octets)
    assert seen == (2, "eth0", 1500, True, 99)


@pytest.mark.parametrize("receivers", [0, 2])
def test_rsyslog_accepts_the_configuration(tmp_path: Path, receivers: int) -> None:
    """rsyslogd's own configuration check (-N1) passes with no receiver and with UDP and TLS."""
    root = StateRoot.at(tmp_path)
    root.make_dirs()
    ca = CertificateAuthority(tmp_path / "ca")
    ca.create("test CA")
    syslog = [
        {"address": "198.51.100.9"},
        {"address": "2001:db8::9", "protocol": "tls", "peer_name": "logs.example",
         "ca_certificate": (tmp_path / "ca/ca.crt").read_text()},
    ][:receivers]  # fmt: skip
    settings = MonitoringSettings.model_validate({"syslog": syslog})
    programs = log_names(["named", "syslog", "kea-dhcp4"])
    assert write_config(root, settings, programs, "box")
    assert not write_config(root, settings, programs, "box")
    text = conf_path(root).read_text()
    assert ("syslog.log" in text, "named.log" in text) == (False, receivers > 0)
    # Kea's lease lines, which Kea writes itself, are sent too
    assert ("kea/kea-dhcp4-leases.log" in text) == (receivers > 0)
    check = subprocess.run(["rsyslogd", "-N1", "-f", str(conf_path(root))], capture_output=True,
                           text=True, check=False)  # fmt: skip
    assert check.returncode == 0, check.stderr


def test_a_tls_receiver_needs_its_ca_and_name() -> None:
    with pytest.raises(ValidationError, match="tls needs"):
        MonitoringSettings.model_validate({"syslog": [{"address": "10.0.0.1", "protocol": "tls"}]})
    receiver = {"address": "10.0.0.1", "protocol": "tls", "peer_name": "x", "ca_certificate": "no"}
    with pytest.raises(ValidationError, match="not a PEM"):
        MonitoringSettings.model_validate({"syslog": [receiver]})


def test_what_get_shows_can_be_sent_back() -> None:
    stored = MonitoringSettings.model_validate(
        {**STORED, "receivers": [{"address": "10.0.0.9", "community": "trap-secret"}],
         "metrics_token": "a-scrape-token-of-16+"}
    ).merged_with(MonitoringSettings())  # fmt: skip
    shown = stored.redacted()
    again = MonitoringSettings.model_validate(shown).merged_with(stored)
    assert again == stored
    moved = {**shown, "receivers": [{"address": "10.0.0.10", "community": REDACTED}]}
    fields = [f for f, _ in MonitoringSettings.model_validate(moved).merged_with(stored)
              .missing_secrets()]  # fmt: skip
    assert fields == ["receivers[0].community"]
    with pytest.raises(ValidationError, match="16 characters"):
        MonitoringSettings.model_validate({"metrics_token": "too-short"})


def test_ntp_servers_from_the_dhcp_lease_when_none_is_set(tmp_path: Path) -> None:
    root = StateRoot.at(tmp_path)
    root.make_dirs()
    leases = tmp_path / "var/lib/dhcp/dhclient.eth0.leases"
    leases.parent.mkdir(parents=True)
    leases.write_text(
        "lease {\n  option ntp-servers 198.51.100.1;\n}\n"
        'lease {\n  interface "eth0";\n  option ntp-servers 198.51.100.5,198.51.100.6;\n}\n'
    )
    ntp.write_config(root, [], "eth0")
    assert ntp.configured_servers(root) == ["198.51.100.5", "198.51.100.6"]
    ntp.write_config(root, ["ntp.example"], "eth0")  # set servers win
    assert ntp.configured_servers(root) == ["ntp.example"]
    ntp.write_config(root, [], "eth1")  # no lease: no server
    assert ntp.configured_servers(root) == []
    assert " -x " in ntp.command(root) + " "  # never steers the clock outside "/"


def test_alert_conditions_are_level_triggered(tmp_path: Path) -> None:
    root = StateRoot.at(tmp_path)
    root.make_dirs()
    settings = MonitoringSettings.model_validate({"thresholds": {"pool_utilisation_percent": 90}})
    figures = _figures()  # one pool at 95%
    figures.backup = BackupFigures(paired=True, age_seconds=27 * 3600, last_error="refused")
    figures.certificates = [CertificateFigure(name="webui", not_after="2027-01-01", days_left=3)]
    notifier = Notifier(root)
    kinds = sorted(a.message.split(":")[0] for a in notifier.new_conditions(figures, settings))
    assert len(kinds) == 4, kinds  # pool, overdue, peer, certificate
    assert notifier.new_conditions(figures, settings) == []  # still holding: not again
    figures.pools[0].assigned = 10  # below the threshold: re-armed
    assert notifier.new_conditions(figures, settings) == []
    figures.pools[0].assigned = 19
    (again,) = notifier.new_conditions(figures, settings)
    assert "198.51.100.0/27" in again.message
    notifier.record(again)
    events = [json.loads(line) for line in root.service_events.read_text().splitlines()]
    assert events[-1]["kind"] == "pool-threshold" and events[-1]["program"] == "monitor"


def test_program_failures_are_read_once_from_the_crash_records(tmp_path: Path) -> None:
    root = StateRoot.at(tmp_path)
    root.make_dirs()
    root.service_events.write_text(json.dumps({"program": "named", "kind": "crash"}) + "\n")
    notifier = Notifier(root)  # what was there before the start is not sent again
    with root.service_events.open("a") as fh:
        fh.write(json.dumps({"program": "named", "kind": "fatal", "exit": "x"}) + "\n")
        fh.write(json.dumps({"program": "monitor", "kind": "pool-threshold"}) + "\n")
        fh.write('{"program": "central", "kind": "crash"')  # still being written
    (alert,) = notifier.program_failures(_figures())
    assert alert.message == "named went FATAL: x"
    assert int(alert.var_binds[1][1]) == 200 and alert.var_binds[0][0][-1] == 2  # named's row
    with root.service_events.open("a") as fh:
        fh.write(', "restarts": 3}\n')
    (later,) = notifier.program_failures(_figures())
    assert later.subject == "central" and int(later.var_binds[2][1]) == 3


def test_the_snmp_engine_is_made_only_when_someone_can_be_answered(tmp_path: Path) -> None:
    assert not answers_someone(MonitoringSettings())
    assert answers_someone(MonitoringSettings.model_validate(STORED))
    # A new appliance's monitor loads no pysnmp engine and opens no port.
    root = StateRoot.at(tmp_path)
    for directory in root.all_dirs():
        directory.mkdir(parents=True, exist_ok=True)
    agent = SnmpAgent(root, address="127.0.0.1")
    agent.open_engine()
    assert agent.engine is None and agent.view is None
