"""`course prepare` and the layered course cache: shared artefacts are built once, into the cache given, and read
from it; a read-only cache sends a student's own builds to their personal cache; where a shared artefact is
missing and cannot be built (the references are hidden), the lesson says whom to ask."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from course import cache, prepare
from course.fallback import NotPrepared
from course.grading.cli import main
from tests import prepare_fakes


@pytest.fixture(autouse=True)
def suite_cache_kept(monkeypatch):
    """`course prepare --cache` points $COURSE_CACHE_DIR at its folder for the rest of its process; called here, the
    tests after it in this worker must still read the suite's cache."""
    monkeypatch.setenv("COURSE_CACHE_DIR", os.environ["COURSE_CACHE_DIR"])


@pytest.fixture()
def two_artefacts(monkeypatch):
    """A registry of two cheap artefacts in place of the lessons' models; the builds it ran."""
    built = []

    def builder(name):
        def build(folder: Path) -> None:
            built.append(name)
            (folder / "weights.txt").write_text(name)

        return lambda: cache.cached_folder(name, build)

    monkeypatch.setattr(
        prepare,
        "artefacts",
        lambda: [
            prepare.Artefact("model-a-v1", ("01-beyond-the-prompt",), builder("model-a-v1")),
            prepare.Artefact("model-b-v1", ("05-fine-tuning-and-peft",), builder("model-b-v1")),
        ],
    )
    return built


