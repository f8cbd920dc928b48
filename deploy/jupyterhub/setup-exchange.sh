#!/usr/bin/env bash
# Create nbgrader's exchange folder with nbgrader's permissions (run as root):
#   the root 1777 (everyone may create their course's folders; the sticky bit stops users deleting others'),
#   then `course release --to-exchange`, run by the grader, creates <course>/outbound (0755: students read
#   lessons) and <course>/inbound (0733 + sticky: students drop submissions in but cannot list it) and
#   <course>/feedback (0711: a student reaches only the file named by their own submission's hash).
set -euo pipefail
root=${1:-/srv/nbgrader/exchange}
mkdir -p "$root"
chmod 1777 "$root"
# every folder above it must be traversable by students
d=$(dirname "$root")
while [ "$d" != / ]; do chmod o+x "$d"; d=$(dirname "$d"); done
echo "exchange ready: $root"
