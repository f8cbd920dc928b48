"""Grading's pure parts: quiz keys from grade cells, rebuilding a tampered notebook around the lesson's
trusted cells, reading submission files without trusting them,"""

import json
import os

import pytest

from course.grading import cells as cell_format
from course.grading.cells import quiz_keys
from course.grading.files import parse_answers
from course.grading.files import read_file as _read
from course.grading.rebuild import rebuild
from course.grading.template import CellSpec, NotebookTemplate

QUIZ_SOURCE = (
    f"# Graded from your recorded answer to `q1` when you submit.\n{cell_format.BEGIN_HIDDEN}\n"
    'from course.quiz import recorded_answer\nassert recorded_answer("q1") == {"b"}, "q1: no"\n'
    f"{cell_format.END_HIDDEN}"
)
TEST_SOURCE = f"assert f(1) == 2\n{cell_format.BEGIN_HIDDEN}\nassert f(5) == 6\n{cell_format.END_HIDDEN}"


def test_quiz_keys_read_graded_quiz_cells_only():
    assert quiz_keys(QUIZ_SOURCE) == {"q1": frozenset({"b"})}
    two = (
        'from course.quiz import recorded_answer\nassert recorded_answer("a") == {"x", "y"}\n'
        'assert recorded_answer("b") == set()\n'
    )
    assert quiz_keys(two) == {"a": frozenset({"x", "y"}), "b": frozenset()}
    assert quiz_keys(TEST_SOURCE) == {}
    assert quiz_keys(QUIZ_SOURCE + "\nprint('and something else')") == {}, "a mixed cell runs in the kernel"
    assert quiz_keys("assert recorded_answer(name) == {'b'}") == {}


def _meta(grade_id, **flags):
    return {
        "nbgrader": {
            "grade_id": grade_id,
            "grade": False,
            "solution": False,
            "locked": False,
            "task": False,
            "schema_version": 3,
            **flags,
        }
    }


@pytest.fixture()
def template():
    specs = {
        "quiz-show": CellSpec(
            "quiz-show", "locked", "code", 'ask("x", "q1")', 'ask("x", "q1")', _meta("quiz-show", locked=True)
        ),
        "grade-q1": CellSpec(
            "grade-q1",
            "quiz",
            "code",
            QUIZ_SOURCE,
            "# Graded from your recorded answer",
            _meta("grade-q1", grade=True, locked=True, points=1),
            1.0,
            {"q1": frozenset("b")},
        ),
        "ex-f": CellSpec(
            "ex-f",
            "solution",
            "code",
            "def f(x):\n    raise NotImplementedError()",
            "def f(x):\n    raise NotImplementedError()",
            _meta("ex-f", solution=True),
        ),
        "test-f": CellSpec(
            "test-f",
            "test",
            "code",
            TEST_SOURCE,
            "assert f(1) == 2",
            _meta("test-f", grade=True, locked=True, points=2),
            2.0,
        ),
    }
    cells = [{"cell_type": "markdown", "metadata": {}, "source": "# Lesson"}]
    cells += [{"cell_type": s.cell_type, "metadata": s.metadata, "source": s.released} for s in specs.values()]
    return NotebookTemplate("x", {"kernelspec": {"name": "python3", "display_name": "Python 3"}}, specs, cells)


def _student(template, **changes):
    """The release notebook as a student would submit it: ``changes`` maps grade id -> new source."""
    cells = json.loads(json.dumps(template.cells))
    for cell in cells:
        grade_id = cell_format.grade_id_of(cell)
        if grade_id in changes:
            cell["source"] = changes[grade_id]
    return cells


def _sources(notebook):
    return [(cell_format.grade_id_of(c), c.source) for c in notebook.cells]


def test_an_honest_notebook_is_rebuilt_as_submitted_with_hidden_tests(template):
    cells = _student(template, **{"ex-f": "def f(x):\n    return x + 1"})
    cells.insert(3, {"cell_type": "code", "metadata": {}, "source": "helper = 1"})
    notebook, notes, found = rebuild(template, cells)
    assert found and notes == []
    assert _sources(notebook) == [
        (None, "# Lesson"),
        ("quiz-show", 'ask("x", "q1")'),
        ("grade-q1", QUIZ_SOURCE),
        (None, "helper = 1"),
        ("ex-f", "def f(x):\n    return x + 1"),
        ("test-f", TEST_SOURCE),
    ]
    assert notebook.cells[-1].metadata["nbgrader"]["points"] == 2


def test_edited_unlocked_retyped_or_repointed_cells_are_restored(template):
    cells = _student(template, **{"test-f": "pass"})
    test = cells[-1]
    test["metadata"]["nbgrader"].update(locked=False, points=100)
    cells[2].update(cell_type="markdown")  # the quiz grade cell
    cells[2]["metadata"]["tags"] = ["skip-execution"]
    notebook, notes, _ = rebuild(template, cells)
    by_id = {g: c for g, c in zip([g for g, _ in _sources(notebook)], notebook.cells, strict=True)}
    assert by_id["test-f"].source == TEST_SOURCE and by_id["test-f"].metadata["nbgrader"]["points"] == 2
    assert by_id["grade-q1"].cell_type == "code" and by_id["grade-q1"].metadata == template.specs["grade-q1"].metadata
    assert any("test-f was changed" in n for n in notes)
    assert any("metadata of cell test-f" in n for n in notes) and any("metadata of cell grade-q1" in n for n in notes)


