"""One server's Kea HA state read from Kea 2.2's answers (services.common.dhcp.ha.HaState), and
how SNMP, Prometheus and the diagnostic shell show it. The answers below have the shape Kea
2.2.0 gave in tests/fleet/test_ha_lab.py (which reads the real ones through every view)."""

from __future__ import annotations

from pathlib import Path

from services.common.dhcp.ha import HaState
from services.common.figures import Figures, prometheus_text
from services.common.monitoring import MonitoringSettings
from services.common.paths import StateRoot
from services.monitor.mib import HA, MibView
from services.monitor.notify import HA_DEGRADED, Notifier
from services.shell.kea import ha_lines

STATUS = {
    "pid": 7, "uptime": 30, "reload": 30,
    "high-availability": [{
        "ha-mode": "hot-standby",
        "ha-servers": {
            "local": {"role": "standby", "scopes": [], "state": "partner-down"},
            "remote": {"age": 12, "in-touch": True, "role": "primary",
                       "last-scopes": ["b"], "last-state": "hot-standby",
                       "communication-interrupted": True, "connecting-clients": 1,
                       "unacked-clients": 0, "unacked-clients-left": 0,
                       "analyzed-packets": 3},
        },
    }],
}  # fmt: skip
HEARTBEAT = {"state": "partner-down", "date-time": "Sun, 06 Dec 2026 20:00:00 GMT",
             "scopes": ["b"], "unsent-update-count": 4}  # fmt: skip


def test_the_state_is_read_from_status_get_and_the_heartbeat() -> None:
    state = HaState.from_kea(STATUS, HEARTBEAT)
    assert state.configured and state.mode == "hot-standby"
    assert (state.local_role, state.state, state.scopes) == ("standby", "partner-down", ["b"])
    assert (state.partner_role, state.partner_state) == ("primary", "hot-standby")
    assert state.in_touch is True and state.age_seconds == 12
    assert state.communication_interrupted is True and state.unsent_updates == 4
    none = HaState.from_kea({"pid": 7}, {})
    assert not none.configured and none.state is None and none.unsent_updates is None


def test_snmp_prometheus_and_the_shell_show_it() -> None:
    state = HaState.from_kea(STATUS, HEARTBEAT)
    view = MibView.build(Figures(ha=state), MonitoringSettings(), uptime_ticks=1)
    assert int(view.get((*HA, 1, 0))) == 1  # configured: true
    assert bytes(view.get((*HA, 4, 0))) == b"partner-down"
    assert bytes(view.get((*HA, 6, 0))) == b"hot-standby"
    assert int(view.get((*HA, 8, 0))) == 12 and int(view.get((*HA, 11, 0))) == 4
    empty = MibView.build(Figures(), MonitoringSettings(), uptime_ticks=1)
    assert int(empty.get((*HA, 1, 0))) == 2 and int(empty.get((*HA, 8, 0))) == -1
    text = prometheus_text(Figures(ha=state))
    assert 'burrow_dhcp_ha_state{state="partner-down",role="standby",' in text
    assert "burrow_dhcp_ha_unsent_updates 4" in text
    lines = ha_lines(state)
    assert lines[0] == "dhcp4 high availability: hot-standby"
    assert "standby, state partner-down, serves b" in lines[1]
    assert "primary, state hot-standby, in touch yes, last answer 12 s ago" in lines[2]
    assert "link interrupted yes, unsent lease updates 4" in lines[3]
    assert ha_lines(HaState()) == ["dhcp4 high availability: not configured"]


def test_a_partner_serving_alone_or_cut_off_is_notified_once(tmp_path: Path) -> None:
    notifier = Notifier(StateRoot(tmp_path))
    settings = MonitoringSettings()
    alone = Figures(ha=HaState.from_kea(STATUS, HEARTBEAT))
    (alert,) = notifier.new_conditions(alone, settings)
    assert alert.trap == HA_DEGRADED and alert.subject == "dhcp4"
    assert alert.message == ("dhcp4 high availability: state partner-down, partner hot-standby, "
                             "link to the partner interrupted")  # fmt: skip
    assert notifier.new_conditions(alone, settings) == []  # still holding: not again
    steady = {"state": "hot-standby", "unsent-update-count": 0}
    calm = Figures(ha=HaState.from_kea({"high-availability": []}, steady))
    assert notifier.new_conditions(calm, settings) == []
    assert notifier.new_conditions(Figures(), settings) == []  # no HA: nothing to say
