"""Start a throwaway PostgreSQL server (as the postgres user when run as root)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Optional

PG_BIN = Path(os.environ.get("HOOKSEAL_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="hookseal-pg-"))
        self.port = _free_port()
        self.proc: Optional[subprocess.Popen[bytes]] = None

    @staticmethod
    def missing() -> Optional[str]:
        for name in ("initdb", "postgres"):
            if not (PG_BIN / name).exists() and not shutil.which(name):
                return f"PostgreSQL binary {name!r} not found in {PG_BIN} or PATH"
        if os.geteuid() == 0 and not shutil.which("runuser"):
            return "running as root without runuser to switch to the postgres user"
        return None

    def _cmd(self, *args: str) -> list[str]:
        exe = str(PG_BIN / args[0]) if (PG_BIN / args[0]).exists() else args[0]
        cmd = [exe, *args[1:]]
        return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd

    def start(self) -> PostgresServer:
        data = self.dir / "data"
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        subprocess.run(self._cmd("initdb", "-D", str(data), "-U", "postgres", "--auth=trust",
                                 "-E", "UTF8", "--no-sync"),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.resume()
        return self

    def _launch(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self._cmd("postgres", "-D", str(self.dir / "data"), "-p", str(self.port),
                      "-k", str(self.dir), "-c", "listen_addresses=127.0.0.1",
                      "-c", "fsync=off", "-c", "max_connections=200"),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    def resume(self) -> None:
        """Start the server on its data directory (again, after :meth:`halt`); wait for it."""
        import psycopg

        self.proc = self._launch()
        deadline = time.time() + 30
        while True:
            try:
                psycopg.connect(self.dsn("postgres"), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.time() > deadline:
                    raise
                if self.proc.poll() is not None:  # the last one's shutdown not yet over
                    time.sleep(0.2)
                    self.proc = self._launch()
                time.sleep(0.1)

    def halt(self) -> None:
        """Stop the server, keeping its data (a restart is :meth:`halt` then :meth:`resume`).

        A fast shutdown (SIGINT), as ``pg_ctl restart`` and systemd do: every session is
        ended at once. SIGTERM's smart shutdown keeps open sessions working while it
        refuses new ones, so a client saw the database come and go mid-"outage". The
        signal goes to the postmaster itself: ``runuser`` (as root) would pass on SIGTERM
        whatever it was sent, then SIGKILL two seconds later.
        """
        if self.proc is not None:
            pid_file = self.dir / "data" / "postmaster.pid"
            try:
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGINT)
            except (OSError, ValueError, IndexError):  # not up (yet): the launcher
                self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def dsn(self, db: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def create_db(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def stop(self) -> None:
        """Stop the server and delete its directory, without waiting for the deletion.

        After a full run the session's server holds every test's database (about 470: 4.6
        GB in 180,000 files), and deleting them took 16 s or more that the session waited
        for at its very end, with every test done. A detached ``rm -rf`` deletes them.
        """
        self.halt()
        # sh starts rm in the background and exits at once; rm, in a session of its own,
        # outlives this process.
        subprocess.run(["sh", "-c", 'rm -rf -- "$1" &', "sh", str(self.dir)], check=False,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, start_new_session=True, timeout=10)
