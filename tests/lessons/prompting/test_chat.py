"""Lesson 01 on the real model (course.lessons.prompting.chat): the prompts as chat messages, how a reply is read,
the intervals, the cached table; and, in the slow lane, SmolLM2 itself scored two independent ways."""

import json
import math
from dataclasses import asdict, replace

import pytest

from course import prepare
from course.lessons.prompting import chat, helpdesk, prompts, retrieval
from course.lessons.prompting.helpdesk import TEAMS
from course.references.prompting import bm25_scores
from tests.conftest import LAYOUT

COMPANY = helpdesk.quill()
HELD_OUT = helpdesk.held_out_requests(COMPANY)
POOL = helpdesk.solved_examples(COMPANY)
TICKET = next(r for r in HELD_OUT if r.kind == "route")
QUESTION = next(r for r in HELD_OUT if r.kind == "answer")
VALUES = ("7", "14", "30", "90")


def _strategies() -> dict:
    retrieve = retrieval.notes_retriever(COMPANY.documents(), bm25_scores)
    return chat.lesson_strategies(COMPANY, retrieve, retrieval.examples_retriever(POOL, bm25_scores))


# ---------------------------------------------------------------- messages


def test_zero_shot_is_the_instruction_as_system_message_and_the_request_as_the_user_turn():
    assert chat.messages(prompts.zero_shot(TICKET)) == [
        {"role": "system", "content": TICKET.instruction},
        {"role": "user", "content": TICKET.text},
    ]


def test_3c_carries_the_notes_of_the_requests_kind_and_the_reply_format():
    strategies = _strategies()
    ticket_system = chat.messages(strategies["3C"][HELD_OUT.index(TICKET)])[0]["content"]
    question_system = chat.messages(strategies["3C"][HELD_OUT.index(QUESTION)])[0]["content"]
    for document in COMPANY.documents():
        team = document.id.startswith("team:")
        assert (document.text in ticket_system) == team
        assert (document.text in question_system) == (not team)
    assert ticket_system.endswith(chat.REPLY_FORMAT["route"]) and all(t in ticket_system for t in TEAMS)
    assert question_system.endswith(chat.REPLY_FORMAT["answer"])


def test_solved_examples_become_user_and_assistant_turns_in_order_before_the_request():
    prompted = prompts.few_shot(TICKET, POOL, 3)
    turns = chat.messages(prompted)
    assert [t["role"] for t in turns] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    assert [t["content"] for t in turns[1:-1]] == [x for e in prompted.examples for x in (e.text, e.answer)]
    assert turns[-1]["content"] == TICKET.text
    assert "Notes:" not in turns[0]["content"]


def test_the_lessons_strategies_prompt_every_held_out_request_and_rag_holds_what_the_retriever_found():
    strategies = _strategies()
    assert list(strategies) == [
        "zero-shot",
        "3C",
        "few-shot, 4 random",
        "few-shot, 4 similar",
        "all notes",
        "RAG, top 1",
    ]
    assert all([p.request for p in prompted] == HELD_OUT for prompted in strategies.values())
    assert all(len(p.context) == len(COMPANY.documents()) for p in strategies["all notes"])
    retrieve = retrieval.notes_retriever(COMPANY.documents(), bm25_scores)
    assert [p.context for p in strategies["RAG, top 1"]] == [tuple(retrieve(r.text, 1)) for r in HELD_OUT]
    assert all(len(p.examples) == 4 and all(e.kind == p.request.kind for e in p.examples)
               for p in strategies["few-shot, 4 similar"])  # fmt: skip


def test_billed_text_is_every_messages_text():
    prompted = prompts.few_shot(QUESTION, POOL, 2)
    text = chat.billed_text(prompted)
    assert all(turn["content"] in text for turn in chat.messages(prompted))


# ---------------------------------------------------------------- reading a reply


@pytest.mark.parametrize(
    ("reply", "expected"),
    [("billing", "billing"), (" Billing.\n", "billing"), ('"how-to"', "how-to"), ("The billing team", None),
     ("billing, bug", None), ("", None), ("bugs", None)],
)  # fmt: skip
def test_strict_reading_accepts_only_a_reply_that_is_one_allowed_answer(reply, expected):
    assert chat.strict_answer(reply, TEAMS) == expected


