"""`course release --to-exchange`, `course collect` and `course return`: one clear line when something is missing.

The whole loop with real Unix users is tests/e2e/test_hub.py."""

from __future__ import annotations

from course.grading.cli import main


def test_no_exchange_folder_is_one_line_before_anything_is_built(tmp_path, capsys, course_copy):
    course = course_copy(["00-orientation"]).root
    missing = tmp_path / "nowhere"
    assert main(["--root", str(course), "release", "--to-exchange", "--exchange", str(missing)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"course: error: No exchange folder at {missing}: create it (deploy/jupyterhub/setup-exchange.sh "
        f"{missing}) or pass --exchange PATH"
    )
    assert not (course / "release" / "00-orientation").exists()
    for command in ("collect", "return"):
        assert main(["--root", str(course), command, "--exchange", str(missing)]) == 2
        assert "No exchange folder at" in capsys.readouterr().err


def test_nothing_to_collect_or_return(tmp_path, capsys, course_copy):
    course = course_copy(["00-orientation"]).root
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    assert main(["--root", str(course), "collect", "--exchange", str(exchange)]) == 2
    assert "Nothing to collect" in capsys.readouterr().err
    (exchange / "beyond-prompting" / "inbound").mkdir(parents=True)
    assert main(["--root", str(course), "collect", "--lesson", "00-orientation", "--exchange", str(exchange)]) == 2
    assert "Nothing collected: no submission of 00-orientation" in capsys.readouterr().err
    assert main(["--root", str(course), "return", "--exchange", str(exchange)]) == 2
    assert "No feedback to return" in capsys.readouterr().err


def test_language_needs_to_exchange(capsys, course_copy):
    course = course_copy(["00-orientation"]).root
    assert main(["--root", str(course), "release", "--language", "ko"]) == 2
    assert "--language goes with --to-exchange" in capsys.readouterr().err


def test_autograded_keeps_nbgraders_bookkeeping_but_no_link(course_copy, tmp_path):
    """`course return` (release_feedback) names feedback by the submission's secret: grading keeps it and the
    timestamp beside the graded notebook, read as plain capped files; a link is not followed."""
    from types import SimpleNamespace

    from course.grading.grade import write_autograded

    layout = course_copy(["00-orientation"])
    for student in ("ada", "eve"):
        folder = layout.submission_dir(student, "00-orientation")
        folder.mkdir(parents=True)
        (folder / "timestamp.txt").write_text("2026-11-24 22:49:41.123456 UTC")
    (layout.submission_dir("ada", "00-orientation") / "submission_secret.txt").write_text("s3cret")
    (tmp_path / "elsewhere").write_text("not the student's")
    (layout.submission_dir("eve", "00-orientation") / "submission_secret.txt").symlink_to(tmp_path / "elsewhere")
    results = [
        SimpleNamespace(student=s, lesson="00-orientation", notebooks={"00-orientation": "{}"}) for s in ("ada", "eve")
    ]
    write_autograded(layout, results)
    ada, eve = (layout.autograded_dir(s, "00-orientation") for s in ("ada", "eve"))
    assert (ada / "submission_secret.txt").read_text() == "s3cret"
    assert (ada / "timestamp.txt").read_text() == "2026-11-24 22:49:41.123456 UTC"
    assert not (eve / "submission_secret.txt").exists() and (eve / "timestamp.txt").exists()


def test_a_submission_is_timed_by_its_arrival_when_its_own_time_is_forged(tmp_path, capsys, course_copy):
    """The student's process writes the time in ``timestamp.txt`` and in the inbound folder's name; a time far
    from the moment the submission reached the exchange's disk is replaced by that moment."""
    import datetime as dt

    from course.grading.schedule import parse_timestamp

    course = course_copy(["00-orientation"]).root
    inbound = tmp_path / "exchange" / "beyond-prompting" / "inbound"
    inbound.mkdir(parents=True)
    now = dt.datetime.now(dt.UTC)
    for student, claimed in (("ada", now), ("eve", now - dt.timedelta(days=3))):
        stamp = claimed.strftime("%Y-%m-%d %H:%M:%S.%f UTC")
        folder = inbound / f"{student}+00-orientation+{stamp}+abc123"
        folder.mkdir()
        (folder / "00-orientation.ipynb").write_text("{}")
        (folder / "timestamp.txt").write_text(stamp)
    argv = ["--root", str(course), "collect", "--lesson", "00-orientation", "--exchange", str(tmp_path / "exchange")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    submitted = course / "submitted"
    honest = parse_timestamp((submitted / "ada" / "00-orientation" / "timestamp.txt").read_text())
    assert abs(honest - now) < dt.timedelta(milliseconds=1)  # within the slack: the student's own time stays
    forged = parse_timestamp((submitted / "eve" / "00-orientation" / "timestamp.txt").read_text())
    assert abs(forged - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    assert "eve 00-orientation: the submission says" in out and "the arrival time counts" in out
    assert "ada 00-orientation" not in out
    # collecting again changes nothing: the retimed submission is not collected anew
    assert main(argv) == 0
    assert "the arrival time counts" not in capsys.readouterr().out
