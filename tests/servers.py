"""Servers the tests start (JupyterLab, JupyterHub, PostgreSQL): a free port on 127.0.0.1, and stopping a server
with everything it started, by process group, whether it is still running or not."""

from __future__ import annotations

import os
import signal
import socket
import subprocess


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_group(process: subprocess.Popen, grace_s: float = 20) -> None:
    """SIGTERM to the process group that ``process`` leads (started with ``start_new_session=True``: its
    kernels, proxies and children too), SIGKILL if it is still there after ``grace_s``; a process that already
    exited is fine."""
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=wait)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue
