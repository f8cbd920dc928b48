#!/usr/bin/env bash
# The whole suite in fail-fast lanes (`make test`, what CI runs): lint, then the fast lane, then `course prepare`
# (the lessons' shared artefacts, built once into the suite's course cache), then the slow and browser lane.
# Each lane prints its time; the first red lane stops the run with its exit status.
#   COURSE_CACHE_DIR  the course cache the slow lane reads (default: .test-cache/ in the repository, kept between
#                     runs, so a second `make test` prepares nothing)
set -uo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
export COURSE_CACHE_DIR=${COURSE_CACHE_DIR:-$PWD/.test-cache}
times=()

lane() {
  local name=$1 begun=$SECONDS status
  shift
  echo "=== lane: $name ==="
  "$@"
  status=$?
  times+=("$name $((SECONDS - begun)) s")
  echo "=== lane $name: $([ "$status" = 0 ] && echo passed || echo "FAILED (exit $status)") in $((SECONDS - begun)) s ==="
  if [ "$status" != 0 ]; then
    echo "lane times: ${times[*]}"
    exit "$status"
  fi
}

lane lint make --no-print-directory lint
lane fast "$bin/python" -m pytest -m "not slow"
lane prepare "$bin/course" prepare
lane slow "$bin/python" -m pytest -m slow
echo "lane times: $(IFS=,; echo "${times[*]}")"
