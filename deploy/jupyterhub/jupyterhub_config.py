"""JupyterHub for a small class on one machine: `deploy/jupyterhub/start.sh` (or `make hub`) runs it as root.

Pinned: JupyterHub (pyproject.toml's `dev` extra) and configurable-http-proxy (.ci/run), both installed once in
the course venv / system for all users. Settings come from the environment, so the same file serves a class and
the tests:

  BP_HUB_IP, BP_HUB_PORT  where the hub listens (default 127.0.0.1:8000; put TLS in front before opening it up)
  BP_COURSE_VENV          the one shared course venv whose jupyterhub-singleuser every user runs (default: the
                          venv running the hub). Build it from a Python every user can execute (not under /root)
  BP_COURSE_DIR           the instructor's course folder (default: this repository); only the grader reads it
  BP_GRADER               the grader's (instructor's) Unix account (default: grader): hub admin, formgrader
  BP_STUDENTS             comma-separated Unix accounts allowed to log in besides the grader
  NBGRADER_EXCHANGE       nbgrader's exchange folder (default /srv/nbgrader/exchange; setup-exchange.sh)
  BP_COURSE_CACHE         the course cache `course prepare` filled (start.sh), every server's COURSE_CACHE_DIR:
                          read-only for students, whose own builds go to ~/.cache/beyond-prompting
  BP_HUB_STATE            the hub's database, cookie secret and proxy token (default /srv/jupyterhub)

AUTHENTICATOR: a placeholder. By default PAM (the machine's own passwords), restricted to BP_GRADER and
BP_STUDENTS; in production replace it with the institution's single sign-on (oauthenticator: GitHub, Google,
Azure AD, generic OIDC) or LTI from the LMS (ltiauthenticator), never the dummy one. BP_HUB_DUMMY_PASSWORD
switches to JupyterHub's DummyAuthenticator (one shared password), for tests only: it is refused unless the hub
listens on 127.0.0.1.
"""

import os
import shutil
import sys
from pathlib import Path

c = get_config()  # noqa: F821 (provided by JupyterHub)

HERE = Path(__file__).resolve().parent
ip = os.environ.get("BP_HUB_IP", "127.0.0.1")
venv = Path(os.environ.get("BP_COURSE_VENV", sys.prefix))
course = Path(os.environ.get("BP_COURSE_DIR", HERE.parents[1]))
grader = os.environ.get("BP_GRADER", "grader")
students = {s.strip() for s in os.environ.get("BP_STUDENTS", "").split(",") if s.strip()}
exchange = os.environ.get("NBGRADER_EXCHANGE", "/srv/nbgrader/exchange")
cache = os.environ.get("BP_COURSE_CACHE", "/srv/beyond-prompting/cache")
state = Path(os.environ.get("BP_HUB_STATE", "/srv/jupyterhub"))
state.mkdir(parents=True, exist_ok=True, mode=0o700)

c.JupyterHub.ip = ip
c.JupyterHub.port = int(os.environ.get("BP_HUB_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")
c.ConfigurableHTTPProxy.command = [shutil.which("configurable-http-proxy") or "configurable-http-proxy"]
c.ConfigurableHTTPProxy.pid_file = str(state / "jupyterhub-proxy.pid")

# --- who may log in (see the AUTHENTICATOR note above) ---
dummy_password = os.environ.get("BP_HUB_DUMMY_PASSWORD")
if dummy_password:
    if ip != "127.0.0.1":
        raise SystemExit("BP_HUB_DUMMY_PASSWORD (tests only) needs BP_HUB_IP=127.0.0.1")
    c.JupyterHub.authenticator_class = "dummy"
    c.DummyAuthenticator.password = dummy_password
else:
    c.JupyterHub.authenticator_class = "pam"  # PLACEHOLDER: replace with SSO or LTI in production
c.Authenticator.allowed_users = students | {grader}
c.Authenticator.admin_users = {grader}

# --- each user's JupyterLab: their own Unix account, the shared course venv ---
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(venv / "bin" / "python"), "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120


def _config_dir(spawner) -> str:
    """Students get the Assignments panel and Validate only; the grader keeps formgrader and Create Assignment."""
    return str(HERE / ("grader" if spawner.user.name == grader else "student"))


c.Spawner.environment = {
    "JUPYTER_CONFIG_PATH": _config_dir,
    "NBGRADER_EXCHANGE": exchange,
    "COURSE_CACHE_DIR": cache,
    "BP_COURSE_DIR": str(course),
    "PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
}


def _pre_spawn(spawner) -> None:
    # the grader works in the course folder (formgrader, source/); a student in their home, where lessons arrive
    if spawner.user.name == grader:
        spawner.notebook_dir = str(course)


c.Spawner.pre_spawn_hook = _pre_spawn
