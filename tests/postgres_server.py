"""A real PostgreSQL server for tests and benchmarks: a fresh cluster in a temporary folder, listening on
127.0.0.1 only, run as an unprivileged user, restarted and stopped by its PID (never by name).

Used by the ``postgres`` fixture (``tests/conftest.py``) and by ``benchmarks/queue_throughput.py``.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.servers import free_port

BINS = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
MISSING = "PostgreSQL is not installed (Debian: apt-get install postgresql; .ci/run installs it)"


class PostgresServer:
    """One cluster: ``start()``, then ``url``; ``restart()`` stops it (fast shutdown) and starts it again on the
    same port, as a database restart in production would; ``stop()`` ends it and removes its folder."""

    def __init__(self, *settings: str):
        self.bin = Path(BINS[-1])
        self.folder = Path(tempfile.mkdtemp(prefix="course-pg-"))  # outside pytest's root-only folders
        self.port = free_port()
        self.settings = settings  # extra server settings, as "name=value"
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.folder, "postgres", "postgres")
        self.pid: int | None = None

    @property
    def url(self) -> str:
        return f"postgresql://grader@127.0.0.1:{self.port}/gradebook"

    def _run(self, *command: str) -> None:
        subprocess.run([*self.as_user, *command], check=True, capture_output=True, text=True)

    def start(self) -> PostgresServer:
        data = self.folder / "data"
        if not data.exists():
            self._run(str(self.bin / "initdb"), "-D", str(data), "-U", "grader", "--auth=trust", "-E", "UTF8")
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        options += "".join(f" -c {setting}" for setting in self.settings)
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(data), "-l", str(self.folder / "log"), "-w", "start", "-o", options
        )
        self.pid = int((data / "postmaster.pid").read_text().split()[0])
        if not (self.folder / "created").exists():
            self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "grader", "gradebook")
            (self.folder / "created").touch()
        return self

    def _stop_server(self) -> None:
        if self.pid is None:
            return
        os.kill(self.pid, signal.SIGINT)  # PostgreSQL's fast shutdown: open connections are cut
        for _ in range(100):
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            os.kill(self.pid, signal.SIGKILL)
        self.pid = None

    def restart(self, down_seconds: float = 0.0) -> None:
        """Stop the server, stay down ``down_seconds``, and start it again on the same port."""
        self._stop_server()
        time.sleep(down_seconds)
        self.start()

    def stop(self) -> None:
        try:
            self._stop_server()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
