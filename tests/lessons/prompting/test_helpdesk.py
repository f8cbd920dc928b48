import random

import pytest

from course.lessons.prompting import helpdesk as h


def test_a_company_routes_every_topic_and_sets_every_policy():
    with pytest.raises(ValueError, match="routes every topic"):
        h.Company(routing={"invoice": "billing"})
    with pytest.raises(ValueError, match="cannot be"):
        h.Company().with_changes(policies={"refund": 3})
    changed = h.quill().with_changes(policies={"refund": 7})
    assert changed.policies["refund"] == 7 and h.quill().policies["refund"] != 7


def test_documents_state_the_routing_and_the_policies():
    company = h.quill()
    notes = {d.id: d.text for d in company.documents()}
    for topic, team in company.routing.items():
        assert f"{topic.capitalize()} tickets go to {team}." in notes[f"team:{team}"]
    for key, value in company.policies.items():
        assert f" {value} " in notes[f"policy:{key}"]


def test_quill_follows_a_convention_that_is_not_the_usual_one():
    quill = h.quill()
    moved = {t for t in h.TOPICS if quill.routing[t] != h.TOPICS[t]}
    assert moved == set(h.CONVENTIONS["sign-in first"][1])
    assert sum(quill.policies[p.key] != p.usual for p in h.POLICIES) >= len(h.POLICIES) - 1


def test_held_out_texts_are_never_trained_on():
    held_out = {r.text for r in h.held_out_requests(h.quill())}
    rng = random.Random(0)
    for _ in range(2000):
        prompted = h.training_request(rng)
        texts = {r.text for r in (*prompted.examples, prompted.request)}
        assert not texts & held_out
    solved = {r.text for r in h.solved_examples(h.quill())}
    assert not solved & held_out


def test_training_prompts_are_answerable_from_what_they_carry_most_of_the_time():
    rng = random.Random(1)
    carried = 0
    for _ in range(500):
        p = h.training_request(rng)
        in_notes = any(d.id == p.request.source for d in p.context)
        in_examples = any(e.topic == p.request.topic for e in p.examples)
        carried += in_notes or in_examples
    assert 0.5 < carried / 500 < 0.95, "most prompts carry their answer; some leave only the habit"


def test_every_request_has_its_answer_among_its_candidates():
    company = h.quill()
    for r in h.held_out_requests(company) + h.solved_examples(company):
        assert r.answer in r.candidates and len(set(r.candidates)) == len(r.candidates)