def test_prepare_builds_what_is_missing_once(two_artefacts, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    first = prepare.prepare(progress=False)
    assert list(first.built) == ["model-a-v1", "model-b-v1"] and first.present == []
    assert (tmp_path / "model-a-v1" / "weights.txt").read_text() == "model-a-v1"
    again = prepare.prepare(progress=False)
    assert again.built == {} and again.present == ["model-a-v1", "model-b-v1"]
    assert two_artefacts == ["model-a-v1", "model-b-v1"], "a second prepare builds nothing"
    assert "already had all 2" in again.summary()


def test_prepare_for_some_lessons_builds_only_what_they_read(two_artefacts, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    assert [a.name for a in prepare.missing(["05-fine-tuning-and-peft"])] == ["model-b-v1"]
    assert list(prepare.prepare(["05-fine-tuning-and-peft"], progress=False).built) == ["model-b-v1"]
    assert prepare.missing(["05-fine-tuning-and-peft"]) == [] and prepare.missing() != []


def test_the_command_fills_the_cache_it_is_given_and_says_what_it_built(two_artefacts, tmp_path, capsys):
    assert main(["prepare", "--jobs", "1", "--cache", str(tmp_path / "shared")]) == 0  # fakes live in this process
    said = capsys.readouterr().out
    assert said.startswith("course prepare: built 2 shared artefact(s) into") and str(tmp_path / "shared") in said
    assert main(["prepare", "--jobs", "1", "--cache", str(tmp_path / "shared")]) == 0
    assert "already had all 2 shared artefacts" in capsys.readouterr().out


def test_a_cache_nobody_can_write_is_one_line_and_a_failed_command(two_artefacts, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path / "no-home-file"))
    (tmp_path / "no-home-file").write_text("")  # neither cache can be created under a file
    assert main(["prepare", "--jobs", "1", "--cache", str(tmp_path / "no-home-file" / "cache")]) == 2
    said = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress bar
    assert said.startswith("course: error: The course cache (") and said.endswith("to a folder you own.")
    assert str(tmp_path / "no-home-file" / "cache") in said


def test_builds_run_side_by_side_in_their_own_processes_each_after_what_it_needs(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv(prepare_fakes.MARKS, str(tmp_path / "marks"))
    monkeypatch.setattr(prepare, "artefacts", prepare_fakes.artefacts)
    result = prepare.prepare(progress=False, jobs=2)  # a and c wait for each other: one at a time would fail
    assert set(result.built) == {"fake-a-v1", "fake-b-v1", "fake-c-v1"} and result.present == []
    assert list(result.built).index("fake-a-v1") < list(result.built).index("fake-b-v1")
    pids = {name: (tmp_path / "cache" / name / "pid").read_text() for name in result.built}
    assert pids["fake-a-v1"] != pids["fake-c-v1"] and str(os.getpid()) not in pids.values()
    again = prepare.prepare(progress=False, jobs=2)
    assert again.built == {} and sorted(again.present) == sorted(result.built)


def test_a_build_that_fails_in_its_process_is_one_line_and_a_failed_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(prepare, "artefacts", prepare_fakes.broken_artefacts)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert main(["prepare", "--jobs", "2", "--cache", str(tmp_path / "cache")]) == 2
    said = capsys.readouterr().err.strip().splitlines()[-1]
    assert said == "course: error: The fake artefact cannot be built: ask your instructor to run `course prepare`."
    assert not (tmp_path / "cache" / "fake-broken-v1").exists()


@pytest.mark.parametrize("jobs", ["0", "-1", "two"])
def test_jobs_must_be_a_whole_number_of_at_least_one(jobs, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["prepare", "--jobs", jobs])
    assert exited.value.code == 2 and "--jobs" in capsys.readouterr().err


def test_a_read_only_course_cache_is_read_and_own_builds_go_to_the_personal_cache(tmp_path, monkeypatch):
    shared = tmp_path / "shared-file"
    shared.write_text("")  # a course cache that cannot be written (even by root): a path under a file
    monkeypatch.setenv("COURSE_CACHE_DIR", str(shared / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    folder = cache.cached_folder("my-run-v1", lambda f: (f / "log.json").write_text("{}"))
    assert folder == tmp_path / "home" / ".cache" / "beyond-prompting" / "my-run-v1"
    assert cache.find("my-run-v1") == folder


def test_lesson_05s_models_say_whom_to_ask_when_unprepared_and_references_are_hidden(tmp_path, monkeypatch):
    from course.lessons.finetune import task_model

    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    monkeypatch.setitem(sys.modules, "course.references", None)  # hidden, as for a hub's student or a sandbox
    for build in (task_model.base_model_folder, task_model.task_model_folder):
        with pytest.raises(NotPrepared, match=r"ask your instructor to run `course prepare`") as raised:
            build()
        assert len(str(raised.value).split(". ")) <= 2, "one sentence, and what to do"
    assert list(tmp_path.iterdir()) == [], "nothing half-built is left"


def test_every_shared_artefact_is_named_once_and_read_by_a_lesson():
    from course.references import LESSON_MODULES

    names = [a.name for a in prepare.artefacts()]
    assert len(names) == len(set(names)) == len(prepare.shared_names())
    assert all(set(a.lessons) <= set(LESSON_MODULES) and a.lessons for a in prepare.artefacts())


def test_checking_the_cache_before_grading_imports_no_torch(tmp_path):
    """Every `course grade` run looks up each shared artefact's cache name first (``missing``, ``shared_names``):
    the names are plain constants, so the lookup costs no torch import (seconds on each run)."""
    probe = (
        "import sys, course.grading.cli, course.grading.grade; from course import prepare; "
        "assert prepare.missing() and prepare.shared_names(); "
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    env = {**os.environ, "COURSE_CACHE_DIR": str(tmp_path), "HOME": str(tmp_path / "home")}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_smollm2s_conversion_is_prepared_for_lessons_01_and_02_and_a_missing_file_is_one_line(
    tmp_path, monkeypatch, capsys
):
    from course.models import smollm2

    readers = [a.lessons for a in prepare.artefacts() if a.name == smollm2.CACHE_NAME]
    assert readers == [("01-beyond-the-prompt", "02-small-language-models")]
    monkeypatch.setitem(sys.modules, smollm2.PACKAGE, None)  # the wheel is not installed
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    command = ["prepare", "--jobs", "1", "--lesson", "02-small-language-models", "--cache", str(tmp_path / "cache")]
    assert main(command) == 2  # in this process, where the wheel is hidden
    said = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress bar
    assert said.startswith("course: error: The SmolLM2-135M-Instruct model file is not installed: run `make venv`")
    assert not (tmp_path / "cache" / smollm2.CACHE_NAME).exists()
