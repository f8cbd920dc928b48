"""Grades out: grades.csv's late columns, Canvas's import layout (golden rows), roster.csv, grades.md."""

from datetime import UTC, datetime

import pytest

from course.grading.gradesout import add_late_columns, load_roster, write_canvas, write_summaries
from course.grading.layout import CourseLayout
from course.grading.nbgrader_runner import CourseError
from course.grading.report import read_grades, read_late
from course.grading.schedule import LatePolicy, Schedule

NBGRADER_CSV = (
    "assignment,duedate,timestamp,student_id,last_name,first_name,email,raw_score,late_submission_penalty,score,"
    "max_score\n"
    "00-orientation,,2026-12-01 14:00:00,ada,,,,3.0,0.0,3.0,3.0\n"
    "00-orientation,,2026-12-03 10:00:00.123456,ben,,,,3.0,0.6,2.4,3.0\n"
    "01-beyond-the-prompt,,,ada,,,,0.0,0.0,0.0,20.0\n"
    "01-beyond-the-prompt,,2026-12-09 10:00:00,ben,,,,16.5,0.0,16.5,20.0\n"
)
SCHEDULE = Schedule(
    LatePolicy("percent-per-day", 10),
    {"00-orientation": datetime(2026, 12, 1, 14, 59, tzinfo=UTC)},
)


@pytest.fixture()
def grades(tmp_path):
    path = tmp_path / "grades.csv"
    path.write_text(NBGRADER_CSV)
    return path


def test_grades_csv_keeps_nbgrader_columns_and_gains_late_days_and_due(grades):
    rows = add_late_columns(grades, SCHEDULE)
    lines = grades.read_text().splitlines()
    assert lines[0] == NBGRADER_CSV.splitlines()[0] + ",late_days,due"
    assert lines[2].endswith(",2.4,3.0,2,2026-12-01T14:59:00+00:00")
    assert lines[4].endswith(",16.5,20.0,,")  # nothing due for lesson 01
    assert [r["late_days"] for r in rows] == ["0", "2", "", ""]
    assert read_grades(grades)[("00-orientation", "ben")] == (2.4, 3.0)  # the final score
    assert read_late(grades)[("00-orientation", "ben")] == (3.0, 0.6, 2)
    add_late_columns(grades, SCHEDULE)  # again: the columns are not doubled
    assert grades.read_text().splitlines()[0].count("late_days") == 1


def test_canvas_csv_has_canvas_header_rows_and_final_scores(grades, tmp_path):
    rows = add_late_columns(grades, SCHEDULE)
    roster_file = tmp_path / "roster.csv"
    roster_file.write_text("id,name,section,sis_user_id,sis_login_id\nben,Ben Okafor,B2,S002,ben@uni.example\n")
    out = tmp_path / "grades-canvas.csv"
    write_canvas(out, rows, load_roster(roster_file))
    assert out.read_text().splitlines() == [
        "Student,ID,SIS User ID,SIS Login ID,Section,00-orientation (00-orientation),"
        "01-beyond-the-prompt (01-beyond-the-prompt)",
        "Points Possible,,,,,3,20",
        "Ben Okafor,,S002,ben@uni.example,B2,2.4,16.5",  # the roster's students first, in its order
        "ada,,,ada,,3,0",  # not on the roster: the course's id as name and SIS login
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id,name,section\nada,Ada,A\n", "roster.csv: missing column 'sis_user_id'"),
        ("id,name,section,sis_user_id,sis_login_id\n,Ada,A,1,a\n", "roster.csv line 2: empty id"),
    ],
)
def test_roster_errors_name_the_file(tmp_path, text, message):
    (tmp_path / "roster.csv").write_text(text)
    with pytest.raises(CourseError, match=message):
        load_roster(tmp_path / "roster.csv")


def test_no_roster_is_an_empty_one(tmp_path):
    assert load_roster(tmp_path / "roster.csv") == {}


