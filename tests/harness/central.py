"""A real Central process on loopback, and agent processes that enrol at it.

Each gets a state root of its own in a temporary folder with the appliance CA and Central's
certificate (as the launcher makes them), listens on a free loopback port and is waited for
by its real health check. ``stop()`` ends exactly the process that was started.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from services.common.agent import agent_cert, enrolment_token_file, mtls_context
from services.common.paths import StateRoot
from services.common.pki import CertificateAuthority
from services.sandbox.sandbox import SOURCE_TREE


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def new_root(prefix: str) -> StateRoot:
    root = StateRoot.at(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    for directory in root.all_dirs():
        directory.mkdir(parents=True, exist_ok=True)
    return root


def _wait(proc: subprocess.Popen[bytes], check: Any, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    reason = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}: {log.read_text()[-3000:]}")
        try:
            if check():
                return
        except (httpx.HTTPError, OSError) as exc:
            reason = str(exc)
        time.sleep(0.05)
    raise TimeoutError(f"not ready after {timeout} s: {reason}; {log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


class _Process:
    """``python -m <module>`` on 127.0.0.1, with a state root of its own."""

    root: StateRoot
    port: int
    proc: subprocess.Popen[bytes] | None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def _launch(
        self, module: str, env: dict[str, str], log: Path, cwd: Path
    ) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", module, "--root", str(self.root.root),
                 "--port", str(self.port), "--host", "127.0.0.1"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env=env, cwd=cwd,
            )  # fmt: skip
        return self.proc

    def stop(self, *, remove: bool = True) -> None:
        _stop(self.proc)
        self.proc = None
        if remove:
            shutil.rmtree(self.root.root, ignore_errors=True)


class CentralProcess(_Process):
    """``python -m central`` on 127.0.0.1 with its own state root and database; run from the
    code in ``source`` (this tree by default), with ``workers`` processes if given."""

    def __init__(
        self, database_url: str | None = None, first_admin: dict[str, str] | None = None,
        *, source: Path = SOURCE_TREE, workers: int | None = None,
    ) -> None:  # fmt: skip
        self.root = new_root("bw-central-")
        self.port = free_port()
        self.database_url = database_url
        self.source = source
        self.workers = workers
        self.proc: subprocess.Popen[bytes] | None = None
        ca = CertificateAuthority(self.root.pki / "ca")
        ca.create("Burrow test CA")
        ca.issue(self.root.pki, "central", server_names=["127.0.0.1", "localhost"])
        ca.issue_central_client(self.root.pki)
        if first_admin is not None:
            (self.root.etc / "first-admin.json").write_text(json.dumps(first_admin))

    @property
    def ca_file(self) -> Path:
        return self.root.pki / "ca/ca.crt"

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def start(self, timeout: float = 60) -> CentralProcess:
        env = {**os.environ, "PYTHONPATH": str(self.source)}
        env.pop("BURROW_DATABASE_URL", None)
        if self.database_url:
            env["BURROW_DATABASE_URL"] = self.database_url
        if self.workers is not None:
            env["BURROW_CENTRAL_WORKERS"] = str(self.workers)
        log = self.root.logs / "central.log"
        proc = self._launch("central", env, log, self.source)
        _wait(proc, lambda: self.get("/api/v1/health").status_code == 200, log, timeout)
        return self

    # --- requests ---------------------------------------------------------------------
    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, verify=self.tls(), headers=headers, timeout=30)

    def request(
        self, method: str, path: str, token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        with self.client(token) as client:
            return client.request(method, path, **kwargs)

    def get(self, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, token, **kwargs)

    def admin_password(self) -> tuple[str, str]:
        text = (self.root.secrets / "initial-admin-password").read_text()
        fields = dict(line.split(": ", 1) for line in text.splitlines())
        return fields["username"], fields["password"]

    def login(self, username: str, password: str, **extra: Any) -> str:
        response = self.request(
            "POST", "/api/v1/auth/login", json={"username": username, "password": password, **extra}
        )
        assert response.status_code == 200, response.text
        return str(response.json()["token"])


class AgentProcess(_Process):
    """An agent (``python -m services.appliance`` by default) with a state root of its own,
    as on another appliance: it has the CA certificate and an enrolment token, nothing else.
    """

    def __init__(
        self, central: CentralProcess, module: str = "services.appliance",
        name: str = "appliance-agent",
    ) -> None:  # fmt: skip
        self.central = central
        self.module = module
        self.name = name
        self.root = new_root("bw-agent-")
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        (self.root.pki / "ca").mkdir(parents=True, exist_ok=True)
        shutil.copy(central.ca_file, self.root.pki / "ca/ca.crt")

    def give_token(self, token: str) -> None:
        """Put the one-time enrolment token where the agent looks for it."""
        enrolment_token_file(self.root, self.name).write_text(token + "\n")

    @property
    def cert(self) -> tuple[str, str]:
        paths = agent_cert(self.root, self.name)
        return str(paths.cert), str(paths.key)

    def start(self, timeout: float = 60) -> AgentProcess:
        env = {**os.environ, "PYTHONPATH": str(SOURCE_TREE), "BURROW_CENTRAL_URL": self.central.url}
        log = self.root.logs / f"{self.name}.log"
        proc = self._launch(self.module, env, log, SOURCE_TREE)
        ctx = mtls_context(self.central.root)
        _wait(
            proc,
            lambda: httpx.get(f"{self.url}/health", verify=ctx, timeout=2).status_code == 200,
            log,
            timeout,
        )
        return self
