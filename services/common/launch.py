"""burrow-launch: prepare an appliance's state root and run supervisord on it.

At every start it makes what is missing (directories, the CA and certificates, daemon
keys, the first zone and subnet), renders the configurations that derive from the
appliance settings, clears run-time files left by a previous run (a stale Kea pid file
must never keep Kea from starting) and replaces itself with supervisord.
"""

from __future__ import annotations

import argparse
import base64
import glob
import grp
import logging
import os
import pwd
import secrets
import shlex
import shutil
import stat
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path

from services.common import ntp, priority
from services.common import profile as profiles
from services.common.caching.conf import ensure_trust_anchor
from services.common.caching.conf import write_config as write_unbound_config
from services.common.caching.contract import CachingSettings
from services.common.dhcp import ddns
from services.common.dns.named_conf import named_conf_text, stored_options, update_zones_conf
from services.common.errors import BurrowError, SetupError
from services.common.files import write_atomic
from services.common.monitoring import MonitoringSettings
from services.common.paths import StateRoot
from services.common.pki import (
    CENTRAL_CLIENT,
    CertificateAuthority,
    CertPaths,
    Purpose,
    load_cert,
    usages,
)
from services.common.render import render
from services.common.settings import ApplianceSettings
from services.common.syslog import conf_path as syslog_conf
from services.common.syslog import log_names, write_config

log = logging.getLogger(__name__)

#: Programs whose server certificates (serverAuth only) the launcher issues from the appliance
#: CA (which Central runs). The agents are not among them: they enrol at Central with a
#: one-time token at their first start (services.common.agent), and Central pins the
#: certificates it signed for them.
TLS_PROGRAMS = ("central", "webui")

#: Python programs of the bundle: supervisord name -> module (and arguments) run with
#: ``python -m``. The dns-agent and the dhcp-agent share one process (services.common.agents):
#: each keeps its name, port, certificate and enrolment; the libraries are loaded once.
PYTHON_PROGRAMS = {
    "central": "central",
    "webui": "webui",
    "dns-dhcp-agent": "services.common.agents dns-agent dhcp-agent",
    "appliance-agent": "services.appliance",
    "diag-shell": "services.shell",
    "monitor": "services.monitor",
}

#: The caching appliance's Python programs (profile ``caching``): its dns-agent drives Unbound
#: (services.caching) and runs alone, there is no dhcp-agent.
CACHING_PYTHON_PROGRAMS = {
    "central": "central",
    "webui": "webui",
    "dns-agent": "services.caching",
    "appliance-agent": "services.appliance",
    "diag-shell": "services.shell",
    "monitor": "services.monitor",
}

#: Python programs that the appliance's health does not wait for: started at a lower CPU
#: priority, back at 0 once they serve (services.common.priority), so that Central and the web
#: console load first at boot.
START_NICED = ("dns-dhcp-agent", "appliance-agent", "diag-shell", "monitor")
CACHING_START_NICED = ("dns-agent", "appliance-agent", "diag-shell", "monitor")

#: The umask of each Python program (see ``Program.umask``); the others get 027. The
#: caching dns-agent writes unbound.conf, which Unbound reads as its own user.
PROGRAM_UMASKS = {"central": "077", "appliance-agent": "077", "diag-shell": "077",
                  "dns-dhcp-agent": "022", "dns-agent": "022", "monitor": "077"}  # fmt: skip

#: Programs that give up root once their ports are bound and their keys are read, and the
#: system user each becomes (made by burrow-launch when missing). The web console faces the
#: network and needs nothing of root's after its start: it talks to Central over HTTPS only.
PROGRAM_USERS = {"webui": "burrow-web"}

REQUIRED_TOOLS = ("named", "named-checkconf", "rndc", "kea-dhcp4", "kea-dhcp6", "kea-ctrl-agent")
CACHING_TOOLS = ("unbound", "unbound-checkconf", "unbound-control")
#: The system user Unbound drops to (Debian's unbound package makes it).
UNBOUND_USER = "unbound"