def test_each_feedback_folder_gets_the_students_summary(grades, tmp_path):
    rows = add_late_columns(grades, SCHEDULE)
    layout = CourseLayout(tmp_path, "c", *(tmp_path / n for n in ("s", "r", "sub", "a", "feedback", "k")))
    for lesson in ("00-orientation", "01-beyond-the-prompt"):
        layout.feedback_dir("ben", lesson).mkdir(parents=True)
    layout.feedback_dir("ada", "00-orientation").mkdir(parents=True)  # ada has no feedback for lesson 01
    write_summaries(layout, rows)
    ben = (layout.feedback_dir("ben", "00-orientation") / "grades.md").read_text()
    assert ben == (layout.feedback_dir("ben", "01-beyond-the-prompt") / "grades.md").read_text()
    assert "| 00-orientation | 2.4 | 3 | 2 | −0.6 |" in ben
    assert "| 01-beyond-the-prompt | 16.5 | 20 | — | 0 |" in ben
    ada = (layout.feedback_dir("ada", "00-orientation") / "grades.md").read_text()
    assert "01-beyond-the-prompt" not in ada and "| 00-orientation | 3 | 3 | 0 | 0 |" in ada


def _gradebook(tmp_path, students):
    """A SQLite gradebook with lesson 00 (one notebook, one 3-point cell) and a full-marks submission each."""
    from nbgrader.api import Gradebook

    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url, "c") as gradebook:
        gradebook.add_assignment("00-orientation")
        gradebook.add_notebook("00-orientation", "00-orientation")
        gradebook.add_grade_cell("q1", "00-orientation", "00-orientation", max_score=3, cell_type="code")
        for student in students:
            gradebook.add_student(student)
            gradebook.add_submission("00-orientation", student)
            gradebook.find_grade("q1", "00-orientation", "00-orientation", student).auto_score = 3.0
        gradebook.db.commit()
    return url


def test_the_penalty_goes_into_the_gradebook_and_the_note_into_the_graded_notebook(tmp_path):
    import nbformat
    from nbgrader.api import Gradebook

    from course.grading.gradesout import apply_late_policy

    layout = CourseLayout(tmp_path, "c", *(tmp_path / n for n in ("s", "r", "sub", "a", "feedback", "k")))
    stamps = {"ben": "2026-12-03 10:00:00 UTC", "cy": "last tuesday", "dan": None}
    for student, stamp in stamps.items():
        layout.submission_dir(student, "00-orientation").mkdir(parents=True)
        if stamp:
            (layout.submission_dir(student, "00-orientation") / "timestamp.txt").write_text(stamp)
        layout.autograded_dir(student, "00-orientation").mkdir(parents=True)
        nbformat.write(nbformat.v4.new_notebook(), layout.autograded_dir(student, "00-orientation") / "n.ipynb")
    url = _gradebook(tmp_path, stamps)
    notes = apply_late_policy(layout, url, [("00-orientation", s) for s in stamps], SCHEDULE)
    assert notes == {
        ("00-orientation", "ben"): "Submitted 2 days after the due date 2026-12-01 14:59 +00:00 (extension: no); "
        "late policy 10% per day: −0.6 of 3.0 points.",
        ("00-orientation", "cy"): "timestamp.txt could not be read as a time (not a date and time: 'last tuesday'); "
        "no late penalty was applied.",
        ("00-orientation", "dan"): "No timestamp.txt in the submission, so its time is unknown; no late penalty "
        "was applied.",
    }
    with Gradebook(url, "c") as gradebook:
        penalties = {s: gradebook.find_submission("00-orientation", s).late_submission_penalty for s in stamps}
    assert penalties == {"ben": pytest.approx(0.6), "cy": 0.0, "dan": 0.0}
    cell = nbformat.read(layout.autograded_dir("ben", "00-orientation") / "n.ipynb", as_version=4).cells[0]
    assert cell.source.endswith("- " + notes[("00-orientation", "ben")])


def test_without_a_due_date_nothing_is_said_or_taken(tmp_path):
    from course.grading.gradesout import apply_late_policy

    layout = CourseLayout(tmp_path, "c", *(tmp_path / n for n in ("s", "r", "sub", "a", "feedback", "k")))
    layout.submission_dir("ben", "00-orientation").mkdir(parents=True)
    (layout.submission_dir("ben", "00-orientation") / "timestamp.txt").write_text("garbage")
    url = _gradebook(tmp_path, ["ben"])
    assert apply_late_policy(layout, url, [("00-orientation", "ben")], Schedule()) == {}
