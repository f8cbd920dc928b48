"""The `course` command: help, one-line errors that name the fix (bad folders, --db-url, --workers), and a
non-zero exit that says what to do when a submission could not be graded."""

import subprocess
import sys

import pytest

from course.grading.layout import CourseLayout
from tests.conftest import ROOT
from tests.grading_helpers import scores


def course(*args, cwd):
    return subprocess.run([sys.executable, "-m", "course.grading.cli", *args], cwd=cwd, capture_output=True, text=True)


@pytest.mark.parametrize("command", [[], ["release"], ["grade"], ["demo"], ["worker"], ["queue-setup"]])
def test_help(command):
    result = course(*command, "--help", cwd=ROOT)
    assert result.returncode == 0 and "usage: course" in result.stdout


@pytest.fixture()
def empty_course(course_copy):
    return course_copy(["00-orientation"]).root


def _one_line_error(result, *words):
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("course: error:"), result.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_grade_without_gradebook_says_release_first(empty_course):
    _one_line_error(course("grade", cwd=empty_course), "course release")


def test_grade_with_nothing_submitted(empty_course):
    CourseLayout.load(empty_course).gradebook.touch()
    _one_line_error(course("grade", cwd=empty_course), "submitted/<student>/<lesson>/")


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("schedule.toml", '[due]\n"00-orientation" = 2026-12-01T23:59:00\n', ["schedule.toml", "no timezone"]),
        ("roster.csv", "id,name\nada,Ada\n", ["roster.csv", "sis_user_id"]),
    ],
)
def test_a_bad_schedule_or_roster_stops_grade_before_any_grading(empty_course, name, text, words):
    layout = CourseLayout.load(empty_course)
    layout.gradebook.touch()
    (empty_course / name).write_text(text)
    _one_line_error(course("grade", cwd=empty_course), *words)


def test_unknown_lesson(empty_course):
    _one_line_error(course("release", "--lesson", "99-nope", cwd=empty_course), "00-orientation")


def test_outside_a_course_folder(tmp_path):
    _one_line_error(course("release", cwd=tmp_path), "--root")


def test_course_command_starts_without_heavy_libraries():
    probe = (
        "import sys, course.grading.cli, course.grading.demo, course.grading.grade, course.grading.release; "
        "print(sorted(m for m in ('torch', 'transformers', 'ipywidgets') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("command", ["grade", "release"])
def test_a_db_url_that_is_not_one(empty_course, command):
    _one_line_error(
        course(command, "--db-url", "gradebook please", cwd=empty_course), "is not a database URL", "postgresql://"
    )


def test_an_unreachable_database_hides_its_password(empty_course):
    result = course("grade", "--db-url", "postgresql://grader:s3cret@127.0.0.1:9/gradebook", cwd=empty_course)
    _one_line_error(result, "Cannot open the gradebook at postgresql", "127.0.0.1:9")
    assert "s3cret" not in result.stderr


def test_workers_must_be_positive(empty_course):
    _one_line_error(course("grade", "--workers", "0", cwd=empty_course), "--workers")


def test_each_resource_flag_sets_its_kernel_limit_and_defaults_to_it():
    from course.grading.cli import RESOURCE_FLAGS, build_parser
    from course.grading.kernel import Limits

    given = build_parser().parse_args(
        ["grade", "--memory", "8G", "--processes", "64", "--cpu-time", "90", "--disk", "3M"]
    )
    assert {limit.field: getattr(given, limit.field) for limit in RESOURCE_FLAGS} == {
        "memory_bytes": 8 << 30,
        "processes": 64,
        "cpu_seconds": 90,
        "disk_bytes": 3 << 20,
    }
    defaults = build_parser().parse_args(["grade"])
    assert all(getattr(defaults, limit.field) == getattr(Limits(), limit.field) for limit in RESOURCE_FLAGS)


@pytest.mark.parametrize("size", [0, 1000, 3 << 20, 16 << 30, (1 << 40) + (1 << 10)])
def test_a_shown_default_size_reads_back_as_itself(size):
    from course.grading.cli import _shown_size, _size

    assert _size(_shown_size(size)) == size


def test_grade_help_names_the_new_options():
    out = course("grade", "--help", cwd=ROOT).stdout
    for option in ("--workers", "--db-url", "--cell-timeout", "--timeout", "--queue", "--status", "--job-timeout"):
        assert option in out


@pytest.mark.parametrize("command", [["grade", "--queue"], ["grade", "--status"], ["worker"]])
def test_the_queue_needs_a_database_url(empty_course, command, monkeypatch):
    monkeypatch.delenv("COURSE_DB_URL", raising=False)
    _one_line_error(course(*command, cwd=empty_course), "--db-url postgresql://")


def test_with_the_queue_workers_are_course_worker_processes(empty_course):
    result = course("grade", "--queue", "--workers", "2", "--db-url", "postgresql://x@127.0.0.1:9/g", cwd=empty_course)
    _one_line_error(result, "course worker")


def test_a_database_without_the_queue_says_what_to_run(empty_course, postgres):
    _one_line_error(course("queue-setup", "--db-url", postgres, cwd=empty_course), "run `course release --db-url")
    for command in (["worker"], ["grade", "--status"]):
        _one_line_error(course(*command, "--db-url", postgres, cwd=empty_course), "run `course queue-setup --db-url")


@pytest.mark.slow
def test_grade_exits_non_zero_when_a_submission_could_not_be_graded_and_grades_the_others(
    course_copy, monkeypatch, capsys
):
    from course.grading import grade
    from course.grading.cli import main
    from course.grading.pipeline import SubmissionResult
    from course.grading.samples import answer_key, write_submission

    lesson = "00-orientation"
    layout = course_copy([lesson], released=True)
    for student in ("ada", "bea", "cal"):  # all right; cal's grading fails as the grader's own fault would
        write_submission(layout, student, lesson, None, answer_key(layout, lesson))
    real = grade.grade_submission

    def grade_submission(job):
        if job.files.student == "cal":
            return SubmissionResult("cal", lesson, error="Traceback ...\nOSError: the grading machine broke")
        return real(job)

    monkeypatch.setattr(grade, "grade_submission", grade_submission)
    assert main(["--root", str(layout.root), "grade"]) == 1
    said = capsys.readouterr().err
    assert f"warning: {lesson}/cal: grading failed, nothing recorded: OSError: the grading machine broke" in said
    assert "1 submission(s) could not be graded" in said and "then run `course grade` again" in said
    assert scores(layout.grades_csv) == {(lesson, "ada"): (3.0, 3.0), (lesson, "bea"): (3.0, 3.0)}