@dataclass
class Program:
    """One ``[program:x]`` section of the supervisord configuration."""

    name: str
    command: str
    priority: int
    startsecs: int = 1
    stopsignal: str = "TERM"
    directory: str = ""
    environment: str = ""
    #: Permissions its files get unless it says otherwise: the daemons share theirs with their
    #: own group only; Central, the appliance-agent and the diagnostic shell keep theirs to
    #: themselves (Central's database holds password hashes and secrets). The dns-dhcp-agent
    #: writes zone files and configurations that named and Kea read as their own users.
    umask: str = "027"


def kea_hooks_dir() -> str:
    """Where this system's Kea hook libraries are (multiarch path differs by machine)."""
    found = sorted(glob.glob("/usr/lib/*/kea/hooks/libdhcp_lease_cmds.so"))
    found += sorted(glob.glob("/usr/lib/kea/hooks/libdhcp_lease_cmds.so"))
    if not found:
        raise SetupError(
            "Kea's lease_cmds hook library is missing.",
            hint="install Debian's kea-dhcp4-server package",
        )
    return str(Path(found[0]).parent)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _ensure_system_user(name: str) -> bool:
    """Make the system user ``name`` (no home, no login) unless it exists; False if impossible."""
    if _user_exists(name):
        return True
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    for attempt in range(10):
        # Several appliances starting at once on one machine race for /etc/passwd's lock.
        result = subprocess.run(
            [
                useradd,
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                "--comment",
                "Burrow",
                name,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode == 0 or _user_exists(name):
            return True
        time.sleep(0.1 * (attempt + 1))
    log.warning("could not make the system user %s: %s", name, result.stderr.strip())
    return False


def _readable_by_others(path: Path) -> bool:
    """Whether a user with no special rights can reach ``path`` and read what is in it."""
    path = path.resolve()
    for ancestor in path.parents:
        if not ancestor.stat().st_mode & stat.S_IXOTH:
            return False
    mode = path.stat().st_mode
    return bool(mode & stat.S_IROTH) and (not path.is_dir() or bool(mode & stat.S_IXOTH))


def _code_readable_by_others() -> Path | None:
    """The first place of Burrow's code or libraries another user could not read, or None.

    A program that gives root up still loads templates, static files and some modules after
    that; run from a checkout in root's home, it could not.
    """
    places = [Path(__file__).resolve().parents[2], Path(sysconfig.get_paths()["purelib"])]
    for place in places:
        if not _readable_by_others(place):
            return place
    return None


def _tsig_key(name: str) -> str:
    secret = base64.b64encode(secrets.token_bytes(32)).decode()
    return f'key "{name}" {{\n    algorithm hmac-sha256;\n    secret "{secret}";\n}};\n'


def _chown_tree(path: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    for dirpath, _dirnames, filenames in os.walk(path):
        os.chown(dirpath, entry.pw_uid, entry.pw_gid)
        for name in filenames:
            os.chown(os.path.join(dirpath, name), entry.pw_uid, entry.pw_gid)


def _env_value(pairs: dict[str, str]) -> str:
    return ",".join(f'{key}="{value}"' for key, value in pairs.items())


def render_unbound(root: StateRoot, user: str = UNBOUND_USER) -> None:
    """unbound.conf from the caching settings (checked by unbound-checkconf first) and the root
    trust anchor, which Unbound keeps up to date itself (RFC 5011). Run at every start and by a
    restore, which brings the settings back but not unbound.conf.

    ``user``: the user Unbound drops to ("": it keeps root's rights, where the user is missing).
    """
    if user and not _user_exists(user):
        user = ""
    ensure_trust_anchor(root)
    try:
        settings = CachingSettings.load(root.caching_settings)
    except (OSError, ValueError) as exc:
        raise SetupError(
            f"The caching settings at {root.caching_settings} are not readable: {exc}",
            hint="restore them from a backup, or move the file away to start from defaults",
        ) from exc
    write_unbound_config(root, settings, user=user)
    if user and os.getuid() == 0:
        # Unbound replaces the trust anchor by a rename in its directory: the directory is
        # writable by its group, and sticky, so that Unbound can replace only files of its
        # own (the anchor), never the settings, which stay root's.
        entry = pwd.getpwnam(user)
        os.chown(root.unbound_lib, 0, entry.pw_gid)
        os.chmod(root.unbound_lib, 0o1770)  # noqa: S103 - Unbound's group only
        if root.unbound_trust_anchor.exists():
            os.chown(root.unbound_trust_anchor, entry.pw_uid, entry.pw_gid)


class Launcher:
    """Prepares one state root and renders its configurations."""

    def __init__(self, root: StateRoot, *, python: str, pythonpath: str | None) -> None:
        self.root = root
        self.python = python
        self.pythonpath = pythonpath
        self.settings = ApplianceSettings.load(root.appliance_settings)
        #: ``dns-dhcp`` (BIND and Kea) or ``caching`` (Unbound, no DHCP): services.common.profile.
        self.profile = profiles.load(root)
        self.unbound_user = UNBOUND_USER if _user_exists(UNBOUND_USER) else ""
        self.named_user = "bind" if _user_exists("bind") else ""
        # Kea runs unprivileged, as Debian's units run it: its own user with only the two
        # capabilities it needs (raw sockets for DHCPv4, port 67/547).
        self.kea_user = "_kea" if _user_exists("_kea") and shutil.which("setpriv") else ""
        # The Python programs that drop root: only as root can a process become another user.
        self.program_users: dict[str, str] = {}

    # --- steps ---------------------------------------------------------------
    def check_tools(self) -> None:
        if self.profile == "caching":
            missing = [tool for tool in CACHING_TOOLS if shutil.which(tool) is None]
            if missing:
                raise SetupError(
                    f"These programs are missing: {', '.join(missing)}.",
                    hint="install Debian's unbound and dns-root-data packages",
                )
            return
        missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
        if missing:
            raise SetupError(
                f"These programs are missing: {', '.join(missing)}.",
                hint="install Debian's bind9, bind9-utils, kea-dhcp4-server, kea-dhcp6-server "
                "and kea-ctrl-agent packages",
            )

    def make_dirs(self) -> None:
        if self.root.root != Path("/"):
            # named and Kea drop privileges: they must be able to walk into the state root
            # (a root made by mkdtemp is 0700).
            os.chmod(self.root.root, self.root.root.stat().st_mode | 0o755)  # noqa: S103
        self.root.make_dirs()
        os.chmod(self.root.secrets, 0o700)
        # Run-time files of a previous run are stale by definition: supervisord starts
        # every program afresh. Leftover pid files make Kea refuse to start.
        for run_dir in (self.root.run, self.root.kea_run, self.root.named_run):
            for entry in run_dir.iterdir():
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()

    def make_identity(self) -> None:
        """The CA, the listeners' server certificates and Central's client certificate.

        What is missing or allows another use is issued again (for its own key) at every
        start: an appliance made before certificates had one purpose gets a server-only
        console certificate and Central's client certificate at its next start. Central's
        own listener certificate is the exception (``_keep_central_listener``).
        """
        ca = CertificateAuthority(self.root.pki / "ca")
        ca.create(f"Burrow CA {self.settings.hostname}")
        names = [self.settings.ip, "127.0.0.1", self.settings.hostname, "localhost"]
        if self.settings.address6 is not None:
            names.append(str(self.settings.address6.ip))
        for program in TLS_PROGRAMS:
            if program == "central" and self._keep_central_listener():
                continue
            ca.issue(self.root.pki, program, server_names=names)
        # Central's client certificate (clientAuth only): what it presents to its agents,
        # the one certificate they accept.
        ca.issue_central_client(self.root.pki)

    def _keep_central_listener(self) -> bool:
        """Whether Central's listener certificate is kept although it also allows client use
        (made before certificates had one purpose).

        Peers pin it by fingerprint (appliances that send their backups here, replacements
        whose ``restore_from`` names this Central): a new one would cut them off until they
        pair again. It drives nothing: the agents accept only Central's client certificate
        (by its subject), and a replacement's 4605 receiver only the one it fetched. Delete
        ``pki/central.crt`` to get a server-only one, then pair the peers again.
        """
        paths = CertPaths(self.root.pki / "central.crt", self.root.pki / "central.key")
        if not (paths.cert.exists() and paths.key.exists()):
            return False
        if usages(load_cert(paths.cert)) != {Purpose.SERVER.usage, Purpose.CLIENT.usage}:
            return False
        log.warning(
            "%s also allows client use; kept because peers pin its fingerprint (no agent "
            "accepts it: they accept only %s.crt)",
            paths.cert,
            CENTRAL_CLIENT,
        )
        return True

    def make_keys(self) -> None:
        if self.profile == "caching":
            # No named, no Kea: no rndc or TSIG key, no Control Agent password.
            self._make_console_key()
            return
        if not self.root.rndc_key.exists():
            write_atomic(self.root.rndc_key, _tsig_key("rndc-key"), mode=0o640)
        if not self.root.tsig_key.exists():
            write_atomic(self.root.tsig_key, _tsig_key("burrow-tsig"), mode=0o640)
        write_atomic(
            self.root.rndc_conf,
            f'include "{self.root.rndc_key}";\n'
            'options { default-key "rndc-key"; default-server 127.0.0.1; default-port 953; };\n',
            mode=0o640,
        )
        if not self.root.kea_api_password.exists():
            write_atomic(self.root.kea_api_password, secrets.token_urlsafe(24) + "\n", mode=0o600)
        self._make_console_key()

    def _make_console_key(self) -> None:
        if not self.root.console_client_key.exists():
            write_atomic(self.root.console_client_key, secrets.token_urlsafe(32) + "\n", mode=0o600)

    def render_unbound(self) -> None:
        render_unbound(self.root, self.unbound_user)

    def make_users(self) -> None:
        if os.getuid() != 0:
            return
        unreadable = _code_readable_by_others()
        if unreadable is not None:
            log.warning(
                "%s is not readable by other users: %s keep running as root",
                unreadable,
                ", ".join(PROGRAM_USERS),
            )
            return
        for program, user in PROGRAM_USERS.items():
            if _ensure_system_user(user):
                self.program_users[program] = user
            else:
                log.warning("%s keeps running as root", program)

    def render_named(self) -> None:
        zones_conf = self.root.bind_etc / "zones.conf"
        if not zones_conf.exists():
            zones = []
            seed = self.settings.seed_zone
            if seed is not None:
                name = seed.name if seed.name.endswith(".") else seed.name + "."
                zone_file = self.root.bind_lib / f"db.{name.rstrip('.')}"
                write_atomic(
                    zone_file,
                    render(
                        "zone.db.j2",
                        name=name,
                        ttl=seed.ttl,
                        ns_name=f"ns1.{name}",
                        ns_label="ns1",
                        address=self.settings.ip,
                    ),
                )
                zones.append({"name": name, "file": str(zone_file)})
            write_atomic(zones_conf, render("zones.conf.j2", zones=zones), mode=0o640)
        else:
            update_zones_conf(zones_conf)  # of an older release: see its docstring
        # The server options the dns-agent set survive a restart (services.common.dns).
        write_atomic(
            self.root.named_conf,
            named_conf_text(self.root, stored_options(self.root), zones_conf),
            mode=0o640,
        )
        # What named loads now is the known good configuration; an older copy could be stale.
        self.root.named_conf.with_name("named.conf.good").unlink(missing_ok=True)
        if self.named_user:
            group = grp.getgrnam(self.named_user).gr_gid
            for key in (self.root.rndc_key, self.root.tsig_key, self.root.rndc_conf,
                        self.root.named_conf, zones_conf):  # fmt: skip
                os.chown(key, 0, group)
            for directory in (self.root.bind_lib, self.root.bind_cache, self.root.named_run):
                _chown_tree(directory, self.named_user)

    def render_kea(self) -> None:
        hooks = kea_hooks_dir()
        interfaces = self.settings.dhcp_interfaces or [self.settings.interface]
        for daemon, seed in (
            ("dhcp4", self.settings.seed_subnet4),
            ("dhcp6", self.settings.seed_subnet6),
        ):
            path = self.root.kea_conf(daemon)
            if path.exists():  # the dhcp-agent owns it from now on (config-write)
                continue
            write_atomic(
                path,
                render(
                    f"kea-{daemon}.conf.j2",
                    interfaces=interfaces,
                    socket=str(self.root.kea_socket(daemon)),
                    lease_file=str(self.root.kea_lib / f"kea-leases{daemon[-1]}.csv"),
                    data_dir=str(self.root.kea_lib),
                    lease_log=str(self.root.kea_logs / f"kea-{daemon}-leases.log"),
                    hooks_dir=hooks,
                    subnet=seed,
                ),
                mode=0o640,
            )
        if shutil.which(ddns.PROGRAM):
            self.render_ddns()
        password = self.root.kea_api_password.read_text().strip()
        write_atomic(
            self.root.kea_conf("ctrl-agent"),
            render(
                "kea-ctrl-agent.conf.j2",
                password=password,
                socket4=str(self.root.kea_socket("dhcp4")),
                socket6=str(self.root.kea_socket("dhcp6")),
            ),
            mode=0o600,
        )

    def render_ddns(self) -> None:
        """Kea's DHCP-DDNS server's configuration, from the DDNS settings and the secrets of
        their keys (services.common.dhcp.ddns); written at every start."""
        from services.dns.keys import KeyStore

        try:
            settings = ddns.load(self.root)
        except (OSError, ValueError) as exc:
            log.warning("DDNS settings not readable, no DNS updates from DHCP: %s", exc)
            settings = ddns.DdnsSettings()
        keys = KeyStore(self.root).load()
        if missing := [name for name in settings.keys() if name not in keys]:
            log.warning("DDNS: no TSIG key %s on this appliance: its zones are left out", missing)
        group = grp.getgrnam(self.kea_user).gr_gid if self.kea_user else None
        ddns.write_config(self.root, ddns.d2_config(self.root, settings, keys), group)

    def _own_kea_files(self) -> None:
        if not self.kea_user:
            return
        entry = pwd.getpwnam(self.kea_user)
        # Kea writes leases, pid/lock files and its sockets, and config-write saves its
        # configuration: those belong to it; the directory of configurations stays root's.
        for directory in (self.root.kea_lib, self.root.kea_run, self.root.kea_logs):
            _chown_tree(directory, self.kea_user)
        os.chown(self.root.kea_etc, 0, entry.pw_gid)
        os.chmod(self.root.kea_etc, 0o770)  # noqa: S103 - group _kea only, no one else
        for daemon in ("dhcp4", "dhcp6", "ctrl-agent"):
            path = self.root.kea_conf(daemon)
            os.chown(path, 0, entry.pw_gid)
            os.chmod(path, 0o660 if daemon != "ctrl-agent" else 0o640)
        # A Kea HA partner's key and certificates (services.dhcp.ha_tls), as a restore put
        # them back: root's, readable by Kea's group only.
        ha = self.root.kea_ha_tls
        if ha.is_dir():
            os.chown(ha, 0, entry.pw_gid)
            os.chmod(ha, 0o750)  # noqa: S103 - group _kea only, no one else
            for path in ha.iterdir():
                if path.is_file():
                    os.chown(path, 0, entry.pw_gid)
                    os.chmod(path, 0o640)

    def programs(self) -> list[Program]:
        if self.profile == "caching":
            return self._caching_programs()
        root = self.root
        named = f"named -f -c {root.named_conf}"
        if self.named_user:
            named += f" -u {self.named_user}"
        kea_env = _env_value(
            {"KEA_PIDFILE_DIR": str(root.kea_run), "KEA_LOCKFILE_DIR": str(root.kea_run)}
        )

        def kea(daemon: str, binary: str) -> str:
            # Remove this daemon's pid file before exec: Kea exits "already running" when an
            # old pid file names a live process, and supervisord would then mark it FATAL.
            drop = ""
            if self.kea_user:
                drop = (
                    f"setpriv --reuid={self.kea_user} --regid={self.kea_user} --init-groups "
                    "--inh-caps=+net_bind_service,+net_raw "
                    "--ambient-caps=+net_bind_service,+net_raw -- "
                )
            script = (
                f"rm -f {shlex.quote(str(root.kea_run))}/*.{binary}.pid; "
                f"exec {drop}{binary} -c {shlex.quote(str(root.kea_conf(daemon)))}"
            )
            return f"/bin/sh -c {shlex.quote(script)}"

        programs = [
            Program("named", named, priority=100),
            Program("kea-dhcp4", kea("dhcp4", "kea-dhcp4"), priority=100, environment=kea_env),
            Program("kea-dhcp6", kea("dhcp6", "kea-dhcp6"), priority=100, environment=kea_env),
            Program(
                "kea-ctrl-agent",
                kea("ctrl-agent", "kea-ctrl-agent"),
                priority=110,
                environment=kea_env,
            ),
        ]
        if shutil.which(ddns.PROGRAM):
            programs.append(
                Program(
                    ddns.PROGRAM,
                    kea("dhcp-ddns", ddns.PROGRAM),
                    priority=100,
                    environment=kea_env,
                )
            )
        programs += self._system_programs()
        programs += self._python_programs(PYTHON_PROGRAMS, START_NICED)
        return programs

    def _caching_programs(self) -> list[Program]:
        """The caching appliance's programs: Unbound instead of named, no Kea."""
        # -d: in the foreground, its log (unbound.conf: logfile "") on stderr, which supervisord
        # writes to unbound.log.
        unbound = Program("unbound", f"unbound -d -c {self.root.unbound_conf}", priority=100)
        programs = [unbound, *self._system_programs()]
        programs += self._python_programs(CACHING_PYTHON_PROGRAMS, CACHING_START_NICED)
        return programs

    def _system_programs(self) -> list[Program]:
        programs = []
        if shutil.which("chronyd"):
            # NTP (services.common.ntp): -x everywhere but on a real appliance.
            programs.append(Program(ntp.PROGRAM, ntp.command(self.root), priority=50))
        if shutil.which("rsyslogd"):
            # Remote syslog (services.common.syslog): reads the programs' log files and
            # forwards them; -iNONE: no pid file, supervisord knows the pid.
            command = f"rsyslogd -n -iNONE -f {syslog_conf(self.root)}"
            programs.append(Program("syslog", command, priority=50))
        return programs

    def _python_programs(self, modules: dict[str, str], niced: tuple[str, ...]) -> list[Program]:
        root = self.root
        programs = []
        py_env = self._python_env()
        for order, (name, module) in enumerate(modules.items()):
            command = f"{self.python} -m {module} --root {root.root}"
            user = self.program_users.get(name)
            if user:
                command += f" --user {user}"
            environment = py_env
            # Only root may put a program back at priority 0.
            if name in niced and os.getuid() == 0:
                command = f"nice -n {priority.START_NICE} {command}"
                environment += "," + _env_value({priority.ENV: "1"})
            programs.append(
                Program(
                    name,
                    command,
                    priority=200 + order * 10,
                    startsecs=3,
                    environment=environment,
                    umask=PROGRAM_UMASKS.get(name, "027"),
                )
            )
        return programs

    def _python_env(self) -> str:
        env = {"BURROW_ROOT": str(self.root.root), "PYTHONUNBUFFERED": "1"}
        if self.pythonpath:
            env["PYTHONPATH"] = self.pythonpath
        return _env_value(env)

    def render_syslog_and_ntp(self) -> None:
        try:
            settings = MonitoringSettings.load(self.root.monitoring_settings)
        except (OSError, ValueError) as exc:
            log.warning("monitoring settings not readable, no remote syslog nor NTP: %s", exc)
            settings = MonitoringSettings()
        names = log_names([p.name for p in self.programs()])
        write_config(self.root, settings, names, self.settings.hostname)
        ntp.write_config(self.root, settings.ntp_servers, self.settings.interface)

    def render_supervisord(self) -> None:
        write_atomic(
            self.root.supervisord_conf,
            render(
                "supervisord.conf.j2",
                supervisor_socket=str(self.root.supervisor_socket),
                logs=str(self.root.logs),
                run=str(self.root.run),
                hostname=self.settings.hostname,
                programs=self.programs(),
            ),
            mode=0o600,
        )

    def prepare(self) -> None:
        self.check_tools()
        self.make_dirs()
        self.make_identity()
        self.make_keys()
        self.make_users()
        if self.profile == "caching":
            self.render_unbound()
            self.render_syslog_and_ntp()
            self.render_supervisord()
            return
        self.render_named()
        self.render_kea()
        self._own_kea_files()
        self.render_syslog_and_ntp()
        self.render_supervisord()


def wait_for_network(root: StateRoot, timeout: float, poll: float = 0.1) -> float:
    """Wait until burrow-firstboot has set this boot's network; the seconds waited.

    burrow.service starts beside burrow-firstboot.service rather than after it, so that this
    program loads its code (seconds under software emulation) while the first boot asks for
    its DHCP lease; everything it reads and writes waits until the network is set.
    """
    began = time.monotonic()
    while not root.network_ready.exists():
        if time.monotonic() - began > timeout:
            raise SetupError(
                f"the network was not set within {timeout:.0f} s ({root.network_ready})",
                hint="see burrow-firstboot.service's log",
            )
        time.sleep(poll)
    waited = time.monotonic() - began
    log.info("network set by burrow-firstboot; waited %.1f s for it", waited)
    return waited


def _source_tree() -> str | None:
    """The source tree when Burrow runs from a checkout rather than an installed package."""
    here = Path(__file__).resolve().parents[2]
    return str(here) if (here / "pyproject.toml").exists() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="burrow-launch",
        description="Prepare an appliance state root and run every program under supervisord.",
    )
    parser.add_argument("--root", default=os.environ.get("BURROW_ROOT", "/"), help="state root")
    parser.add_argument(
        "--prepare-only", action="store_true", help="write configurations, do not start"
    )
    parser.add_argument(
        "--wait-for-network",
        type=float,
        metavar="SECONDS",
        help="first wait (at most this long) until burrow-firstboot has set this boot's "
        "network (run/burrow-network-ready)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    root = StateRoot.at(args.root)
    try:
        if args.wait_for_network is not None:
            wait_for_network(root, args.wait_for_network)
        if not root.appliance_settings.exists():
            raise SetupError(
                f"No appliance settings at {root.appliance_settings}.",
                hint="run the first-boot setup or write the settings file",
            )
        launcher = Launcher(root, python=sys.executable, pythonpath=_source_tree())
        launcher.prepare()
    except BurrowError as exc:
        print(f"burrow-launch: {exc}", file=sys.stderr)
        return 1
    if args.prepare_only:
        return 0
    # What supervisord makes (logs, its pid file) is for its owner and group only; each
    # program gets its own umask from its section (Program.umask). supervisord applies its own
    # umask setting only when it daemonizes, which it never does. Launch itself writes every
    # file with an explicit mode, and its directories must stay reachable for named and Kea.
    os.umask(0o027)
    # Burrow's own supervisord (pinned, from this environment), with a prompt main loop; it
    # records its programs' crashes under the state root itself.
    argv = [sys.executable, "-m", "services.common.supervisord_main",
            "--state-root", str(root.root), "-n", "-c", str(root.supervisord_conf)]  # fmt: skip
    os.execv(sys.executable, argv)  # noqa: S606
    return 0  # not reached


if __name__ == "__main__":
    raise SystemExit(main())
