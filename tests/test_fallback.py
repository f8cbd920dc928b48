"""course.fallback: the lesson goes on with the reference while an exercise is a stub, and says so; where the
references cannot be read (a class server, grading) the student is told to write the exercise."""

import sys

import pytest

from course.fallback import yours_or_reference
from course.references.orientation import linear_parameters as reference_count


def stub(in_features: int, out_features: int, bias: bool = True) -> int:
    raise NotImplementedError()


def test_a_stub_is_replaced_by_the_reference_with_one_note(capsys):
    count = yours_or_reference(stub, "00-orientation", "linear_parameters")
    assert count(3, 2) == reference_count(3, 2) == 8
    assert count(3, 2, bias=False) == 6
    printed = capsys.readouterr().out
    assert printed.count("`linear_parameters` is not written yet") == 1


def test_your_own_function_and_its_errors_are_yours():
    def wrong(in_features, out_features, bias=True):
        return in_features * out_features

    def broken(in_features, out_features, bias=True):
        raise ValueError("my bug")

    assert yours_or_reference(wrong, "00-orientation", "linear_parameters")(3, 2) == 6
    with pytest.raises(ValueError, match="my bug"):
        yours_or_reference(broken, "00-orientation", "linear_parameters")(3, 2)


def test_without_readable_references_the_student_is_told_to_write_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "course.references", None)  # import fails, as for a hub's student
    count = yours_or_reference(stub, "00-orientation", "linear_parameters")
    with pytest.raises(NotImplementedError, match=r"write `linear_parameters` in the exercise above") as raised:
        count(3, 2)
    assert "not available here" in str(raised.value)
    assert capsys.readouterr().out == ""  # no "uses the reference" note: nothing was used
