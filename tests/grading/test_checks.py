"""Checks graded outside the student's process: the value codec, comparisons, verdicts, drivers, the probe and
the run's seed."""

import base64
import json
import random
import types

import numpy as np
import pytest
import torch

from course.grading import checks, drivers, probe, values
from course.grading.exercise import EXACT, UNORDERED, Check, Exercise, call, close
from course.grading.nbgrader_runner import CourseError
from course.references import exercises, reference
from tests.conftest import LAYOUT, LESSONS


def _graded_test_cells(lesson):
    """(grade id, source) of the lesson's graded cells that are not quiz grade cells."""
    from course.grading import cells

    notebook = json.loads(LAYOUT.source_notebook(lesson).read_text())
    return [
        (cells.grade_id_of(c), cells.cell_source(c))
        for c in notebook["cells"]
        if cells.is_graded(c) and not cells.quiz_keys(cells.cell_source(c))
    ]


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        3,
        -2.5,
        float("nan"),
        float("inf"),
        "héllo",
        b"\x00\x01",
        [1, [2, "x"]],
        (1, 2),
        {"a": 1, (1, 2): [3]},
        frozenset({1, 2}),
        1 + 2j,
        types.SimpleNamespace(name="ORT int8", tokens_per_second=3.5),
    ],
)
def test_plain_values_survive_the_round_trip(value):
    back = values.decode(json.loads(json.dumps(values.encode(value))))
    if isinstance(value, float) and value != value:
        assert back != back
    else:
        assert back == value and type(back) is type(value)


def test_arrays_and_tensors_come_back_as_what_they_were():
    array = np.arange(6, dtype=np.int32).reshape(2, 3)
    tensor = torch.arange(6.0).reshape(3, 2)
    encoded = json.loads(json.dumps(values.encode([array, tensor, np.float64(2.5), np.int64(7)])))
    got_array, got_tensor, scalar, integer = values.decode(encoded)
    assert isinstance(got_array, np.ndarray) and got_array.dtype == np.int32 and (got_array == array).all()
    assert isinstance(got_tensor, torch.Tensor) and torch.equal(got_tensor, tensor)
    assert scalar == 2.5 and type(scalar) is float and integer == 7 and type(integer) is int
    as_numpy = values.decode(encoded, tensors=False)[1]
    assert isinstance(as_numpy, np.ndarray) and as_numpy.shape == (3, 2)


def test_objects_of_the_students_own_classes_never_cross_and_liars_are_read_for_what_they_hold():
    class Anything:
        def __eq__(self, other):
            return True

    class Sneaky(int):
        def __eq__(self, other):
            return True

    assert values.encode(Anything()) == {"__unsupported__": "an object of type " + Anything.__qualname__[-100:]}
    assert values.encode(Sneaky(3)) == 3 and type(values.encode(Sneaky(3))) is int
    assert EXACT.differs(8, values.decode(values.encode(Sneaky(0)))) == "the result differs"
    assert "not a plain value" in EXACT.differs(8, values.decode(values.encode(Anything())))
    deep = []
    for _ in range(100):
        deep = [deep]
    assert "__unsupported__" in values.encode(deep)


def test_comparisons_accept_honest_variants_and_refuse_wrong_values():
    assert EXACT.differs(8, 8.0) is None  # a count returned as a float
    assert EXACT.differs([1, 2], (1, 2)) is None
    assert EXACT.differs([1, 2], np.array([1, 2])) is None  # a numpy array for a list
    assert EXACT.differs(0.1 + 0.2, 0.3) is None  # float arithmetic in another order
    assert EXACT.differs(8, 9) and EXACT.differs([1, 2], [2, 1]) and EXACT.differs(True, 1)
    assert UNORDERED.differs([1, 2], [2, 1]) is None and UNORDERED.differs([1, 2], [2, 2])
    assert close(1e-3).differs(np.ones(3), np.ones(3) * 1.0005) is None
    assert "shape" in close().differs(np.ones(3), np.ones((3, 1)))
    assert EXACT.differs({"__raised__": "ValueError"}, {"__raised__": "ValueError"}) is None
    assert "should have raised ValueError" in EXACT.differs({"__raised__": "ValueError"}, 3)
    leaned = {"__raised__": "ModuleNotFoundError", "module": "course.references.orientation"}
    assert "reference solution" in EXACT.differs(3, leaned)


