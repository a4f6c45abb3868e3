"""The SSH side of the diagnostic shell (paramiko): logins, refusals, one session per connection.

- Only user ``diag``, by password (scrypt hash) or authorized key, both read from the settings
  file at every login (:mod:`services.shell.settings`). No credentials: every login refused.
- Failed logins are rate-limited per source address (:class:`LoginThrottle`): after
  ``limit`` failures the address is locked out for ``lockout`` seconds counted from that
  refusal; tries during the lockout are refused and do not extend it.
- Before authentication a connection has ``PREAUTH_DEADLINE`` seconds (banner, key exchange
  and login together) and takes one of ``MAX_UNAUTHENTICATED`` places, at most
  ``MAX_UNAUTHENTICATED_PER_ADDRESS`` from one address: idle connections from one address
  cannot keep everyone else out. A client that leaves early is logged in one line.
- Only algorithms that OpenSSH 9 offers by default (``ALGORITHMS``): no CBC ciphers, no
  3DES, no MD5 or SHA-1 MACs, no SHA-1 key exchange, an Ed25519 host key.
- One ``session`` channel per connection, with ``pty-req``, ``window-change``, ``shell`` and
  ``exec``. Everything else is refused and logged: subsystems (SFTP), port forwarding both
  ways, agent forwarding, X11, environment variables and any other channel or global request.
"""

from __future__ import annotations

import itertools
import logging
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable

import paramiko

from services.common.files import write_atomic
from services.common.paths import StateRoot
from services.shell.session import Session
from services.shell.settings import USER, DiagShellSettings, fingerprint, load_or_refuse

log = logging.getLogger("diag-shell")
#: Sessions open at once (logged in).
MAX_CONNECTIONS = 64
#: Connections not yet logged in, in all and from one address.
MAX_UNAUTHENTICATED = 64
MAX_UNAUTHENTICATED_PER_ADDRESS = 4
#: Time allowed from TCP connect to a successful login.
PREAUTH_DEADLINE = 10.0
#: Time allowed from the login to a shell or exec request.
SETUP_TIMEOUT = 30.0

#: The algorithms offered: those of OpenSSH 9's defaults that paramiko has (ssh -G shows
#: the client's defaults; ssh_config(5), sshd_config(5)).
ALGORITHMS = {
    "ciphers": ("aes128-ctr", "aes192-ctr", "aes256-ctr", "aes128-gcm@openssh.com",
                "aes256-gcm@openssh.com"),
    "digests": ("hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com",
                "hmac-sha2-256", "hmac-sha2-512"),
    "kex": ("curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384",
            "ecdh-sha2-nistp521", "diffie-hellman-group-exchange-sha256",
            "diffie-hellman-group16-sha512", "diffie-hellman-group14-sha256"),
    "key_types": ("ssh-ed25519",),
}  # fmt: skip
FAILED_LOGIN_DELAY = 0.5
AUTH_FAILED: int = paramiko.AUTH_FAILED
AUTH_SUCCESSFUL: int = paramiko.AUTH_SUCCESSFUL
OPEN_SUCCEEDED: int = paramiko.OPEN_SUCCEEDED
PROHIBITED: int = paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


