import pytest

from course.lessons.prompting.spectrum import (
    CHALLENGES,
    COMPARISON,
    FINE_TUNING_STEPS,
    SPECTRUM,
    markdown_table,
    spectrum_table,
)


def test_spectrum_is_ordered_by_cost():
    assert [a.name for a in SPECTRUM][:3] == ["Prompt engineering", "RAG", "Fine-tuning"]
    assert [a.cost for a in SPECTRUM] == sorted({a.cost for a in SPECTRUM})


def test_seven_challenges_each_bite_at_a_process_step():
    assert len(CHALLENGES) == 7
    steps = {name for name, _ in FINE_TUNING_STEPS}
    assert all(c.bites_at in steps for c in CHALLENGES)
    assert {"Overfitting", "Catastrophic forgetting"} <= {c.name for c in CHALLENGES}


def test_markdown_tables():
    table = spectrum_table()
    lines = table.splitlines()
    assert len(lines) == 2 + len(SPECTRUM)
    assert "\\$\\$\\$\\$\\$" in lines[-1] and "Pre-training" in lines[-1]
    assert all(line.count("|") == lines[0].count("|") for line in lines)
    assert markdown_table(["a", "b"], COMPARISON[:0]) == "| a | b |\n| --- | --- |"
    with pytest.raises(ValueError, match="3 cells"):
        markdown_table(["a", "b", "c"], [("x", "y")])