def test_strict_reading_of_a_number():
    assert chat.strict_answer("30", VALUES) == "30"
    assert chat.strict_answer("30 days", VALUES) is None
    assert chat.strict_answer("45", VALUES) is None


@pytest.mark.parametrize(
    ("reply", "expected"),
    [("I would send it to the billing team, or account.", "billing"), ("Account, then billing", "account"),
     ("This is a how-to question", "how-to"), ("debugging it", None), ("No idea.", None)],
)  # fmt: skip
def test_lenient_reading_of_a_ticket_takes_the_first_allowed_team_named_as_a_word(reply, expected):
    assert chat.lenient_answer(reply, "route", TEAMS) == expected


def test_lenient_reading_of_a_question_takes_the_first_number_allowed_or_not():
    assert chat.lenient_answer("You have 30 days, or 14 on trial.", "answer", VALUES) == "30"
    assert chat.lenient_answer("45 days", "answer", VALUES) == "45"
    assert chat.lenient_answer("007", "answer", VALUES) == "7"
    assert chat.lenient_answer("thirty", "answer", VALUES) is None


# ---------------------------------------------------------------- intervals


def test_wilson_intervals_match_published_values():
    # Newcombe (1998), Statistics in Medicine 17:857, table I: 0/10 -> 0 to 0.2775, 5/10 -> 0.2366 to 0.7634
    assert chat.wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert chat.wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)


@pytest.mark.parametrize(("right", "n"), [(0, 12), (1, 12), (7, 24), (24, 24)])
def test_wilson_intervals_hold_the_estimate_and_mirror_for_failures(right, n):
    low, high = chat.wilson_interval(right, n)
    assert 0 <= low <= right / n <= high <= 1 and high - low > 0
    assert chat.wilson_interval(n - right, n) == pytest.approx((1 - high, 1 - low))


@pytest.mark.parametrize(("right", "n"), [(1, 0), (-1, 5), (6, 5)])
def test_wilson_interval_refuses_an_impossible_count(right, n):
    with pytest.raises(ValueError, match="successes"):
        chat.wilson_interval(right, n)


# ---------------------------------------------------------------- a measured strategy


def _measured() -> chat.ChatMeasured:
    return chat.ChatMeasured(
        strategy="3C",
        kinds=("route", "route", "answer"),
        answers=("billing", "account", "30"),
        candidates=(TEAMS, TEAMS, VALUES),
        replies=("Billing.", "It goes to the account team", "30 days"),
        logprobs=((-1.0, -2.0, -3.0, -4.0), (-1.0, -2.0, -3.0, -4.0), (-9.0, -8.0, -0.5, -7.0)),
        model_tokens=(100, 110, 120),
        billed_tokens=(80, 90, 100),
        seconds=1.5,
    )


def test_each_view_reads_the_same_replies_its_own_way():
    measured = _measured()
    assert measured.predictions("strict") == ["billing", None, None]
    assert measured.predictions("lenient") == ["billing", "account", "30"]
    assert measured.predictions("scored") == ["billing", "billing", "30"]
    assert measured.count("strict") == (1, 3)
    assert measured.count("lenient", "route") == (2, 2)
    assert measured.count("scored", "route") == (1, 2)
    assert measured.interval("scored", "answer") == chat.wilson_interval(1, 1)
    assert measured.mean_model_tokens() == 110 and measured.mean_billed_tokens() == 90


def test_an_unknown_view_or_kind_is_refused():
    with pytest.raises(ValueError, match="view"):
        _measured().predictions("greedy")
    with pytest.raises(ValueError, match="kind"):
        _measured().count("strict", "refund")


def test_a_table_reads_back_as_it_was_written(tmp_path):
    path = tmp_path / chat.TABLE_FILE
    path.write_text(json.dumps([asdict(_measured())]))
    assert chat.load_table(path) == [_measured()]


def test_the_cache_key_changes_with_any_prompt_and_only_then():
    strategies = _strategies()
    key = chat.table_key(strategies)
    assert chat.table_key(_strategies()) == key
    changed = dict(strategies)
    changed["RAG, top 1"] = [replace(p, context=()) for p in strategies["RAG, top 1"]]
    assert chat.table_key(changed) != key


