"""Lesson 01, beyond the prompt: reference solutions and the declarations of its graded exercises.

The 3C prompt builder (Exercise 1), the cost of 1,000 requests (Exercise 2), top-k retrieval (Exercise 3) and
the break-even volume (Exercise 4). Cases use the lesson's own data (the support tickets, the course notes and
their BM25 scores) and random inputs.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from course.grading.exercise import EXACT, Exercise, call, close

LESSON = "01-beyond-the-prompt"


# ---------------------------------------------------------------- Exercise 1: the 3C prompt


def three_c_prompt(instruction: str, query: str, context: str = "", constraints: Sequence[str] = ()) -> str:
    """A 3C prompt: instruction, ``Context:``, ``Constraints:`` bullets, then ``Input:``/``Output:``.

    Sections are separated by a blank line; an empty context or list of constraints leaves its section out.
    Surrounding whitespace is stripped; an empty instruction, query or constraint raises ``ValueError``.
    """
    instruction, query, context = instruction.strip(), query.strip(), context.strip()
    if not instruction:
        raise ValueError("The instruction is empty: state the task clearly (the first C, clarity).")
    if not query:
        raise ValueError("The query is empty: give the input the model should work on.")
    rules = [c.strip() for c in constraints]
    if any(not rule for rule in rules):
        raise ValueError("A constraint is empty: remove it or write the rule out.")
    sections = [instruction]
    if context:
        sections.append(f"Context: {context}")
    if rules:
        sections.append("Constraints:\n" + "\n".join(f"- {rule}" for rule in rules))
    sections.append(f"Input: {query}\nOutput:")
    return "\n\n".join(sections)


_PADDING = ["", " ", "  ", "\n", " \t"]


def _pad(rng: random.Random, text: str) -> str:
    return rng.choice(_PADDING) + text + rng.choice(_PADDING)


def _three_c_cases(rng: random.Random) -> list[dict]:
    from course.lessons.prompting.prompts import support_task
    from course.lessons.prompting.rag import load_documents

    task = support_task()
    tickets = [t.text for t in task.examples + task.incoming]
    notes = [d.text for d in load_documents()]
    instructions = [task.instruction, "Summarise the note.", "Translate into French.", "Route this support ticket."]
    rules = list(task.constraints) + ["Answer in at most three sentences.", "Do not explain.", "Be polite."]
    cases = []
    for index in range(18):
        context = rng.choice(["", " ", task.context, rng.choice(notes)])
        constraints = [_pad(rng, rule) for rule in rng.sample(rules, rng.randint(0, 3))]
        kwargs = {}
        if context or rng.random() < 0.5:
            kwargs["context"] = _pad(rng, context)
        if constraints or rng.random() < 0.5:
            kwargs["constraints"] = constraints if rng.random() < 0.7 else tuple(constraints)
        query = _pad(rng, rng.choice(tickets))
        instruction = _pad(rng, rng.choice(instructions))
        if index % 6 == 5:  # one part left empty: must raise ValueError
            broken = rng.choice(["instruction", "query", "constraint"])
            if broken == "instruction":
                instruction = rng.choice(_PADDING)
            elif broken == "query":
                query = rng.choice(_PADDING)
            else:
                kwargs["constraints"] = [*constraints, rng.choice(_PADDING)]
        cases.append(call(instruction, query, **kwargs))
    return cases


_THREE_C_EDGE = [
    call(
        "Route the ticket.",
        "I was charged twice.",
        context="Quill is a note-taking app.",
        constraints=["Answer with one label.", "Do not explain."],
    ),
    call("Route the ticket.", "Hi"),
    call("  Summarise.  ", " some text ", context="   ", constraints=[" Be brief. "]),
    call("Translate.", "chat", context=" French speakers. "),
    call(" ", "x"),
    call("Do.", ""),
    call("Do.", "x", constraints=["ok", "  "]),
]


# ---------------------------------------------------------------- Exercise 2: the cost of 1,000 requests


def cost_per_1000_requests(prompt: str, answer: str, tokenizer: str, input_rate: float, output_rate: float) -> float:
    """Dollars for 1,000 requests sending ``prompt`` and getting ``answer``, rates in $ per million tokens."""
    from course.text.tokenizers import count_tokens

    if input_rate < 0 or output_rate < 0:
        raise ValueError("Rates cannot be negative.")
    per_request = (count_tokens(prompt, tokenizer) * input_rate + count_tokens(answer, tokenizer) * output_rate) / 1e6
    return 1000 * per_request


_TOKENIZERS = ("tekken", "mistral-7b-v0.3")


def _cost_cases(rng: random.Random) -> list[dict]:
    from course.lessons.prompting.prompts import support_task
    from course.lessons.prompting.rag import load_documents
    from course.text.passages import load_all

    task = support_task()
    texts = [t.text for t in task.incoming] + [d.text for d in load_documents()]
    texts += list(load_all("slm-on-a-laptop").values())
    labels = list(task.labels) + ["", "I cannot tell from the notes."]
    cases = []
    for index in range(16):
        prompt = "\n\n".join(rng.sample(texts, rng.randint(1, 3)))
        rates = [round(rng.uniform(0, 20), 2), round(rng.uniform(0, 60), 2)]
        if index % 8 == 7:
            rates[rng.randrange(2)] = -round(rng.uniform(0.01, 5), 2)  # must raise ValueError
        elif index % 5 == 4:
            rates[rng.randrange(2)] = 0.0
        cases.append(call(prompt, rng.choice(labels), rng.choice(_TOKENIZERS), *rates))
    return cases


_KOREAN = "노트가 휴대폰과 노트북 사이에서 동기화되지 않아요."
_COST_EDGE = [
    call("Route this ticket: my card was declined.", "billing", "tekken", 2.0, 8.0),
    call("", "", "tekken", 2.0, 8.0),
    *[call(_KOREAN, "bug", tok, *rates) for tok in _TOKENIZERS for rates in [(0.2, 0.6), (3.0, 15.0), (0.0, 1.0)]],
    call(_KOREAN, "", "tekken", 4.0, 1.0),
    call(_KOREAN, "bug", "tekken", -1.0, 1.0),
    call(_KOREAN, "bug", "tekken", 1.0, -0.5),
]


# ---------------------------------------------------------------- Exercise 3: top-k


def top_k(scores: Sequence[float], k: int) -> list[int]:
    """Indices of the ``k`` highest scores, best first; ties go to the lower index."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return order[:k]


