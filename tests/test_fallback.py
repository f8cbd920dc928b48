"""course.fallback: the lesson goes on with the reference while an exercise is a stub, and says so; where the
references cannot be read (a class server, grading) the student is told to write the exercise."""

import sys

import pytest

from course.fallback import yours_or_reference
from course.references.orientation import linear_parameters as reference_count
from tests.conftest import ROOT


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


GRADER_SIDE = ("course/references/", "course/grading/")
STUDENT_SIDE_MAY_IMPORT_REFERENCES = {"course/fallback.py"}  # guarded: it says what to do when they are hidden


def _imports_of_references(path) -> list[int]:
    """Lines of ``path`` that import ``course.references`` (absolutely or relatively)."""
    import ast

    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names = [module] + [f"{module}.{alias.name}" for alias in node.names]
        else:
            continue
        if any(name == "course.references" or name.startswith("course.references.") for name in names):
            lines.append(node.lineno)
    return lines


def test_only_the_grader_side_and_the_fallback_import_the_references():
    """The references are hidden from a class server's students and from the grading sandbox: a lesson helper
    that imports them breaks there (lesson 05's cached models once did)."""
    offenders = {}
    for path in sorted((ROOT / "course").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if (
            relative.startswith(("course/references/", "course/grading/"))
            or relative in STUDENT_SIDE_MAY_IMPORT_REFERENCES
        ):
            continue
        if lines := _imports_of_references(path):
            offenders[relative] = lines
    assert not offenders, f"student-side modules import course.references (file: lines): {offenders}"


def test_the_boundary_check_finds_an_import_of_the_references(tmp_path, monkeypatch):
    planted = ROOT / "course" / "lessons" / "finetune" / "task_model.py"
    assert _imports_of_references(planted) == []
    module = tmp_path / "course" / "lessons" / "x.py"
    module.parent.mkdir(parents=True)
    module.write_text("from ..references.finetune import instruction_labels\nimport course.references\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert _imports_of_references(module) == [1, 2]
