"""The course layout: every folder as nbgrader_config.py names it, so a renamed folder is followed everywhere."""

import pytest

from course.grading.layout import CourseLayout, find_root
from course.grading.nbgrader_runner import CourseError
from tests.conftest import LAYOUT, LESSONS, ROOT

RENAMED = (
    '\nc.CourseDirectory.source_directory = "lesson-sources"\n'
    'c.CourseDirectory.submitted_directory = "handed-in"\n'
    'c.CourseDirectory.release_directory = "student-release"\n'
)


def test_the_repository_layout():
    assert LAYOUT.root == ROOT and LAYOUT.course_id == "beyond-prompting"
    assert LAYOUT.lessons() == LESSONS and "00-orientation" in LESSONS
    lesson = LESSONS[0]
    assert LAYOUT.source_notebook(lesson).is_file() and LAYOUT.release_notebook(lesson).is_file()
    assert LAYOUT.answer_key_file(lesson).is_file()
    assert LAYOUT.source_notebook(lesson).parent == LAYOUT.source_dir(lesson)
    assert LAYOUT.default_db_url == f"sqlite:///{LAYOUT.gradebook}"
    assert LAYOUT.submission_dir("ada", lesson).relative_to(LAYOUT.submitted).parts == ("ada", lesson)
    assert LAYOUT.autograded_dir("ada", lesson).relative_to(LAYOUT.autograded).parts == ("ada", lesson)
    assert LAYOUT.feedback_dir("ada", lesson).relative_to(LAYOUT.feedback).parts == ("ada", lesson)


def test_lessons_are_checked(course_copy):
    layout = course_copy(["00-orientation"])
    assert layout.check_lessons(None) == ["00-orientation"]
    with pytest.raises(CourseError, match="known lessons: 00-orientation"):
        layout.check_lessons(["99-nope"])


def test_submitted_lessons_and_the_gradebook(course_copy):
    layout = course_copy(["00-orientation"])
    assert layout.submitted_lessons() == {}
    for student in ("ben", "ada", ".hidden"):
        layout.submission_dir(student, "00-orientation").mkdir(parents=True)
    assert layout.submitted_lessons() == {"00-orientation": ["ada", "ben"]}
    with pytest.raises(CourseError, match="course release"):
        layout.ensure_gradebook()
    layout.ensure_gradebook("sqlite:///elsewhere.db")  # another gradebook is checked when it is opened
    layout.gradebook.touch()
    layout.ensure_gradebook()


def test_renamed_folders_are_followed(course_copy):
    layout = course_copy(["00-orientation"])
    with layout.config_file.open("a") as config:
        config.write(RENAMED)
    layout.source.rename(layout.root / "lesson-sources")
    renamed = CourseLayout.load(layout.root)
    assert renamed.source.name == "lesson-sources" and renamed.lessons() == ["00-orientation"]
    assert renamed.submitted.name == "handed-in" and renamed.release.name == "student-release"
    assert renamed.autograded == layout.autograded and renamed.feedback == layout.feedback
    nested = renamed.source_dir("00-orientation")
    assert find_root(nested) == renamed.root
    assert find_root(renamed.root) == renamed.root


def test_no_course_folder(tmp_path):
    with pytest.raises(CourseError, match="--root"):
        find_root(tmp_path)
