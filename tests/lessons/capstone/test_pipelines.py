"""Lesson 07's pipelines and their measurement, on small inputs (the lesson itself runs them on the real model)."""

import pytest

from course.lessons.capstone import evaluation, pipelines
from course.lessons.prompting import helpdesk, model, prompts
from course.lessons.prompting.costs import Rates
from course.references.capstone import pack_context, score_answer


def test_pairs_come_from_the_notes_and_never_from_held_out_wordings():
    quill = helpdesk.quill()
    pairs = pipelines.qa_pairs(quill)
    held_out = {r.text for r in helpdesk.held_out_requests(quill)}
    assert pairs and not {p.text for p in pairs} & held_out
    for pair in pairs:
        note = next(d for d in quill.documents() if d.id == pair.source)
        assert pair.answer in note.text, "every answer is stated by the note it comes from"


def test_the_update_changes_notes_and_pairs_and_nothing_else():
    quill = helpdesk.quill()
    updated = quill.with_changes(**pipelines.UPDATE)
    notes = pipelines.changed_documents(quill, updated)
    assert {d.id for d in notes} == {"team:billing", "team:how-to", "policy:refund", "policy:devices",
                                     "policy:attachment"}  # fmt: skip
    relabel = pipelines.changed_pairs(quill, updated)
    assert relabel and all(r.topic in {"templates", "refund", "devices", "attachment"} for r in relabel)
    assert pipelines.changed_pairs(quill, quill) == [] and pipelines.changed_documents(quill, quill) == []


def test_rag_prompts_carry_what_the_packer_chose_and_refuse_invented_notes():
    quill = helpdesk.quill()
    requests = helpdesk.held_out_requests(quill)[:3]
    prompted = pipelines.rag_prompts(requests, quill.documents(), pack_context, 24)
    for p in prompted:
        assert [d.text for d in p.context] == pack_context(p.request.text, [d.text for d in quill.documents()], 24)
    with pytest.raises(ValueError, match="not one of the notes"):
        pipelines.rag_prompts(requests, quill.documents(), lambda q, passages, b: ["An invented note."], 24)


def test_stop_sequence_cuts_at_the_next_request():
    assert pipelines.stopped("billing input : i") == "billing"
    assert pipelines.stopped("30") == "30"
    assert pipelines.stopped("input : billing") == ""


def test_measure_scores_raw_and_stopped_replies_with_the_given_scorer():
    quill = helpdesk.quill()
    requests = helpdesk.held_out_requests(quill)
    prompted = [prompts.zero_shot(r) for r in (requests[0], requests[-1])]
    replies = pipelines.Answers((f"{requests[0].answer} input :", "7"), (0.01, 0.03))
    m = evaluation.measure("test", prompted, replies, score_answer)
    assert (m.exact_raw, m.exact) == (0.0, 0.5)
    assert m.soft_raw == pytest.approx((2 * 0.5 * 1 / 1.5 + 0.0) / 2)
    assert m.seconds == pytest.approx(0.02) and m.correct == (True, False)
    calls = []
    evaluation.measure("test", prompted, replies, lambda p, a: calls.append(p) or (False, 0.0))
    assert calls, "the lesson's scorer (the student's) does the scoring"
    with pytest.raises(ValueError):
        evaluation.measure("test", prompted, pipelines.Answers(("x",), (0.1,)), score_answer)


def test_prices():
    prices = evaluation.Prices(Rates(1.0, 2.0), tuned_rate_factor=3.0, dollars_per_example=0.5,
                               dollars_per_machine_hour=36.0)  # fmt: skip
    m = evaluation.Measured("x", 1, 1, 1, input_tokens=100, output_tokens=10, seconds=0.1, correct=(True,))
    assert prices.per_request(m, tuned=False) == pytest.approx((100 * 1 + 10 * 2) / 1e6)
    assert prices.per_request(m, tuned=True) == pytest.approx(3 * (100 * 1 + 10 * 2) / 1e6)
    assert prices.fine_tuning(60, 100.0) == pytest.approx(30 + 1.0)
    with pytest.raises(ValueError):
        evaluation.Prices(Rates(1.0, 1.0), dollars_per_example=-1)


def test_fine_tune_trains_adapters_on_a_copy(monkeypatch):
    monkeypatch.setitem(pipelines.FINE_TUNING, "steps", 5)
    tokenizer = model.build_tokenizer()
    base = model.build_model(tokenizer)
    before = {k: v.clone() for k, v in base.state_dict().items()}
    tuned = pipelines.fine_tune(base, tokenizer, pipelines.qa_pairs(helpdesk.quill())[:10])
    assert 0 < tuned.trainable < tuned.total and tuned.steps == 5 and tuned.examples == 10
    assert all((base.state_dict()[k] == v).all() for k, v in before.items()), "the base model is left as it was"
    replies = pipelines.generate(
        tuned.model, tokenizer, [prompts.zero_shot(helpdesk.held_out_requests(helpdesk.quill())[0])]
    )
    assert len(replies.texts) == 1 and replies.seconds[0] > 0
    with pytest.raises(ValueError):
        pipelines.fine_tune(base, tokenizer, [])
