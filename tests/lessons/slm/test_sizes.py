"""Lesson 02 §1: computed and published sizes, and the lesson's plots."""

from course.lessons.slm import sizes as slm_sizes
from course.lessons.slm import tokens
from course.text.parallel import quiz_prompts

TEXTS = quiz_prompts(["02-small-language-models"])


def test_size_table_matches_cards_within_one_percent():
    rows = slm_sizes.size_table()
    assert len(rows) == 9
    assert all(abs(row.relative_error) < 0.01 for row in rows)
    moe = {row.name: row for row in rows}["mixtral-8x7b"]
    assert moe.active < moe.total / 3


def test_the_same_vocabulary_costs_more_parameters_but_a_smaller_share_in_a_wider_model():
    small, wide = slm_sizes.vocabulary_cost(["llama-3.2-1b", "llama-3.2-3b"])
    assert small.vocabulary == wide.vocabulary and small.tied and wide.tied
    assert small.parameters == 128_256 * 2_048 and wide.parameters == 128_256 * 3_072
    assert wide.parameters > small.parameters and wide.share < small.share
    nemo, mistral_small = slm_sizes.vocabulary_cost(["mistral-nemo-12b", "mistral-small"])
    assert nemo.parameters == mistral_small.parameters == 2 * 131_072 * 5_120  # untied: embeddings and head
    assert mistral_small.share < nemo.share


def test_plots_draw(monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    slm_sizes.plot_sizes(slm_sizes.size_table())
    slm_sizes.plot_breakdown(["llama-3.2-1b", "mixtral-8x7b"])
    tokens.plot_tokens(tokens.token_counts(TEXTS, ["tekken"]))
