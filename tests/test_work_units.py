"""How the lanes share tests among pytest-xdist workers (tests/conftest.py): a file's tests go to one worker, so its
shared fixtures are built once; the two files that share the graded class go together; notebook runs spread."""

from tests.conftest import LONGEST_FIRST, ROOT, SHARED_UNITS, longest_first, work_unit


def test_a_files_tests_are_one_unit():
    assert work_unit("tests/e2e/test_browser.py::test_student_loop_in_jupyterlab[05]") == "tests/e2e/test_browser.py"
    assert work_unit("tests/e2e/test_browser.py::test_a_lesson_reads_in_its_language[ko]") == work_unit(
        "tests/e2e/test_browser.py::test_student_loop_in_jupyterlab[00]"
    )
    assert work_unit("tests/lessons/slm/test_fit.py::test_x") != work_unit("tests/lessons/slm/test_sizes.py::test_x")


def test_the_graded_class_is_built_once_for_the_hostile_and_queue_tests():
    hostile = work_unit("tests/e2e/test_grading_hostile.py::test_every_submission_gets_exactly_its_honest_score")
    assert hostile == work_unit("tests/e2e/test_queue_grading.py::test_grades_are_those_of_local_grading")


def test_notebook_runs_spread_over_the_workers():
    first = "tests/e2e/test_notebooks_execute.py::test_source_notebook_runs_with_solutions[00-orientation-en]"
    second = "tests/e2e/test_notebooks_execute.py::test_source_notebook_runs_with_solutions[05-fine-tuning-and-peft-en]"
    assert work_unit(first) == first and work_unit(second) == second


def test_the_longest_units_go_first_and_every_unit_stays_whole_and_in_order():
    nodeids = [
        "tests/grading/test_cli.py::test_a",
        "tests/e2e/test_grading_roundtrip.py::test_all",
        "tests/grading/test_cli.py::test_b",
        "tests/e2e/test_queue_grading.py::test_q",
        "tests/e2e/test_browser.py::test_one",
        "tests/e2e/test_grading_hostile.py::test_h",
        "tests/e2e/test_browser.py::test_two",
        "tests/e2e/test_notebooks_execute.py::test_source_notebook_runs_with_solutions[00-orientation-en]",
    ]
    assert longest_first(nodeids) == [
        "tests/e2e/test_queue_grading.py::test_q",  # the graded class: the queue and hostile tests together
        "tests/e2e/test_grading_hostile.py::test_h",
        "tests/e2e/test_browser.py::test_one",
        "tests/e2e/test_browser.py::test_two",
        "tests/e2e/test_grading_roundtrip.py::test_all",
        "tests/grading/test_cli.py::test_a",  # then the rest, in collection order
        "tests/grading/test_cli.py::test_b",
        "tests/e2e/test_notebooks_execute.py::test_source_notebook_runs_with_solutions[00-orientation-en]",
    ]


def test_every_unit_named_longest_first_exists():
    for unit in LONGEST_FIRST:
        assert unit in SHARED_UNITS.values() or (ROOT / unit).is_file(), f"{unit}: no such unit; update LONGEST_FIRST"