def _top_k_cases(rng: random.Random) -> list[dict]:
    import numpy as np
    from rank_bm25 import BM25Okapi

    from course.lessons.prompting.rag import load_documents, load_queries, words

    cases = []
    for index in range(14):
        n = rng.randint(1, 20)
        if index % 2:
            scores = [float(rng.randint(0, 4)) for _ in range(n)]  # many ties
        else:
            scores = [round(rng.uniform(-3, 10), rng.choice([1, 6])) for _ in range(n)]
        k = rng.randint(1, 25)
        cases.append(call(np.array(scores) if index % 3 == 0 else scores, k))
    documents = load_documents()
    bm25 = BM25Okapi([words(f"{d.title} {d.text}") for d in documents])
    for query in rng.sample(list(load_queries()), 4):
        cases.append(call(bm25.get_scores(words(query.question)), rng.randint(1, 5)))
    return cases


_TOP_K_EDGE = [
    call([0.2, 1.5, 0.7], 2),
    call([1.0, 3.0, 3.0, 0.5], 2),
    call([0.5, 0.1], 10),
    call([], 3),
    call([0.0, 2.0, 1.0, 2.0], 3),
    call([1.0, 2.0], 0),
    call([1.0, 2.0], -2),
    call([1.0, 2.0], 2.5),
]


def _numpy_edge() -> list[dict]:
    import numpy as np

    return [call(np.array([0.0, 2.0, 1.0, 2.0]), 3)]


# ---------------------------------------------------------------- Exercise 4: the break-even volume


def break_even_volume(upfront: float, prompting_per_request: float, tuned_per_request: float) -> int | None:
    """Fewest requests after which fine-tuning (``upfront`` + tuned cost) is no dearer than prompting; ``None``
    when the fine-tuned path saves nothing per request."""
    if upfront < 0 or prompting_per_request < 0 or tuned_per_request < 0:
        raise ValueError("Costs cannot be negative.")
    saving = prompting_per_request - tuned_per_request
    if saving <= 0:
        return None
    # round away float noise (e.g. 0.3 - 0.2) before taking the ceiling
    return math.ceil(round(upfront / saving, 9))


def _break_even_cases(rng: random.Random) -> list[dict]:
    cases = []
    for index in range(20):
        upfront = round(rng.uniform(1, 5000), rng.choice([0, 2, 6]))
        tuned = round(rng.uniform(0, 0.01), 6)
        if index % 7 == 6:
            prompting = round(tuned - rng.uniform(0, 0.005), 6) if tuned > 0.005 else tuned  # no saving: None
        else:
            prompting = round(tuned + rng.uniform(1e-5, 0.01), 6)
        cases.append(call(upfront, max(prompting, 0.0), tuned))
    # exact divisions that float noise would push one request too far without rounding
    for _ in range(4):
        saving = rng.choice([0.1, 0.2, 0.3, 0.05, 0.01])
        tuned = rng.choice([0.1, 0.2, 0.3, 0.7])
        cases.append(call(saving * rng.randint(1, 500), round(tuned + saving, 10), tuned))
    return cases


