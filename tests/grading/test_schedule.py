"""schedule.toml: parsing, every bad-input error, and the late-penalty arithmetic at its boundaries."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from course.grading.nbgrader_runner import CourseError
from course.grading.schedule import LatePolicy, Schedule, late_note, parse_schedule, parse_timestamp

LESSONS = ["00-orientation", "01-beyond-the-prompt"]
TOML = """
[late]
policy = "percent-per-day"
percent_per_day = 10
zero_after_days = 3
grace_minutes = 5
[due]
"00-orientation" = 2026-12-01T23:59:00+09:00
"01-beyond-the-prompt" = "2026-12-08T23:59:00Z"
[extensions.ada]
"01-beyond-the-prompt" = 2026-12-10T23:59:00+09:00
"""
DUE = datetime(2026, 12, 1, 23, 59, tzinfo=timezone(timedelta(hours=9)))


def test_the_example_shape_is_read():
    schedule = parse_schedule(TOML, LESSONS)
    assert schedule.late == LatePolicy("percent-per-day", 10.0, 3, 5.0)
    assert schedule.due["00-orientation"] == DUE
    assert schedule.due["01-beyond-the-prompt"] == datetime(2026, 12, 8, 23, 59, tzinfo=UTC)
    assert schedule.extensions["ada"]["01-beyond-the-prompt"].utcoffset() == timedelta(hours=9)


def test_an_empty_schedule_means_nothing_is_due():
    schedule = parse_schedule("", LESSONS)
    assert schedule == Schedule()
    assert schedule.lateness("00-orientation", "ada", datetime(2030, 1, 1, tzinfo=UTC)) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[due]\n"99-nope" = 2026-12-01T23:59:00Z', "schedule.toml [due] '99-nope': unknown lesson"),
        (
            '[due]\n"00-orientation" = "next tuesday"',
            "schedule.toml [due] '00-orientation': cannot read 'next tuesday'",
        ),
        (
            '[due]\n"00-orientation" = 2026-12-01T23:59:00',
            "schedule.toml [due] '00-orientation': 2026-12-01T23:59:00 has no timezone",
        ),
        ('[due]\n"00-orientation" = 2026-12-01', "schedule.toml [due] '00-orientation': 2026-12-01 has no time of day"),
        ('[late]\npolicy = "halve"', "schedule.toml [late] policy: unknown policy 'halve'"),
        ("[late]\npercent_per_day = -1", "schedule.toml [late] percent_per_day: -1 is not a number of at least 0"),
        ("[late]\nzero_after_days = 1.5", "schedule.toml [late] zero_after_days: 1.5 is not a whole number"),
        ("[late]\ngrace = 5", "schedule.toml [late]: unknown key 'grace'"),
        ("[deadlines]\nx = 1", "schedule.toml: unknown section [deadlines]"),
        (
            '[extensions.ben]\n"99-nope" = 2026-12-01T23:59:00Z',
            "schedule.toml [extensions.ben] '99-nope': unknown lesson",
        ),
        ('[due]\n"00-orientation" = 5', "schedule.toml [due] '00-orientation': 5 is not a date and time"),
        ("[due\n", "schedule.toml: not valid TOML"),
    ],
)
def test_bad_input_is_one_line_naming_file_and_key(text, message):
    with pytest.raises(CourseError) as err:
        parse_schedule(text, LESSONS)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def _late(policy: LatePolicy, after: timedelta, student: str = "ben"):
    schedule = Schedule(policy, {"00-orientation": DUE}, {"ada": {"00-orientation": DUE + timedelta(days=2)}})
    return schedule.lateness("00-orientation", student, DUE + after)


PERCENT = LatePolicy("percent-per-day", 10, 3, 5)


@pytest.mark.parametrize(
    ("after", "days", "fraction"),
    [
        (timedelta(hours=-1), 0, 0.0),  # early
        (timedelta(0), 0, 0.0),  # exactly on time
        (timedelta(minutes=5), 0, 0.0),  # the last second of grace
        (timedelta(minutes=5, seconds=1), 1, 0.1),  # 1 s after grace: a started day
        (timedelta(days=1, minutes=5), 1, 0.1),  # a whole day after grace
        (timedelta(days=1, minutes=5, seconds=1), 2, 0.2),
        (timedelta(days=3, minutes=5), 3, 0.3),  # the last day before zero
        (timedelta(days=3, minutes=5, seconds=1), 4, 1.0),  # later than zero_after_days: 0 points
    ],
)
def test_percent_per_day_at_the_boundaries(after, days, fraction):
    late = _late(PERCENT, after)
    assert (late.days_late, late.fraction) == (days, pytest.approx(fraction))


def test_percent_never_takes_more_than_the_score():
    late = _late(LatePolicy("percent-per-day", 40, None, 0), timedelta(days=5))
    assert (late.days_late, late.fraction, late.penalty(20.0)) == (5, 1.0, 20.0)


@pytest.mark.parametrize(("after", "fraction"), [(timedelta(days=2), 0.0), (timedelta(days=2, seconds=1), 1.0)])
def test_zero_after(after, fraction):
    assert _late(LatePolicy("zero-after", 0, 2, 0), after).fraction == fraction


def test_policy_none_records_lateness_but_takes_nothing():
    late = _late(LatePolicy("none", 10, 1, 0), timedelta(days=4))
    assert (late.days_late, late.fraction) == (4, 0.0)


def test_an_extension_moves_the_due_date_for_that_student_only():
    after = timedelta(days=1, hours=1)
    assert (_late(PERCENT, after, "ben").days_late, _late(PERCENT, after, "ben").extension) == (2, False)
    ada = _late(PERCENT, after, "ada")
    assert (ada.days_late, ada.extension, ada.due) == (0, True, DUE + timedelta(days=2))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-24 22:49:41.123456 UTC", datetime(2026, 11, 24, 22, 49, 41, 123456, tzinfo=UTC)),
        ("2026-11-24 22:49:41 UTC", datetime(2026, 11, 24, 22, 49, 41, tzinfo=UTC)),
        ("2026-11-24 22:49:41.123456", datetime(2026, 11, 24, 22, 49, 41, 123456, tzinfo=UTC)),  # naive: UTC
        ("2026-11-24T22:49:41Z", datetime(2026, 11, 24, 22, 49, 41, tzinfo=UTC)),
        ("2026-11-25 07:49:41+09:00", datetime(2026, 11, 24, 22, 49, 41, tzinfo=UTC)),
        ("", None),
        (None, None),
    ],
)
def test_nbgrader_timestamps_are_read(text, expected):
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "2026-11-24", "2026-11-24 22:49:41 PST", "2026-13-24 22:49:41"])
def test_other_timestamps_are_refused(text):
    with pytest.raises(ValueError):
        parse_timestamp(text)


def test_the_note_says_days_due_date_extension_policy_and_points():
    late = Schedule(LatePolicy("percent-per-day", 10), {"00-orientation": DUE}).lateness(
        "00-orientation", "ben", DUE + timedelta(days=1, hours=2)
    )
    assert late_note(late, LatePolicy("percent-per-day", 10), 20.0, late.penalty(20.0)) == (
        "Submitted 2 days after the due date 2026-12-01 23:59 +09:00 (extension: no); "
        "late policy 10% per day: −4.0 of 20.0 points."
    )


def test_the_note_is_said_in_the_students_language():
    policy = LatePolicy("percent-per-day", 10, zero_after_days=1)
    late = Schedule(policy, {"00-orientation": DUE}).lateness("00-orientation", "ben", DUE + timedelta(hours=2))
    note = late_note(late, policy, 20.0, late.penalty(20.0))
    assert note == (
        "Submitted 1 day after the due date 2026-12-01 23:59 +09:00 (extension: no); "
        "late policy 10% per day, 0 after 1 day: −2.0 of 20.0 points."
    )
    assert note.in_language("ko") == (
        "마감 2026-12-01 23:59 +09:00보다 1일 늦게 제출했습니다(기한 연장: 없음). "
        "지각 규정 하루에 10%, 1일이 지나면 0점에 따라 20.0점 중 2.0점을 감점했습니다."
    )
    assert "1日遅れて" in note.in_language("ja") and "1日につき10%" in note.in_language("ja")