def test_a_cached_table_is_read_without_the_model(tmp_path, monkeypatch):
    """A warm run reads the table: neither llama.cpp nor the model is touched (a measurement here would fail)."""
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    strategies = {"3C": _strategies()["3C"][:3]}
    folder = tmp_path / f"{chat.CACHE_NAME}-{chat.table_key(strategies)}"
    folder.mkdir()
    (folder / chat.TABLE_FILE).write_text(json.dumps([asdict(_measured())]))
    monkeypatch.setattr(chat, "ChatModel", None)
    assert chat.measured_table(strategies) == [_measured()]


# ---------------------------------------------------------------- the real model


@pytest.mark.slow
def test_smollm2_scores_as_a_fresh_evaluation_does_copies_a_retrieved_number_and_a_similar_examples_label():
    """On a few real requests: the scored view, read from the cached prompt (shared with the previous request's
    where they begin alike), equals the log-probability of the whole reply computed in a fresh context (the prompt,
    then the reply a token at a time, llama.cpp's logits kept at every position); with RAG's note the
    reply contains the policy's number; with the 4 most similar solved tickets as turns the reply is exactly the
    team (the two things the lesson finds the model does)."""
    pytest.importorskip("llama_cpp")
    import numpy as np

    from course.models import smollm2

    model = chat.ChatModel(n_ctx=512, n_threads=1)
    fresh = smollm2.load_llama(n_ctx=512, n_threads=1, n_threads_batch=1, logits_all=True)
    strategies = _strategies()
    rag = [p for p in strategies["RAG, top 1"] if p.request.kind == "answer"][:4]
    similar = [p for p in strategies["few-shot, 4 similar"] if p.request.kind == "route"][:4]
    assert all(p.request.source in {d.id for d in p.context} for p in rag), "the retriever found each note"
    replies = {}
    for p in rag + similar:
        reply, logprobs, n = model.run(chat.messages(p), p.request.candidates)
        replies[p.request.text, p.request.kind, len(p.examples)] = reply
        if p in rag[:2] + similar[:1]:
            prompt = model.render(chat.messages(p))
            for candidate, logprob in zip(p.request.candidates, logprobs, strict=True):
                tokens = model.tokenize(prompt + candidate + chat.END_OF_TURN)
                fresh.reset()
                fresh.eval(tokens[:n])  # the prompt at once, then the reply a token at a time, as a chat is evaluated
                for token in tokens[n:-1]:
                    fresh.eval([token])
                rows = np.asarray(fresh.scores[n - 1 : len(tokens) - 1], dtype=np.float64)
                rows = rows - rows.max(axis=1, keepdims=True)
                log_softmax = rows - np.log(np.exp(rows).sum(axis=1, keepdims=True))
                expected = float(sum(log_softmax[i, t] for i, t in enumerate(tokens[n:])))
                assert logprob == pytest.approx(expected, abs=1e-3), (p.request.text, candidate)
    copied = [chat.lenient_answer(replies[r.text, "answer", 0], "answer", r.candidates) == r.answer
              for r in (p.request for p in rag)]  # fmt: skip
    labelled = [chat.strict_answer(replies[p.request.text, "route", 4], TEAMS) == p.request.answer for p in similar]
    assert sum(copied) >= 3, f"the note's number in {sum(copied)} of 4 replies: {replies}"
    assert sum(labelled) >= 3, f"the similar examples' team, exactly, in {sum(labelled)} of 4 replies: {replies}"


def test_course_prepare_measures_the_table_that_a_correct_bm25_reads():
    """`course prepare` measures the lesson's table once (the reference BM25 picks the notes and examples); the
    lesson's own solution, another correct BM25, must build the same prompts, so a graded or first run reads the
    prepared table instead of measuring for minutes."""
    cells = json.loads(LAYOUT.source_notebook("01-beyond-the-prompt").read_text())["cells"]
    solution = next(
        "".join(c["source"]) for c in cells if c["metadata"].get("nbgrader", {}).get("grade_id") == "ex-bm25-scores"
    )
    namespace: dict = {"math": math}
    exec(solution, namespace)
    bm25 = namespace["bm25_scores"]
    strategies = chat.lesson_strategies(
        COMPANY, retrieval.notes_retriever(COMPANY.documents(), bm25), retrieval.examples_retriever(POOL, bm25)
    )
    prepared = {a.name: a.lessons for a in prepare.artefacts()}
    assert prepared.get(chat.table_name(strategies)) == ("01-beyond-the-prompt",)