_BREAK_EVEN_EDGE = [
    call(1000, 0.75, 0.25),
    call(100, 0.3, 0.2),
    call(1000, 0.5, 0.5),
    call(10, 0.4, 0.1),
    call(0, 0.3, 0.1),
    call(50, 0.1, 0.2),
    call(7, 0.01, 0.001),
    call(-1, 0.2, 0.1),
    call(1, -0.2, 0.1),
    call(1, 0.2, -0.1),
]


# ---------------------------------------------------------------- the visible tests of the test cells

_THREE_C_PROMPT_TESTS = r"""
built = three_c_prompt("Route the ticket.", "I was charged twice.", context="Quill is a note-taking app.",
                       constraints=["Answer with one label.", "Do not explain."])
assert built == (
    "Route the ticket.\n\nContext: Quill is a note-taking app.\n\n"
    "Constraints:\n- Answer with one label.\n- Do not explain.\n\n"
    "Input: I was charged twice.\nOutput:"
), built
assert three_c_prompt("Route the ticket.", "Hi") == "Route the ticket.\n\nInput: Hi\nOutput:"
"""

_COST_PER_1000_REQUESTS_TESTS = r"""
_prompt, _answer = "Route this ticket: my card was declined.", "billing"
_n_in, _n_out = count_tokens(_prompt, "tekken"), count_tokens(_answer, "tekken")
_expected = 1000 * (_n_in * 2.0 + _n_out * 8.0) / 1e6
assert abs(cost_per_1000_requests(_prompt, _answer, "tekken", 2.0, 8.0) - _expected) < 1e-12
assert cost_per_1000_requests("", "", "tekken", 2.0, 8.0) == 0
"""

_TOP_K_TESTS = r"""
assert top_k([0.2, 1.5, 0.7], 2) == [1, 2]
assert top_k([1.0, 3.0, 3.0, 0.5], 2) == [1, 2], "ties go to the lower index"
"""

_BREAK_EVEN_VOLUME_TESTS = r"""
assert break_even_volume(1000, 0.75, 0.25) == 2000
assert break_even_volume(100, 0.3, 0.2) == 1000, "round upfront / saving before the ceiling"
assert break_even_volume(1000, 0.5, 0.5) is None, "no saving per request: never"
"""


EXERCISES = [
    Exercise(
        grade_id="test-three-c-prompt",
        target="three_c_prompt",
        points=2,
        about=(
            "calls your function on inputs it draws itself (other instructions, contexts, constraints and tickets, "
            "with stray spaces and empty parts) and compares with the reference."
        ),
        tests=_THREE_C_PROMPT_TESTS,
        reference=three_c_prompt,
        cases=_three_c_cases,
        edge_cases=_THREE_C_EDGE,
        compare=EXACT,
    ),
    Exercise(
        grade_id="test-cost-per-1000",
        target="cost_per_1000_requests",
        points=2,
        about=(
            "calls your function on inputs it draws itself (tickets, notes and passages in several languages, both "
            "tokenizers, random and negative rates) and compares with the reference."
        ),
        tests=_COST_PER_1000_REQUESTS_TESTS,
        reference=cost_per_1000_requests,
        cases=_cost_cases,
        edge_cases=_COST_EDGE,
        compare=close(rtol=1e-9, atol=1e-12),
    ),
    Exercise(
        grade_id="test-top-k",
        target="top_k",
        points=2,
        about=(
            "calls your function on inputs it draws itself (random scores with ties, lists and arrays, BM25 scores of"
            " the course notes, bad k) and compares with the reference."
        ),
        tests=_TOP_K_TESTS,
        reference=top_k,
        cases=lambda rng: [*_numpy_edge(), *_top_k_cases(rng)],
        edge_cases=_TOP_K_EDGE,
        compare=EXACT,
    ),
    Exercise(
        grade_id="test-break-even",
        target="break_even_volume",
        points=2,
        about=(
            "calls your function on inputs it draws itself (random costs, exact divisions, no saving, negative costs)"
            " and compares with the reference."
        ),
        tests=_BREAK_EVEN_VOLUME_TESTS,
        reference=break_even_volume,
        cases=_break_even_cases,
        edge_cases=_BREAK_EVEN_EDGE,
        compare=EXACT,
    ),
]