def test_deleted_cells_come_back_and_a_missing_solution_counts_as_unanswered(template):
    cells = [c for c in _student(template) if cell_format.grade_id_of(c) not in ("test-f", "ex-f")]
    notebook, notes, found = rebuild(template, cells)
    assert found
    assert [g for g, _ in _sources(notebook)][-2:] == ["ex-f", "test-f"]
    assert notebook.cells[-2].source == template.specs["ex-f"].released
    assert "The exercise cell ex-f was missing; it was graded as unanswered." in notes
    assert "Cell test-f was missing; it was restored." in notes


def test_duplicates_count_once_and_order_is_the_lessons(template):
    cells = _student(template, **{"ex-f": "def f(x):\n    return 0"})
    second = json.loads(json.dumps(cells[3]))
    second["source"] = "def f(x):\n    return x + 1"
    fake_test = json.loads(json.dumps(cells[4]))
    fake_test["source"] = "pass"
    cells = [cells[0], fake_test, cells[4], cells[3], second, cells[1], cells[2]]  # tests first, quiz last
    notebook, notes, _ = rebuild(template, cells)
    order = _sources(notebook)
    assert [g for g, _ in order if g] == ["quiz-show", "grade-q1", "ex-f", "test-f"]
    assert ("test-f", TEST_SOURCE) in order and ("test-f", "pass") not in order
    assert (None, "def f(x):\n    return x + 1") in order, "a copied solution cell still runs, as plain code"
    assert "Cells were out of order; they were graded in the lesson's order." in notes
    assert any("test-f appeared 2 times" in n for n in notes)


def test_cells_of_another_lesson_or_garbage_are_not_this_lesson(template):
    foreign = [{"cell_type": "code", "metadata": _meta("other-1", grade=True, points=5), "source": "pass"}]
    assert rebuild(template, foreign)[2] is False
    notebook, notes, found = rebuild(
        template,
        [None, {"cell_type": "code", "source": 3}, "x", {"cell_type": "widget", "source": ""}] + _student(template),
    )
    assert found and notes[0] == "4 cell(s) were not valid notebook cells and were ignored."


def test_reading_refuses_links_special_files_and_huge_files(tmp_path):
    (tmp_path / "real.json").write_text("{}")
    os.symlink(tmp_path / "real.json", tmp_path / "link.json")
    os.mkfifo(tmp_path / "pipe.json")
    (tmp_path / "big.json").write_bytes(b"x" * 101)
    assert _read(tmp_path / "real.json", 100) == (b"{}", None)
    assert _read(tmp_path / "missing.json", 100) == (None, None)
    assert _read(tmp_path / "link.json", 100) == (None, "is a link (only regular files are graded)")
    assert _read(tmp_path / "pipe.json", 100) == (None, "is not a regular file")
    assert _read(tmp_path / "big.json", 100) == (None, "is larger than 0.0001 MB")


def test_answers_are_read_strictly(tmp_path):
    scratch = tmp_path / "answers.json"
    assert parse_answers(b'{"format": 1, "answers": {"q1": ["b"]}}', scratch) == ({"q1": ["b"]}, None)
    assert parse_answers(None, scratch) == ({}, None)
    assert parse_answers(b'{"answers": {"q1": "b"}}', scratch)[1].startswith("answers.json does not hold")
    assert parse_answers(b"{nope", scratch) == ({}, "answers.json is not valid JSON")


class _Matched:
    """A check whose verdict is fixed: every case matched (what ``exercise.Check.verdict`` says then)."""

    def verdict(self, observations):
        from course.languages import Said

        return True, Said("grading.all_matched", target="f", total=3)


@pytest.mark.parametrize("lang", ["en", "ko", "ja"])
def test_what_the_student_reads_is_in_the_language_of_their_notebook(template, lang):
    """The feedback's language at unit level (the round trip checks it end to end on two lessons): the language
    recorded in the submitted notebook is read back, and the verdicts, a wrong quiz answer, 'No response.' and
    the grading notes are said in it."""
    from course.grading.notes import add_notes_cell
    from course.grading.rebuild import submission_language
    from course.grading.score import score_notebook
    from course.languages import Said, say

    submitted = {"metadata": {"course": {"language": lang}}, "cells": []}
    assert submission_language(json.dumps(submitted).encode()) == lang
    notebook, _, _ = rebuild(template, _student(template))
    scores, comments = score_notebook(template, notebook, {"q1": ["a"]}, {"test-f": _Matched()}, {}, lang)
    assert scores == {"grade-q1": 0.0, "test-f": 2.0}
    cells = {cell_format.grade_id_of(c): c for c in notebook.cells}
    assert cells["test-f"].outputs[0].text == say("grading.all_matched", lang, target="f", total=3) + "\n"
    assert cells["grade-q1"].outputs[0].evalue == say("grading.quiz_wrong", lang, question="q1")
    assert comments["ex-f"] == say("grading.no_response", lang)
    add_notes_cell(notebook, [Said("grading.no_cells")], lang)
    assert say("grading.no_cells", lang) in "".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    if lang != "en":
        assert say("grading.all_matched", lang, target="f", total=3) != say("grading.all_matched", target="f", total=3)


@pytest.mark.parametrize("metadata", [None, {}, {"course": {"language": "fr"}}, {"course": "ko"}])
def test_a_notebook_of_no_known_language_gets_english_feedback(metadata):
    from course.grading.rebuild import submission_language

    assert submission_language(None if metadata is None else json.dumps({"metadata": metadata}).encode()) == "en"
    assert submission_language(b"not json") == "en"
