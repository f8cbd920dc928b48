"""Lesson 02 §1: computed and published sizes, and the lesson's plots."""

from course.lessons.slm import fit, speed, tokens
from course.lessons.slm import sizes as slm_sizes
from course.text.passages import load_all

TEXTS = load_all("slm-on-a-laptop")


def test_size_table_matches_cards_within_one_percent():
    rows = slm_sizes.size_table()
    assert len(rows) == 9
    assert all(abs(row.relative_error) < 0.01 for row in rows)
    moe = {row.name: row for row in rows}["mixtral-8x7b"]
    assert moe.active < moe.total / 3


def test_plots_draw(monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    slm_sizes.plot_sizes(slm_sizes.size_table())
    slm_sizes.plot_breakdown(["llama-3.2-1b", "mixtral-8x7b"])
    ax = fit.plot_memory(["llama-3.2-1b", "mistral-7b"], 8, 4096)
    assert len(ax.patches) == 2 * len(fit.PRECISIONS)
    tokens.plot_tokens(tokens.token_counts(TEXTS, ["tekken"]), {"en": "English", "ko": "Korean", "ja": "Japanese"})
    speed.plot_speed([speed.SpeedResult("mistral-7b", "small", 1000, 10.0, 1.0)])
    explorer = fit.memory_explorer(["llama-3.2-1b"])
    assert explorer.children  # sliders and output
