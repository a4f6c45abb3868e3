"""A throwaway PostgreSQL server from Debian's packages, on a unix socket in a temporary folder.

It listens on no TCP port at all (``listen_addresses=''``), so it works from inside a sandbox
namespace as well, and several test runs never clash. Started with ``initdb`` + ``pg_ctl`` as
the ``postgres`` user (PostgreSQL refuses to run as root) and stopped at the end.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path


def pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL is missing: install Debian's postgresql package")
    return Path(found[-1]).parent


class Postgres:
    """One PostgreSQL cluster in a temporary folder."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="bw-pg-", dir="/tmp"))
        self.data = self.dir / "data"
        self.bin = pg_bin()
        self.user = "postgres"
        self.started = False

    def _as_postgres(self, *argv: str, timeout: float = 60) -> str:
        command = list(argv)
        if os.geteuid() == 0:
            command = ["runuser", "-u", self.user, "--", *command]
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {proc.stdout}{proc.stderr}")
        return proc.stdout

    def start(self) -> Postgres:
        if os.geteuid() == 0:
            entry = pwd.getpwnam(self.user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        self._as_postgres(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
            "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions",
        )  # fmt: skip
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"), "-w",
            "-o", f"-k {self.dir} -c listen_addresses='' -c fsync=off -c max_connections=100",
            "start",
        )  # fmt: skip
        self.started = True
        return self

    def url(self, database: str) -> str:
        """SQLAlchemy URL of ``database`` over the unix socket."""
        return f"postgresql+psycopg://postgres@/{database}?host={self.dir}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"host={self.dir} user=postgres dbname=postgres") as conn:
            conn.autocommit = True
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.started:
            self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast",
                              "-w", "stop")  # fmt: skip
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)
