import json
import multiprocessing
import threading

import pytest

from course.quiz.store import AnswersFileError, read_answers, record_answer, recorded_answer


def test_record_then_read(tmp_path):
    path = tmp_path / "answers.json"
    record_answer("q1", ["b"], path)
    record_answer("q2", ["c", "a"], path)
    assert read_answers(path) == {"q1": ["b"], "q2": ["a", "c"]}
    assert json.loads(path.read_text())["format"] == 1
    assert recorded_answer("q2", path) == {"a", "c"}
    assert recorded_answer("missing", path) == set()


def test_changing_an_answer_replaces_it(tmp_path):
    path = tmp_path / "answers.json"
    record_answer("q1", ["b"], path)
    record_answer("q1", ["d"], path)
    assert read_answers(path) == {"q1": ["d"]}


def test_absent_file_means_no_answers(tmp_path):
    assert read_answers(tmp_path / "answers.json") == {}


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        '{"answers": {"q1": "b"}}',
        "[1, 2]",
        '{"answers": {"q": [1]}}',
        '{"answers": ' + "[" * 100_000 + "]" * 100_000 + "}",  # valid JSON, deeper than Python's parser goes
        '{"answers": {"q1": ["a"], "q1": ["b"]}}',  # which choice counts would be the parser's guess
    ],
    ids=["not-json", "string-choice", "list", "number-option", "deeply-nested", "duplicate-question"],
)
def test_corrupt_file_is_reported_and_kept_aside(tmp_path, content):
    path = tmp_path / "answers.json"
    path.write_text(content)
    with pytest.raises(AnswersFileError, match="answers again"):
        read_answers(path)
    assert recorded_answer("q1", path) == set()
    backup = record_answer("q1", ["a"], path)
    assert backup is not None and backup.read_text() == content, "the damaged file must be kept, not lost"
    assert read_answers(path) == {"q1": ["a"]}


def test_quick_writes_from_threads_never_break_the_file(tmp_path):
    path = tmp_path / "answers.json"
    threads = [threading.Thread(target=record_answer, args=(f"q{i}", ["a"], path)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert read_answers(path) == {f"q{i}": ["a"] for i in range(40)}
    assert [p.name for p in tmp_path.iterdir()] == ["answers.json"], "no temporary files left behind"


def _write_many(path, prefix):
    for i in range(25):
        record_answer(f"{prefix}{i}", ["b"], path)


def test_quick_writes_from_processes_never_lose_an_answer(tmp_path):
    path = tmp_path / "answers.json"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_write_many, args=(path, p)) for p in "xyz"]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert len(read_answers(path)) == 75