class LoginThrottle:
    """At most ``limit`` failed logins per source address within ``window`` seconds; then
    every login from that address is refused for ``lockout`` seconds. A successful login
    clears the address's count."""

    def __init__(
        self,
        limit: int = 5,
        window: float = 60.0,
        lockout: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.window, self.lockout, self.clock = limit, window, lockout, clock
        self.failures: dict[str, deque[float]] = defaultdict(deque)
        self.locked_until: dict[str, float] = {}
        self.lock = threading.Lock()

    def locked(self, address: str) -> bool:
        with self.lock:
            until = self.locked_until.get(address)
            if until is None:
                return False
            if self.clock() >= until:
                del self.locked_until[address]
                return False
            return True

    def succeeded(self, address: str) -> None:
        """A good login from ``address`` forgets its earlier failures."""
        with self.lock:
            self.failures.pop(address, None)

    def failed(self, address: str) -> None:
        with self.lock:
            now = self.clock()
            if self.locked_until.get(address, 0.0) > now:
                return  # refused while locked out: the lockout runs from its first refusal
            times = self.failures[address]
            times.append(now)
            while times and times[0] < now - self.window:
                times.popleft()
            if len(times) >= self.limit:
                self.locked_until[address] = now + self.lockout
                times.clear()
                log.warning(
                    "%d failed logins from %s: refusing it for %g s",
                    self.limit,
                    address,
                    self.lockout,
                )
            if not times and address not in self.locked_until:
                del self.failures[address]


class Connection(paramiko.ServerInterface):  # type: ignore[misc]
    """The answers to one client's requests (see the module docstring)."""

    def __init__(self, root: StateRoot, throttle: LoginThrottle, peer: str, cid: str) -> None:
        self.root = root
        self.throttle = throttle
        self.peer = peer
        self.id = cid
        self.settings = DiagShellSettings()
        self.authenticated = False
        self.attempts = 0
        self.counted = False
        self.channel_id: int | None = None
        self.pty = False
        self.request = threading.Event()
        self.mode = ""
        self.command = ""
        #: Called once at the first successful login (the server frees the connection's
        #: place among those not logged in).
        self.on_login: Callable[[], None] | None = None

    def _refuse(self, what: str) -> bool:
        log.info("session %s from %s: refused %s", self.id, self.peer, what)
        return False

    # --- authentication ----------------------------------------------------------------
    def get_allowed_auths(self, username: str) -> str:
        return "publickey,password"

    def check_auth_none(self, username: str) -> int:
        return AUTH_FAILED

    def _allowed(self, username: str) -> bool:
        if self.throttle.locked(self.peer):
            log.info("session %s: login from %s refused: too many failures", self.id, self.peer)
            return False
        self.settings = load_or_refuse(self.root)
        return username == USER and self.settings.has_credentials

    def check_auth_password(self, username: str, password: str) -> int:
        self.attempts += 1
        if self._allowed(username) and self.settings.password_matches(password):
            return self._success(username, "password")
        log.info("session %s: failed password login as %r from %s", self.id, username, self.peer)
        self.throttle.failed(self.peer)
        self.counted = True
        time.sleep(FAILED_LOGIN_DELAY)
        return AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        self.attempts += 1
        if self._allowed(username) and self.settings.key_allowed(key):
            # paramiko calls this for the offer and again after checking the signature.
            return self._success(username, f"key {fingerprint(key)}")
        log.info(
            "session %s: key %s for %r from %s not accepted",
            self.id,
            fingerprint(key),
            username,
            self.peer,
        )
        return AUTH_FAILED

    def _success(self, username: str, how: str) -> int:
        if not self.authenticated:
            self.throttle.succeeded(self.peer)
            log.info("session %s: %s logged in from %s by %s", self.id, username, self.peer, how)
            if self.on_login is not None:
                self.on_login()
        self.authenticated = True
        return AUTH_SUCCESSFUL

    # --- channels and requests -----------------------------------------------------------
    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session" and self.channel_id is None:
            self.channel_id = chanid
            return OPEN_SUCCEEDED
        self._refuse(f"a {kind!r} channel")
        return PROHIBITED

    def check_channel_pty_request(self, channel: paramiko.Channel, *args: object) -> bool:
        self.pty = True
        return True

    def check_channel_window_change_request(self, channel: paramiko.Channel, *a: object) -> bool:
        return True

    def check_channel_shell_request(self, channel: paramiko.Channel) -> bool:
        if self.mode:
            return self._refuse("a second shell or exec request")
        self.mode = "shell"
        self.request.set()
        return True

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        if self.mode:
            return self._refuse("a second shell or exec request")
        self.mode = "exec"
        self.command = command.decode("utf-8", "replace")
        self.request.set()
        return True

    def check_channel_subsystem_request(self, channel: paramiko.Channel, name: str) -> bool:
        return self._refuse(f"subsystem {name!r}")

    def check_channel_x11_request(self, channel: paramiko.Channel, *args: object) -> bool:
        return self._refuse("X11 forwarding")

    def check_channel_forward_agent_request(self, channel: paramiko.Channel) -> bool:
        return self._refuse("agent forwarding")

    def check_channel_env_request(
        self, channel: paramiko.Channel, name: bytes, value: bytes
    ) -> bool:
        return self._refuse(f"environment variable {name!r}")

    def check_port_forward_request(self, address: str, port: int) -> bool:
        return self._refuse(f"remote port forwarding ({address}:{port})")

    def check_global_request(self, kind: str, msg: paramiko.Message) -> bool:
        return self._refuse(f"global request {kind!r}")

    def check_channel_direct_tcpip_request(self, chanid: int, origin: object, dest: object) -> int:
        self._refuse(f"port forwarding to {dest}")
        return PROHIBITED


def host_key(root: StateRoot) -> paramiko.PKey:
    """The SSH host key, made at first start and kept (it is part of the backups)."""
    path = root.lib / "ssh_host_ed25519_key"
    if not path.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        write_atomic(path, pem, mode=0o600)
    return paramiko.Ed25519Key.from_private_key_file(str(path))


def hostname(root: StateRoot) -> str:
    try:
        from services.common.settings import ApplianceSettings

        return ApplianceSettings.load(root.appliance_settings).hostname
    except Exception:
        return socket.gethostname()


class Admission:
    """Places for connections not yet logged in: ``total`` in all, ``per_address`` from one
    address. A connection takes a place when it is accepted and gives it back when it has
    logged in or ended."""

    def __init__(self, total: int = MAX_UNAUTHENTICATED,
                 per_address: int = MAX_UNAUTHENTICATED_PER_ADDRESS) -> None:  # fmt: skip
        self.total, self.per_address = total, per_address
        self.by_address: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()

    def enter(self, address: str) -> str | None:
        """Take a place for ``address``; the reason it is refused, or None."""
        with self.lock:
            if self.by_address[address] >= self.per_address:
                return f"{self.per_address} connections from it are not logged in yet"
            if sum(self.by_address.values()) >= self.total:
                return f"{self.total} connections are not logged in yet"
            self.by_address[address] += 1
            return None

    def leave(self, address: str) -> None:
        with self.lock:
            self.by_address[address] -= 1
            if self.by_address[address] <= 0:
                del self.by_address[address]


class _QuietParamiko(logging.Filter):
    """paramiko logs a whole traceback, line by line, for a client that leaves during the
    banner or the key exchange: keep its one-line summary (as info), drop the rest."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR:
            return True
        message = record.getMessage()
        if message.startswith("Exception ("):
            record.levelno, record.levelname = logging.INFO, "INFO"
            return True
        return False


def quiet_paramiko() -> None:
    """Install the filter on paramiko's transport logger (once)."""
    logger = logging.getLogger("paramiko.transport")
    if not any(isinstance(f, _QuietParamiko) for f in logger.filters):
        logger.addFilter(_QuietParamiko())


class ShellServer:
    """Accepts connections and serves each in a thread of its own."""

    def __init__(self, root: StateRoot, key: paramiko.PKey) -> None:
        self.root = root
        self.key = key
        self.throttle = LoginThrottle()
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self.admission = Admission()
        self.ids = itertools.count(1)
        self.hostname = hostname(root)
        quiet_paramiko()

    def serve(self, sock: socket.socket) -> None:
        while True:
            conn, addr = sock.accept()
            cid = str(next(self.ids))
            refused = self.admission.enter(addr[0])
            if refused:
                log.warning("session %s from %s: refused, %s", cid, addr[0], refused)
                conn.close()
                continue
            threading.Thread(
                target=self.handle, args=(conn, addr[0], cid), daemon=True, name=f"ssh-{cid}"
            ).start()

    def handle(self, conn: socket.socket, peer: str, cid: str) -> None:
        started = time.monotonic()
        admitted = [True]  # holds a place among the connections not logged in
        admitted_lock = threading.Lock()
        session_slot = False

        def leave() -> None:
            with admitted_lock:
                if admitted[0]:
                    admitted[0] = False
                    self.admission.leave(peer)

        # Small interactive writes: no Nagle delay (it costs tens of ms per round trip).
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport = paramiko.Transport(conn)
        transport.add_server_key(self.key)
        options = transport.get_security_options()
        options.ciphers = ALGORITHMS["ciphers"]
        options.digests = ALGORITHMS["digests"]
        options.kex = ALGORITHMS["kex"]
        options.key_types = ALGORITHMS["key_types"]
        transport.banner_timeout = PREAUTH_DEADLINE
        transport.handshake_timeout = PREAUTH_DEADLINE
        transport.auth_timeout = PREAUTH_DEADLINE
        server = Connection(self.root, self.throttle, peer, cid)
        server.on_login = leave

        def deadline() -> None:
            if not server.authenticated and transport.is_active():
                log.info("session %s from %s: not logged in within %g s, closed", cid, peer,
                         PREAUTH_DEADLINE)  # fmt: skip
                transport.close()

        watchdog = threading.Timer(PREAUTH_DEADLINE, deadline)
        watchdog.daemon = True
        watchdog.start()
        try:
            try:
                transport.start_server(server=server)
            except (paramiko.SSHException, EOFError, OSError) as exc:
                log.info("session %s from %s: left before logging in (%s)", cid, peer,
                         exc or "closed")  # fmt: skip
                return
            channel = transport.accept(timeout=PREAUTH_DEADLINE + SETUP_TIMEOUT)
            if server.authenticated:
                watchdog.cancel()
                leave()
                if not self.slots.acquire(blocking=False):
                    log.warning("session %s from %s: refused, %d sessions open", cid, peer,
                                MAX_CONNECTIONS)  # fmt: skip
                    return
                session_slot = True
            if channel is None:
                # A connection that tried keys only and got nowhere counts as one failure.
                if not server.authenticated and server.attempts and not server.counted:
                    self.throttle.failed(peer)
                log.info("session %s from %s: no session opened", cid, peer)
                return
            if not server.request.wait(SETUP_TIMEOUT):
                log.info("session %s from %s: no shell or exec request", cid, peer)
                return
            session = Session(
                self.root,
                channel,
                cid,
                pty=server.pty,
                idle_timeout=server.settings.idle_timeout,
                hostname=self.hostname,
            )
            if server.mode == "exec":
                log.info("session %s: exec %r", cid, server.command[:200])
                session.run_exec(server.command)
            else:
                log.info("session %s: interactive shell (pty: %s)", cid, server.pty)
                session.run_shell()
        except (paramiko.SSHException, EOFError, OSError) as exc:
            log.info("session %s from %s: connection ended: %s", cid, peer, exc or "closed")
        finally:
            watchdog.cancel()
            leave()
            # Let the client close first, so that it sees the exit status and no reset.
            if transport.is_active():
                transport.join(timeout=5)
            transport.close()
            if session_slot:
                self.slots.release()
            log.info("session %s from %s closed after %.1f s", cid, peer,
                     time.monotonic() - started)  # fmt: skip


def listen(address: str, port: int) -> socket.socket:
    return socket.create_server((address, port), backlog=128)
