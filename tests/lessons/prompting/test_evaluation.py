import matplotlib
import pytest

from course.lessons.prompting import evaluation as e
from course.lessons.prompting import helpdesk as h
from course.lessons.prompting import model as m
from course.lessons.prompting import retrieval as r
from course.lessons.prompting.costs import Rates
from course.references.prompting import bm25_scores

matplotlib.use("Agg")


def _strategies():
    company = h.quill()
    return e.lesson_strategies(
        company,
        r.notes_retriever(company.documents(), bm25_scores),
        r.examples_retriever(h.solved_examples(company), bm25_scores),
        shots=(1, 8),
    )


def test_every_strategy_prompts_every_held_out_request():
    grid = _strategies()
    assert list(grid) == ["zero-shot", "3C", "few-shot, 1 random", "few-shot, 8 random", "few-shot, 2 similar",
                          "RAG, top 1"]  # fmt: skip
    requests = h.held_out_requests(h.quill())
    for prompted in grid.values():
        assert [p.request for p in prompted] == requests


def test_accuracy_by_kind():
    measured = e.Measured("x", ("route", "route", "answer"), (True, False, True), 10.0, 1.0)
    assert measured.accuracy() == pytest.approx(2 / 3)
    assert measured.accuracy("route") == 0.5 and measured.accuracy("answer") == 1.0
    with pytest.raises(ValueError):
        measured.accuracy("other")


def test_measuring_an_untrained_model_gives_a_table_and_a_plot():
    import matplotlib.pyplot as plt

    tokenizer = m.build_tokenizer()
    grid = {name: prompted[:3] + prompted[-3:] for name, prompted in list(_strategies().items())[:2]}
    results = e.measure(m.build_model(tokenizer), tokenizer, grid)
    assert [x.strategy for x in results] == list(grid) and results[1].input_tokens > results[0].input_tokens
    dollars = {x.strategy: e.dollars_per_1000(grid[x.strategy], lambda *a: 1.0, Rates(1, 1)) for x in results}
    assert dollars == {"zero-shot": 1.0, "3C": 1.0}
    assert e.markdown_table(results, dollars).count("\n") == 3
    fig, axes = plt.subplots(1, 2)
    e.plot_tradeoff(axes, results, dollars)
    plt.close(fig)


def test_strategy_names_stay_english_keys_and_are_shown_in_the_readers_language(monkeypatch):
    names = ["zero-shot", "3C", "few-shot, 4 random", "few-shot, 2 similar", "RAG, top 1"]
    monkeypatch.setenv("COURSE_LANG", "en")
    assert [e.strategy_label(n) for n in names] == names
    results = [e.Measured(n, ("route", "answer"), (True, False), 10.0, 1.0) for n in names[:2]]
    table = e.markdown_table(results, {"zero-shot": 0.5, "3C": 1.25})
    assert table.splitlines()[0] == (
        "| strategy | routing accuracy | policy accuracy | input tokens / request | $ per 1,000 requests |"
    )
    assert table.splitlines()[2] == "| zero-shot | 100% | 0% | 10 | $0.500 |"
    monkeypatch.setenv("COURSE_LANG", "ko")
    assert [e.strategy_label(n) for n in names] == [
        "제로샷",
        "3C",
        "퓨샷, 무작위 4개",
        "퓨샷, 유사 2개",
        "RAG, 상위 1개",
    ]
    assert e.markdown_table(results, {"zero-shot": 0.5, "3C": 1.25}).startswith("| 전략 |")
    monkeypatch.setenv("COURSE_LANG", "ja")
    assert e.strategy_label("few-shot, 8 random") == "フューショット、ランダム 8 件"
