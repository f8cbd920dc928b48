#!/usr/bin/env bash
# Make the course's reference solutions in the shared course venv readable by the grader only (run as root):
#   deploy/jupyterhub/hide-references.sh /opt/beyond-prompting/venv grader
# A reference a student can import is an answer they can copy. Afterwards a student's lesson no longer falls
# back on them: an unfinished exercise says to write it first (course/fallback.py). `course grade`, run by the
# grader, still reads them. start.sh runs this on every start; run it again after each `pip install`.
set -euo pipefail
venv=${1:?usage: hide-references.sh VENV GRADER}
grader=${2:?usage: hide-references.sh VENV GRADER}
[ "$(id -u)" = 0 ] || { echo "hide-references.sh: run as root"; exit 2; }
refs=$(cd / && "$venv/bin/python" -I -c 'import pathlib, course.references as r; print(pathlib.Path(r.__file__).parent)')
case "$refs" in
  "$venv"/*) ;;
  *) echo "hide-references.sh: the course is not installed inside $venv ($refs): pip install it there (not -e)"
     exit 2 ;;
esac
chown -R "root:$(id -gn "$grader")" "$refs"
chmod -R u=rwX,g=rX,o= "$refs"
# as another user: the course still imports, its references do not
cd /
runuser -u nobody -- "$venv/bin/python" -I -c 'import course.quiz, course.fallback' ||
  { echo "hide-references.sh: other users can no longer import the course"; exit 1; }
if runuser -u nobody -- "$venv/bin/python" -I -c 'from course.references import reference' 2>/dev/null; then
  echo "hide-references.sh: other users can still import course.references"; exit 1
fi
echo "reference solutions readable by $grader only: $refs"
