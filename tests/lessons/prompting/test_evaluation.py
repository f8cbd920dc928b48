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


def test_the_cheapest_strategy_that_meets_the_bar_on_every_kind_or_on_one():
    results = [
        e.Measured("precise", ("route", "answer"), (True, True), 90.0, 1.0),
        e.Measured("routes-only", ("route", "answer"), (True, False), 20.0, 1.0),
        e.Measured("cheap", ("route", "answer"), (False, False), 5.0, 1.0),
    ]
    dollars = {"precise": 0.9, "routes-only": 0.2, "cheap": 0.05}
    assert e.cheapest_meeting(results, dollars, 1.0) == "precise", "the lowest kind counts"
    assert e.cheapest_meeting(results, dollars, 1.0, kind="route") == "routes-only"
    assert e.cheapest_meeting(results, dollars, 0.0) == "cheap", "a bar of 0 keeps every strategy"
    assert e.cheapest_meeting(results[2:], dollars, 0.5) is None


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


def test_few_shot_prompts_can_show_a_policys_answer_and_the_count_says_how_often():
    """Reviewers found the lesson's old claim false (few-shot examples 'do not carry Quill's policies'): at k = 8,
    11 of Quill's 12 held-out policy prompts hold a solved question on the same policy. The count is checked
    against the rendered prompts themselves: the example's question and the request's answer are in the text."""
    from course.lessons.prompting import prompts as p

    company = h.quill()
    requests, pool = h.held_out_requests(company), h.solved_examples(company)
    by_text = {x.text: x for x in pool}
    for k in (1, 2, 4, 8):
        prompted = [p.few_shot(x, pool, k) for x in requests]
        correct = tuple(i % 3 == 0 for i in range(len(prompted)))  # a made-up model's answers
        shown = e.answer_shown(prompted, e.Measured("x", tuple(x.kind for x in requests), correct, 0.0, 0.0))
        showing, right = 0, 0
        for prompt, ok in zip(prompted, correct, strict=True):
            if prompt.request.kind != "answer":
                continue
            text = p.render(prompt)
            inputs = [line.removeprefix("Input: ") for line in text.splitlines() if line.startswith("Input: ")]
            same_policy = [by_text[i] for i in inputs[:-1] if by_text[i].topic == prompt.request.topic]
            assert all(f"Output: {x.answer}" in text and x.answer == prompt.request.answer for x in same_policy)
            showing += bool(same_policy)
            right += bool(same_policy) and ok
        assert shown == e.AnswerShown(requests=12, showing=showing, right=right)
    assert shown.showing == 11, "at k = 8, 11 of the 12 policy prompts show the answer"


def test_answer_shown_needs_the_measurement_of_the_same_prompts():
    company = h.quill()
    prompted = [e.prompts.zero_shot(x) for x in h.held_out_requests(company)]
    with pytest.raises(ValueError, match="same set"):
        e.answer_shown(prompted, e.Measured("x", ("answer",), (True,), 0.0, 0.0))
    none_shown = e.answer_shown(prompted, e.Measured("x", tuple(p.request.kind for p in prompted), (True,) * 36, 0, 0))
    assert none_shown == e.AnswerShown(requests=12, showing=0, right=0), "a zero-shot prompt shows no answer"
