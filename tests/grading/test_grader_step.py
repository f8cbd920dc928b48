"""An exercise's grader step runs in the grader's process on what the kernel handed back, for the reference and
for the student alike; whatever the kernel hands back, the step's outcome is an observation, never a crash."""

from course.grading.drivers import step_in_grader
from course.grading.values import encode
from course.references import exercises

STEP = "course.lessons.edge.drivers:modelfile_parsed"  # a step that parses a Modelfile's text
CASE = encode({"gguf_file": "x.gguf", "instruction": "Say this .", "prompts": ["red cat"]})


def test_the_step_makes_the_observation_from_handed_back_data():
    from course.references.edge import modelfile

    seen = step_in_grader(STEP, CASE, encode({"text": modelfile("x.gguf", "Say this .")}))
    assert seen["from"] == "./x.gguf" and seen["temperature"] == [0.0] and seen["text"] is True


def test_reports_and_unreadable_data_are_observations_not_crashes():
    assert step_in_grader(STEP, CASE, encode({"__raised__": "ValueError"})) == {"__raised__": "ValueError"}
    assert step_in_grader(STEP, CASE, encode(["not", "a", "dict"])) == {"text": False}
    assert step_in_grader(STEP, encode([1, 2]), encode({"text": "FROM ./x"}))["__raised__"] == "TypeError"


def test_a_check_applies_the_step_to_the_reference_and_to_the_student():
    exercise = exercises("06-edge-deployment")["test-modelfile"]
    check = exercise.check(3)
    assert check.grader_step == STEP
    honest = [encode({"text": exercise.reference(**_args(case))}) for case in check.cases]
    assert check.verdict(honest)[0]
    assert not check.verdict([encode({"text": "FROM ./x.gguf"}) for _ in check.cases])[0]


def _args(case):
    from course.grading.values import decode

    inputs = decode(case)
    return {"gguf_file": inputs["gguf_file"], "instruction": inputs["instruction"]}
