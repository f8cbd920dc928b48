import pytest

from course.lessons.prompting.prompts import Example, few_shot_prompt, support_task, tuned_prompt, with_examples
from course.references.prompting import three_c_prompt
from course.text.tokenizers import count_tokens


def build_prompt(instruction, query, context="", constraints=(), examples=()):
    """The lesson's few-shot layout: the reference 3C prompt with solved examples before the input."""
    return with_examples(three_c_prompt(instruction, query, context, constraints), examples)


def test_build_prompt_full_layout():
    prompt = build_prompt(
        " Sort the ticket. ",
        "My card was refused.",
        context="We sell notebooks.",
        constraints=["One word.", " No apology. "],
        examples=[Example("App froze.", "bug")],
    )
    assert prompt == (
        "Sort the ticket.\n\n"
        "Context: We sell notebooks.\n\n"
        "Constraints:\n- One word.\n- No apology.\n\n"
        "Input: App froze.\nOutput: bug\n\n"
        "Input: My card was refused.\nOutput:"
    )


def test_build_prompt_leaves_out_empty_sections():
    assert build_prompt("Sort the ticket.", "Hi") == "Sort the ticket.\n\nInput: Hi\nOutput:"
    assert "Context" not in build_prompt("Do it.", "x", context="  ", constraints=["Be brief."])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"instruction": " "}, "clarity"),
        ({"query": ""}, "query"),
        ({"constraints": ["ok", " "]}, "constraint"),
    ],
)
def test_build_prompt_refuses_missing_parts(kwargs, message):
    args = {"instruction": "Do it.", "query": "x"} | kwargs
    with pytest.raises(ValueError, match=message):
        build_prompt(**args)


def test_support_task_is_consistent():
    task = support_task()
    assert len(task.labels) == 4
    assert {e.label for e in task.examples} == set(task.labels)
    assert all(e.label in task.labels for e in task.incoming)
    assert all(label in task.constraints[0] for label in task.labels)


def test_more_shots_cost_more_tokens():
    task = support_task()
    query = task.incoming[0].text
    prompts = [few_shot_prompt(task, query, k, three_c_prompt) for k in range(len(task.examples) + 1)]
    counts = [count_tokens(prompt, "tekken") for prompt in prompts]
    assert all(a < b for a, b in zip(counts, counts[1:], strict=False))
    assert count_tokens(tuned_prompt(query, three_c_prompt), "tekken") < counts[0]
    assert query in tuned_prompt(query, three_c_prompt)
    with pytest.raises(ValueError, match="shots"):
        few_shot_prompt(task, query, len(task.examples) + 1, three_c_prompt)