def test_a_verdict_counts_cases_and_never_names_an_expected_value():
    check = Check("g", "f", "call", [{}] * 3, [11, 22, 33])
    assert check.verdict([11, 22, 33]) == (True, check.verdict([11, 22, 33])[1])
    ok, line = check.verdict([11, 0, 33])
    assert not ok and "2 of 3" in line and "22" not in line
    assert not check.verdict(None)[0] and not check.verdict([11])[0]


def test_the_call_driver_observes_results_and_raised_errors_by_their_builtin_class():
    class MyError(ValueError):
        pass

    def picky(x):
        if x < 0:
            raise MyError("negative")
        return x * 2

    assert drivers.observe("call", picky, call(3)) == 6
    assert drivers.observe("call", picky, call(-1)) == {"__raised__": "ValueError"}
    assert drivers.observe("call", None, call(1)) == {"__raised__": "NameError"}
    with pytest.raises(ValueError):
        drivers.resolve("course.references.orientation:linear_parameters")


def test_the_probe_runs_the_students_function_and_blocks_the_references(tmp_path, monkeypatch):
    import sys

    results = tmp_path / "results"
    namespace = {"double": lambda x: 2 * x}
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    grader = probe.ResultsFile(results)  # before the kernel's probe opens it
    probe.install("_probe", str(results), namespace)
    request = {"target": "double", "driver": "call", "cases": [values.encode(call(2)), values.encode(call("ab"))]}
    line = probe.probe_call("_probe", "n1", request)
    encoded = line.split("'")[3]
    namespace["_probe"]("n1", encoded)
    assert grader.read_observations("n1") == [4, "abab"]
    assert grader.read_observations("other") is None
    grader.close()
    assert values.decode(json.loads(base64.b64decode(encoded))["cases"][0]) == {"args": [2], "kwargs": {}}
    with pytest.raises(ModuleNotFoundError, match="not available while grading"):
        __import__("course.references.orientation")


@pytest.mark.parametrize("replace", ["folder", "fifo", "link", "removed"])
def test_the_grader_reads_the_results_file_it_created_whatever_becomes_of_its_path(tmp_path, replace):
    """The student's kernel can replace ``ipc/results`` while the probe runs: the grader reads through its own
    descriptor, so a folder, a named pipe (which would block a reader for ever) or a link changes nothing."""
    import os

    path = tmp_path / "results"
    with probe.ResultsFile(path) as grader:
        kernel = os.open(path, os.O_WRONLY | os.O_APPEND)  # as the probe opens it, before any student code
        path.unlink()
        {
            "folder": path.mkdir,
            "fifo": lambda: os.mkfifo(path),
            "link": lambda: path.symlink_to("/etc/passwd"),
            "removed": lambda: None,
        }[replace]()
        os.write(kernel, b'{"nonce": "n1", "observations": [8]}\n')
        os.close(kernel)
        assert grader.read_observations("n1") == [8]
    if replace != "removed":
        with pytest.raises(OSError):  # never a results file the grader did not create itself
            probe.ResultsFile(path)


def test_the_grader_reads_only_the_end_of_a_huge_results_file(tmp_path):
    with probe.ResultsFile(tmp_path / "results") as grader, (tmp_path / "results").open("a") as kernel:
        kernel.write('{"nonce": "n1", "observations": [1]}\n')
        kernel.write("x" * probe.ResultsFile.READ_BYTES + "\n")
        kernel.flush()
        assert grader.read_observations("n1") is None
        kernel.write('{"nonce": "n1", "observations": [2]}\n')
        kernel.flush()
        assert grader.read_observations("n1") == [2]


class _Color(__import__("enum").Enum):
    RED = 1


# What a student's kernel can hand back once it replaced the probe's encoder: never what encode makes.
MALFORMED = [
    {"__array__": {"kind": "torch", "dtype": "float8_e4m3fn", "shape": [2], "data": [1.0, 2.0]}},
    {"__array__": {"kind": "numpy", "dtype": "int64", "shape": [3, 3], "data": [1, 2]}},
    {"__array__": {"kind": "numpy", "dtype": "int64", "shape": [-1], "data": [1, 2]}},
    {"__array__": {"kind": "numpy", "dtype": "U1000000000", "shape": [9], "data": ["a"] * 9}},
    {"__array__": {"kind": "numpy", "dtype": "f8,f8", "shape": [1], "data": [[1, 2]]}},
    {"__array__": {"kind": "numpy", "dtype": "float64", "shape": [2], "data": [[1], {"__set__": 3}]}},
    {"__array__": [1, 2]},
    {"__array__": {"dtype": "int64"}},
    {"__dict__": [[{"__unsupported__": "an object of type Color"}, 1]]},
    {"__dict__": [[[[1], {"__dict__": []}], 1]]},
    {"__dict__": [[1, 2, 3]]},
    {"__dict__": {"a": 1}},
    {"__set__": [{"__dict__": []}, [1, [2]]]},
    {"__record__": [1, 2]},
    {"__record__": {"__tuple__": [1]}},
    {"__tuple__": {"a": 1}},
    {"__float__": [1]},
    {"__complex__": "1+2j"},
    {"__complex__": [1]},
    {"__bytes__": "!!!"},
    {"__unsupported__": ["x"] * 5},
    {"__mystery__": 1},
    {"a": 1, "b": 2},
    {"__dict__": [["__raised__", ["ValueError"]], ["module", 5]]},
    {"__dict__": [["__unsupported__", "x" * 100_000]]},
    10**400,
    [[[[[]]]]] * 3,
]


