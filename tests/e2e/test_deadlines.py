"""Deadlines end to end on lesson 00: `course release` with a schedule.toml shows the due date in every language,
then `course grade` with one submission on time, one late and one late with an extension (made from the Korean
release); exact scores in grades.csv and grades-canvas.csv, the note in the feedback HTML in the student's
language, and the student's grades.md."""

import json

import pytest

from course.grading.files import TIMESTAMP
from course.grading.grade import grade
from course.grading.release import release
from course.grading.report import read_late
from course.grading.samples import answer_key, write_submission
from course.grading.schedule import DUE_CELL
from course.languages import LANGUAGES
from tests.grading_helpers import scores

LESSON = "00-orientation"
SCHEDULE = f"""
[late]
policy = "percent-per-day"
percent_per_day = 10
zero_after_days = 3
grace_minutes = 5
[due]
"{LESSON}" = 2026-12-01T23:59:00+09:00   # 14:59 UTC
[extensions.cy]
"{LESSON}" = 2026-12-02T23:59:00+09:00
"""
STAMPS = {
    "ada": "2026-12-01 15:03:59.999999 UTC",  # inside the grace: on time
    "ben": "2026-12-03 10:00:00.123456 UTC",  # 1 day 18:56 after grace: 2 days late, -20%
    "cy": "2026-12-03 10:00:00.123456 UTC",  # the same time, 1 day late for cy's extended date: -10%
}


@pytest.mark.slow
def test_late_work_and_an_extension_are_scored_exactly(course_copy):
    layout = course_copy([LESSON], released=False)
    (layout.root / "schedule.toml").write_text(SCHEDULE)
    release(layout.root)
    shown = {"en": "**Due 2026-12-01 23:59 +09:00.**", "ko": "**마감: 2026-12-01 23:59 +09:00.**", "ja": "締め切り"}
    for lang in LANGUAGES:
        folder = layout.release_dir(LESSON) if lang == "en" else layout.translated_release_dir(LESSON, lang)
        cells = json.loads((folder / f"{LESSON}.ipynb").read_text(encoding="utf-8"))["cells"]
        assert cells[1]["id"] == DUE_CELL and shown[lang] in "".join(cells[1]["source"]), lang
        assert "| --- | --- |\n| 00-orientation | 2026-12-01 23:59 +09:00 |" in "".join(cells[1]["source"])
    (layout.root / "roster.csv").write_text(
        "id,name,section,sis_user_id,sis_login_id\n"
        "cy,Cy Young,B,S003,cy@uni.example\n"
        "ada,Ada L,A,S001,ada@uni.example\n"
    )
    for student, stamp in STAMPS.items():
        language = "ko" if student == "cy" else "en"
        folder = write_submission(layout, student, LESSON, None, answer_key(layout, LESSON), language)  # 3 of 3
        (folder / TIMESTAMP).write_text(stamp)

    result = grade(layout.root)

    assert not result.failures
    assert scores(layout.grades_csv) == {
        (LESSON, "ada"): (3.0, 3.0),
        (LESSON, "ben"): (pytest.approx(2.4), 3.0),
        (LESSON, "cy"): (pytest.approx(2.7), 3.0),
    }
    assert read_late(layout.grades_csv) == {
        (LESSON, "ada"): (3.0, 0.0, 0),
        (LESSON, "ben"): (3.0, pytest.approx(0.6), 2),
        (LESSON, "cy"): (3.0, pytest.approx(0.3), 1),
    }
    assert layout.grades_canvas_csv.read_text().splitlines() == [
        f"Student,ID,SIS User ID,SIS Login ID,Section,{LESSON} ({LESSON})",
        "Points Possible,,,,,3",
        "Cy Young,,S003,cy@uni.example,B,2.7",
        "Ada L,,S001,ada@uni.example,A,3",
        "ben,,,ben,,2.4",
    ]
    ben = (layout.feedback_dir("ben", LESSON) / f"{LESSON}.html").read_text()
    assert (
        "Submitted 2 days after the due date 2026-12-01 23:59 +09:00 (extension: no); "
        "late policy 10% per day, 0 after 3 days: −0.6 of 3.0 points." in ben
    )
    cy = (layout.feedback_dir("cy", LESSON) / f"{LESSON}.html").read_text()
    assert "마감 2026-12-02 23:59 +09:00보다 1일 늦게 제출했습니다(기한 연장: 있음)" in cy
    ada = (layout.feedback_dir("ada", LESSON) / f"{LESSON}.html").read_text()
    assert "Submitted on time (due 2026-12-01 23:59 +09:00; extension: no)." in ada
    assert f"| {LESSON} | 2.4 | 3 | 2 | −0.6 |" in (layout.feedback_dir("ben", LESSON) / "grades.md").read_text()
    assert result.notes[(LESSON, "ben")][-1].startswith("Submitted 2 days after")
