"""`course release` and `course grade` with folders renamed in nbgrader_config.py: nbgrader and the course's
own code both follow the new names, and grades are exact."""

import subprocess
import sys

import pytest

from course.grading.layout import CourseLayout
from course.grading.samples import answer_key, write_submission
from tests.conftest import LAYOUT
from tests.grading.test_layout import RENAMED
from tests.grading_helpers import scores

LESSON = "00-orientation"


def _course(*args, cwd):
    result = subprocess.run(
        [sys.executable, "-m", "course.grading.cli", *args], cwd=cwd, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.mark.slow
def test_release_and_grade_follow_renamed_folders(course_copy):
    copy = course_copy([LESSON])
    with copy.config_file.open("a") as config:
        config.write(RENAMED)
    copy.source.rename(copy.root / "lesson-sources")
    layout = CourseLayout.load(copy.root)

    _course("release", cwd=layout.source_dir(LESSON))  # found from inside the renamed source folder
    assert layout.release_notebook(LESSON).is_file()
    write_submission(layout, "ada", LESSON, None, answer_key(layout, LESSON))  # all right
    write_submission(layout, "ben", LESSON, set(), None)  # blank
    assert layout.submission_dir("ada", LESSON).is_dir()
    _course("grade", cwd=layout.root)

    assert scores(layout.grades_csv) == {(LESSON, "ada"): (3.0, 3.0), (LESSON, "ben"): (0.0, 3.0)}
    assert (layout.feedback_dir("ada", LESSON) / f"{LESSON}.html").is_file()
    for default in (LAYOUT.source, LAYOUT.release, LAYOUT.submitted):  # nothing under the usual names
        assert not (layout.root / default.name).exists(), default.name