@pytest.mark.parametrize("data", MALFORMED, ids=range(len(MALFORMED)))
@pytest.mark.parametrize("expected", [8, [1, 2], {"a": 1}, np.arange(2.0), types.SimpleNamespace(a=np.ones(2))])
def test_anything_a_kernel_hands_back_decodes_and_compares_as_a_wrong_answer_never_an_error(data, expected):
    for tensors in (True, False):
        values.decode(json.loads(json.dumps(data)), tensors=tensors)
    reason = EXACT.differs(expected, values.decode(data, tensors=False))
    assert reason and len(reason) < 400


def test_a_float8_tensor_and_an_enum_key_cross_as_data_the_grader_can_compare():
    float8 = torch.tensor([1.5, 448.0]).to(torch.float8_e4m3fn)
    back = values.decode(json.loads(json.dumps(values.encode(float8))), tensors=False)
    assert back.dtype == np.float32 and back.tolist() == [1.5, 448.0]
    keyed = values.decode(json.loads(json.dumps(values.encode({_Color.RED: 1}))))
    assert EXACT.differs({"RED": 1}, keyed) and EXACT.differs({1: 1}, keyed)
    check = Check("g", "f", "call", [{}] * 2, [8, {"__dict__": [["a", 1]]}])
    assert check.verdict([10**400, {"__dict__": [[{"__unsupported__": "Color"}, 1]]}])[0] is False


def test_a_value_the_grader_cannot_compare_is_a_wrong_answer():
    class Ambiguous:  # stands for anything whose comparison raises
        def __eq__(self, other):
            raise ValueError("truth value of an array is ambiguous")

    assert "could not compare" in EXACT.differs(Ambiguous(), Ambiguous())


# lesson 06's checks export and quantise a tiny model per case: half a minute, so in the slow lane
@pytest.mark.parametrize(
    "lesson",
    [pytest.param(lesson, marks=pytest.mark.slow) if lesson.startswith("06") else lesson for lesson in LESSONS],
)
def test_every_declared_exercise_draws_the_same_cases_from_the_same_seed_and_its_reference_runs(lesson):
    graded = {g for g, _ in _graded_test_cells(lesson)}
    assert set(exercises(lesson)) <= graded, "an exercise names a test cell the lesson does not have"
    for exercise in exercises(lesson).values():
        first, again, other = exercise.draw(1), exercise.draw(1), exercise.draw(2)
        assert first == again and first != other and len(first) >= 5
        expected = exercise.expected(first)
        assert not any(isinstance(e, dict) and "__unsupported__" in e for e in expected)
        assert reference(lesson, exercise.target) is exercise.reference


def test_exercise_draws_edge_cases_first_then_random_ones():
    draw = lambda rng: [call(rng.randint(-9, 9)) for _ in range(3)]  # noqa: E731
    exercise = Exercise("g", "f", 1, "calls it.", "assert f(-1) == 1", abs, draw, [call(0)])
    cases = exercise.draw(5)
    assert cases[0] == values.encode(call(0)) and len(cases) == 4
    rng = random.Random("5:g")
    assert values.decode(cases[1])["args"] == [rng.randint(-9, 9)]
    assert exercise.expected(cases)[0] == 0


def test_the_seed_is_recorded_reused_and_renewed(tmp_path):
    layout = types.SimpleNamespace(grading_seed_file=tmp_path / "grading-seed.json")
    first = checks.run_seed(layout)
    assert checks.run_seed(layout) == first
    assert checks.run_seed(layout, seed=7) == 7 and checks.run_seed(layout) == 7
    assert checks.run_seed(layout, new=True) != 7
    layout.grading_seed_file.write_text("{broken")
    with pytest.raises(CourseError, match="--new-seed"):
        checks.run_seed(layout)
