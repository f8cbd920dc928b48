"""Running nbgrader as a subprocess, with the course folder and the right PATH."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


class CourseError(Exception):
    """A mistake the user can fix; the message says how, in one line."""


def nbgrader_env() -> dict[str, str]:
    """The environment for nbgrader: this Python's bin folder first on PATH (nbgrader calls `alembic`)."""
    env = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def start_nbgrader(root: Path, *args: str) -> subprocess.Popen:
    """Start ``nbgrader ARGS`` in the course folder; ``finish_nbgrader`` waits for it."""
    return subprocess.Popen(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=root,
        env=nbgrader_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def finish_nbgrader(process: subprocess.Popen) -> None:
    """Wait for a started nbgrader; CourseError with its last lines if it failed."""
    output, _ = process.communicate()
    if process.returncode != 0:
        tail = "\n".join(output.strip().splitlines()[-15:])
        args = process.args  # [python, -m, nbgrader, ARGS...] as start_nbgrader gave it
        shown = " ".join(map(str, args[3:])) if isinstance(args, list) else str(args)
        raise CourseError(f"nbgrader {shown} failed:\n{tail}")


def run_nbgrader(root: Path, *args: str, quiet: bool = True) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` in the course folder; raise CourseError with nbgrader's last lines on failure."""
    cmd = [sys.executable, "-m", "nbgrader", *args]
    result = subprocess.run(cmd, cwd=root, env=nbgrader_env(), capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise CourseError(f"nbgrader {' '.join(args)} failed:\n{tail}")
    if not quiet:
        print(result.stdout + result.stderr)
    return result


def database_url(url: str) -> str:
    """``url``, checked and reachable; a bare ``postgresql://`` uses psycopg (3), the driver installed with the
    course (the grading queue's procrastinate needs it too), else psycopg2 if that is the one installed.

    CourseError, with the URL's password hidden, when it is not a database URL or the database cannot be
    reached."""
    import importlib.util

    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise CourseError(
            f"--db-url {url!r} is not a database URL; for example "
            "postgresql://grader@localhost/gradebook or sqlite:///gradebook.db"
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        installed = importlib.util.find_spec("psycopg") or not importlib.util.find_spec("psycopg2")
        driver = "psycopg" if installed else "psycopg2"
        parsed = parsed.set(drivername=f"postgresql+{driver}")
    shown = parsed.render_as_string(hide_password=True)
    engine = create_engine(parsed)
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as err:
        orig = getattr(err, "orig", None)  # the driver's own error, when SQLAlchemy wrapped one
        reason = str(orig if orig else err).strip().splitlines()[0]
        raise CourseError(f"Cannot open the gradebook at {shown}: {reason}") from None
    finally:
        engine.dispose()  # the check's connection is not kept open (a worker counts its connections)
    return parsed.render_as_string(hide_password=False)
