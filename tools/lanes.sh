#!/usr/bin/env bash
# The suite in fail-fast lanes (`make test`, what CI runs): lint, then the fast lane, then `course prepare` (the
# lessons' shared artefacts, built once into the suite's course cache), then the slow and browser lane.
# Each lane prints its time; the first red lane stops the run with its exit status.
#   tools/lanes.sh              every lane, in that order
#   tools/lanes.sh lint fast    only the lanes named (`make check`; `make test-fast` is `tools/lanes.sh fast`)
#   COURSE_CACHE_DIR  the course cache the slow lane reads (default: .test-cache/ in the repository, kept between
#                     runs, so a second `make test` prepares nothing)
#   TEST_WORKERS      pytest-xdist workers for the fast and slow lanes (default 2, the CI machine's cores); a test
#                     file's tests stay on one worker, so its shared fixtures are built once (tests/conftest.py)
#   OMP_NUM_THREADS   default 1: the workers keep every core busy, and PyTorch's spin-waiting OpenMP threads on a
#                     busy core made a training loop 4.4 times slower (4.92 s against 1.11 s quiet; issue 28)
set -uo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
export PATH=$PWD/$bin:$PATH  # nbgrader runs `alembic` from PATH
export COURSE_CACHE_DIR=${COURSE_CACHE_DIR:-$PWD/.test-cache}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
workers=(-n "${TEST_WORKERS:-2}")
if (($#)); then wanted=("$@"); else wanted=(lint fast prepare slow); fi
times=()

for name in "${wanted[@]}"; do
  case $name in lint | fast | prepare | slow) ;; *) echo "no lane '$name': choose from lint, fast, prepare, slow" >&2; exit 2 ;; esac
done

lane() {
  local name=$1 begun=$SECONDS status
  shift
  [[ " ${wanted[*]} " == *" $name "* ]] || return 0
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
lane fast "$bin/python" -m pytest -m "not slow" "${workers[@]}"
lane prepare "$bin/course" prepare
lane slow "$bin/python" -m pytest -m slow "${workers[@]}"
echo "lane times: $(IFS=,; echo "${times[*]}")"
