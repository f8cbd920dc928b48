"""The hostile class of lesson 00 (tests/attacks/) graded in one `course grade` run (the session's shared class,
tests/attacks/graded_class.py): every submission gets exactly its honest score, broken ones are graded with a
reason, nothing of the key reaches feedback, and no student's code touches the network, other students' files,
source/ or the gradebook."""

import json
import os

import pytest

from course.grading import sandbox
from course.grading.layout import CourseLayout
from tests.attacks import FULL, LESSON
from tests.attacks.graded_class import VICTIM
from tests.grading_helpers import assert_feedback_hides_key, scores

# Without the sandbox (no bwrap here), the escape student would wreck the gradebook: only CI insists.
pytestmark = pytest.mark.skipif(
    not sandbox.isolation().available and os.environ.get("CI") != "true",
    reason=f"no sandbox here: {sandbox.isolation().reason}",
)


@pytest.fixture(scope="module")
def graded(graded_class):
    """The shared class (tests/e2e/conftest.py), as this module reads it."""
    return graded_class.course, graded_class.table, graded_class.result, graded_class.received, graded_class.digests


@pytest.mark.slow
def test_every_submission_gets_exactly_its_honest_score(graded):
    course, table, result, _, _ = graded
    grades = scores(course / "grades.csv")
    wrong = {
        a.student: (grades.get((LESSON, a.student)), a.expected)
        for a in table
        if grades.get((LESSON, a.student)) != (a.expected, 3.0)
    }
    assert not wrong, f"(got, honest) per student: {wrong}"
    assert grades[(LESSON, VICTIM)] == (FULL, FULL), "the queue test's victim is honest when nobody kills it"
    assert "warning" not in result.stderr, result.stderr[-2000:]


@pytest.mark.slow
def test_resource_attacks_leave_nothing_behind(graded_class):
    """The fork bomb, the memory hog and the disk filler (graded beside others, two at a time) got their honest
    scores above; no process of any kernel, and no file of any run folder, outlives the run."""
    assert {"fork-bomb", "memory-hog", "disk-filler"} <= {a.student for a in graded_class.table}
    assert graded_class.leftovers == ([], [])


@pytest.mark.slow
def test_broken_submissions_are_graded_with_a_reason_in_their_feedback(graded):
    course = graded[0]
    reasons = {
        "invalid-json": "is not valid JSON",
        "missing-notebook": "was not submitted",
        "other-lesson": "another lesson",
        "folder-link": "is a link",
        "answers-link": "is a link",
        "broken-answers": "answers.json is not valid JSON",
        "kernel-exit": "The kernel stopped",
        "infinite-loop": "ran past its time limit",
        "huge-output": "printed too much",
        "shadow-modules": "were not used: <code>course</code>, <code>torch.py</code>",
        "delete-test-cell": "was missing; it was restored",
        "tamper-test-cell": "was changed",
        "answers-deep": "answers.json is not valid JSON",
        "answers-duplicate": "more than once",
        "answers-wrong-types": "does not hold quiz answers",
    }
    for student, reason in reasons.items():
        page = _feedback(course, student)
        assert "Grading notes" in page and reason in page, student


@pytest.mark.slow
def test_a_checked_exercise_says_in_one_line_how_it_did(graded):
    course = graded[0]
    lines = {
        "honest-full": "matched the reference on all",
        "hard-coded": "matched the reference on",
        "reach-reference": "reference solution, which is not available while grading",
        "honest-blank": "not written yet (NotImplementedError)",
    }
    for student, line in lines.items():
        assert line in _feedback(course, student), student


def _feedback(course, student: str) -> str:
    """The student's feedback page, as HTML text."""
    return (CourseLayout.load(course).feedback_dir(student, LESSON) / f"{LESSON}.html").read_text()


@pytest.mark.slow
def test_feedback_never_shows_the_key(graded):
    course = graded[0]
    assert_feedback_hides_key(course, LESSON)
    layout = CourseLayout.load(course)
    key = json.loads(layout.answer_key_file(LESSON).read_text())["answers"]
    hidden_line = 'recorded_answer("score-a-submission") == {"c"}'
    for page in layout.feedback.glob(f"*/{LESSON}/*.html"):
        text = page.read_text()
        assert hidden_line not in text and hidden_line.replace('"', "&quot;") not in text, page
        assert "BEGIN HIDDEN TESTS" not in text, page
    assert key == {"score-a-submission": ["c"]}


@pytest.mark.slow
def test_student_code_reaches_no_network_and_changes_no_other_file(graded):
    course, _, _, received, digests = graded
    assert received == [], "a student's code reached a server on the grading machine"
    for path, (before, after) in digests.items():
        assert before == after, f"{path} changed while grading"
    layout = CourseLayout.load(course)
    # besides the graded notebooks only nbgrader's bookkeeping (read capped, never a link; `course return` needs it)
    bookkeeping = {"timestamp.txt", "submission_secret.txt"}
    shipped = [p for p in layout.autograded.rglob("*") if p.is_file() and p.suffix != ".ipynb"]
    assert [p for p in shipped if p.name not in bookkeeping] == [], "never files a student shipped"
    assert not [p for p in shipped if p.is_symlink()]
    escape = json.loads((layout.autograded_dir("escape", LESSON) / f"{LESSON}.ipynb").read_text())
    printed = "".join(
        o.get("text", "") if isinstance(o.get("text"), str) else "".join(o.get("text", []))
        for c in escape["cells"]
        if c["cell_type"] == "code"
        for o in c.get("outputs", [])
    )
    assert "WROTE" not in printed and "SENT" not in printed and "no network" in printed


@pytest.mark.slow
def test_one_submission_per_student_in_the_gradebook(graded):
    course, table, _, _, _ = graded
    from nbgrader.api import Gradebook

    layout = CourseLayout.load(course)
    with Gradebook(layout.default_db_url, layout.course_id) as gradebook:
        submissions = [s.student.id for s in gradebook.assignment_submissions(LESSON)]
    assert sorted(submissions) == sorted([a.student for a in table] + [VICTIM])
