import pytest

from course.lessons.prompting import helpdesk as h
from course.lessons.prompting import prompts as p


def test_the_layout():
    text = p.build_prompt(
        " Route it. ", "My card.", "Card tickets go to billing.", ["One team."], [("A crash.", "bug")]
    )
    assert text == (
        "Route it.\n\nContext: Card tickets go to billing.\n\nConstraints:\n- One team.\n\n"
        "Input: A crash.\nOutput: bug\n\nInput: My card.\nOutput:"
    )
    assert p.build_prompt("Route it.", "Hi") == "Route it.\n\nInput: Hi\nOutput:"
    with pytest.raises(ValueError, match="instruction"):
        p.build_prompt(" ", "Hi")


def test_the_four_strategies_carry_what_they_say():
    company = h.quill()
    ticket, question = (next(r for r in h.held_out_requests(company) if r.kind == kind) for kind in ("route", "answer"))
    pool = h.solved_examples(company)
    assert p.zero_shot(ticket).context == () and not p.zero_shot(ticket).constraints
    three_c = p.three_c(question, company)
    assert three_c.constraints and {d.id for d in three_c.context} == {f"team:{t}" for t in h.TEAMS}
    shots = p.few_shot(ticket, pool, 4)
    assert len(shots.examples) == 4 and all(e.kind == "route" and e.text != ticket.text for e in shots.examples)
    assert shots == p.few_shot(ticket, pool, 4), "the same request always gets the same draw"
    with pytest.raises(ValueError, match="k must be"):
        p.few_shot(question, pool, 99)
    note = company.documents()[-1]
    assert p.render(p.rag(question, [note])).count(note.text) == 1


def test_the_shared_start_of_prompts_is_what_a_prompt_cache_could_keep():
    company = h.quill()
    tickets = [r for r in h.held_out_requests(company) if r.kind == "route"][:5]
    three_c = [p.three_c(r, company) for r in tickets]
    start = p.shared_start(three_c)
    assert start.startswith(tickets[0].instruction) and "Context:" in start and "Constraints:" in start
    assert all(p.render(x).startswith(start) for x in three_c) and not any(r.text in start for r in tickets)
    assert not start.endswith((" ", "\n")) and len(p.render(three_c[0])) > len(start)
    one = p.shared_start(three_c[:1])
    assert one == p.render(three_c[0]), "a single prompt is shared whole"
    with pytest.raises(ValueError):
        p.shared_start([])
