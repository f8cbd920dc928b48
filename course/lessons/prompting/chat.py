"""Quill's help desk on a real instruct model: SmolLM2-135M-Instruct prompted through its own chat template.

Lesson 01 §5 ("The same help desk on a real model"). The tiny model of §2-§5 answers the way it was trained to
(the course's prompt layout, by scoring the allowed answers); a practitioner prompts an instruct model through its
chat template and reads what it writes. This module does that, so the lesson can say which of the toy's claims
carry over to a real model and which do not:

- **messages** (:func:`messages`): the system message holds the instruction, the notes (context) and the reply
  format (constraints); solved examples are user/assistant turns before the request, as chat models are shown
  examples. The strategies are the lesson's (:func:`lesson_strategies`): zero-shot, 3C with the notes the request's
  kind needs, few-shot (random and similar), every note in context, and RAG.
- **two views of one prompt** (:func:`measure`): *free generation* (greedy, a few tokens), read strictly (the reply
  is exactly one allowed answer: a prompt that breaks the format fails, so Constraints are measured) and leniently
  (the first allowed team named, the first number: is the answer in the reply at all?); and *scored candidates*,
  the log-probability of each allowed answer as the assistant's whole reply (what the toy does), which shows what
  the model prefers even when it does not say it.
- **counts and intervals** (:func:`wilson_interval`): 12 or 24 requests per kind give wide 95 % intervals, so a
  difference of one request is never read as a finding.
- **cost**: input tokens by SmolLM2's own tokenizer (what the model reads, bounded by its context) beside the
  hosted tokenizer's billed tokens that the rest of the lesson prices.

Measuring takes a minute or two, so the table goes to the course cache (:func:`measured_table`), keyed on every
prompt, the model file and this module's version: a warm run reads it, a changed prompt (the student's BM25 picks
other notes) measures again. Loading llama.cpp happens only then, so a lesson with a cached table runs without it.

The module is longer than most because the measurement is one piece: prompts, readings, the llama.cpp runner, the
cached table and how the lesson shows it change together when what is measured changes.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from course.languages import say
from course.lessons.prompting import prompts
from course.lessons.prompting.helpdesk import TEAMS, Company, Document, Prompted, Request, held_out_requests, quill
from course.lessons.prompting.helpdesk import solved_examples as company_examples

#: The three ways a reply is read: free generation read strictly or leniently, and scored candidates.
VIEWS = ("strict", "lenient", "scored")
KINDS = ("route", "answer")
#: Greedy replies stop after this many tokens: an allowed answer takes at most three, so a longer reply has
#: already broken the format.
MAX_REPLY_TOKENS = 10
#: The reply format the constraints state. The toy's constraint (``Request.constraint``) names the allowed answers;
#: a model that writes freely must also be told to write nothing else, or the strict view could not be met.
REPLY_FORMAT = {
    "route": "Answer with one team: " + ", ".join(TEAMS[:-1]) + " or " + TEAMS[-1] + ". Reply with the team alone.",
    "answer": "Reply with the number alone.",
}
END_OF_TURN = "<|im_end|>"
#: The cached table's name; bump the version when what :func:`measure` records, or how, changes.
CACHE_NAME = "prompting-smollm2-table-v1"
TABLE_FILE = "table.json"
Z_95 = 1.959963984540054  # the standard normal quantile of 0.975


# ---------------------------------------------------------------- prompts as chat messages


def messages(prompted: Prompted) -> list[dict[str, str]]:
    """``prompted`` as chat messages: a system message (instruction; ``Notes:`` one per line; the reply format
    when the prompt has constraints), each solved example as a user turn and the assistant's answer, then the
    request as the last user turn."""
    request = prompted.request
    system = request.instruction
    if prompted.context:
        system += "\n\nNotes:\n" + "\n".join(d.text for d in prompted.context)
    if prompted.constraints:
        system += "\n\n" + REPLY_FORMAT[request.kind]
    turns = [{"role": "system", "content": system}]
    for example in prompted.examples:
        turns += [{"role": "user", "content": example.text}, {"role": "assistant", "content": example.answer}]
    return turns + [{"role": "user", "content": request.text}]


def billed_text(prompted: Prompted) -> str:
    """What a hosted model bills as input for ``prompted``: every message's text, one after the other (its own
    chat template adds a few tokens per message, the same for every strategy)."""
    return "\n".join(m["content"] for m in messages(prompted))


def notes_for_kind(request: Request, company: Company) -> tuple[Document, ...]:
    """The notes a request's kind needs: every team note for a ticket, every policy note for a question."""
    prefix = "team:" if request.kind == "route" else "policy:"
    return tuple(d for d in company.documents() if d.id.startswith(prefix))


def lesson_strategies(
    company: Company,
    retrieve: Callable[[str, int], list[Document]],
    similar: Callable[[Request, int], list[Request]],
    k: int = 4,
    rag_k: int = 1,
) -> dict[str, list[Prompted]]:
    """Every held-out request of ``company`` prompted each way the real model is measured: zero-shot; 3C with the
    notes its kind needs; few-shot with ``k`` random (the toy's draw) and the ``k`` most ``similar`` solved
    requests; every note in context; RAG with the ``rag_k`` notes ``retrieve`` ranks best."""
    requests, pool = held_out_requests(company), company_examples(company)
    everything = company.documents()
    return {
        "zero-shot": [prompts.zero_shot(r) for r in requests],
        "3C": [Prompted(r, context=notes_for_kind(r, company), constraints=True) for r in requests],
        f"few-shot, {k} random": [prompts.few_shot(r, pool, k) for r in requests],
        f"few-shot, {k} similar": [prompts.with_examples(r, similar(r, k)) for r in requests],
        "all notes": [Prompted(r, context=everything, constraints=True) for r in requests],
        f"RAG, top {rag_k}": [prompts.rag(r, retrieve(r.text, rag_k)) for r in requests],
    }


# ---------------------------------------------------------------- reading a reply


def strict_answer(reply: str, candidates: Sequence[str]) -> str | None:
    """The allowed answer the reply *is* (case, surrounding spaces, quotes and one final full stop aside), or
    None: ``"Billing."`` is ``billing``, ``"The billing team"`` is nothing."""
    text = reply.strip().strip("\"'`").strip()
    text = text[:-1].rstrip() if text.endswith(".") else text
    return text.lower() if text.lower() in candidates else None


_NUMBER = re.compile(r"\d+")


def lenient_answer(reply: str, kind: str, candidates: Sequence[str]) -> str | None:
    """The answer found in the reply: for a ticket the allowed team named first (as a whole word), for a
    question the first number (allowed or not), or None."""
    text = reply.lower()
    if kind == "answer":
        match = _NUMBER.search(text)
        return str(int(match.group(0))) if match else None
    found = [(m.start(), c) for c in candidates for m in [re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", text)] if m]
    return min(found)[1] if found else None


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95 % by default): unlike the normal approximation it stays
    inside [0, 1] and is not empty at 0 of n or n of n, where small samples like these often land."""
    if trials <= 0 or not 0 <= successes <= trials:
        raise ValueError(f"A proportion needs 0 <= successes <= trials and trials > 0, got {successes} of {trials}.")
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    # at 0 of n (n of n) the bound is exactly 0 (1); the formula's rounding would leave a speck
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


# ---------------------------------------------------------------- one strategy, measured


@dataclass(frozen=True)
class ChatMeasured:
    """One strategy on the held-out set, as measured: per request its kind, right answer, allowed answers, the
    greedy reply, the log-probability of each allowed answer as the whole reply, and its input tokens (SmolLM2's
    own, with its chat template; and the hosted tokenizer's). Correctness is derived, so reading a reply
    differently needs no new measurement."""

    strategy: str
    kinds: tuple[str, ...]
    answers: tuple[str, ...]
    candidates: tuple[tuple[str, ...], ...]
    replies: tuple[str, ...]
    logprobs: tuple[tuple[float, ...], ...]
    model_tokens: tuple[int, ...]
    billed_tokens: tuple[int, ...]
    seconds: float

    def predictions(self, view: str) -> list[str | None]:
        """What each reply answers, read the ``view`` way (``strict``, ``lenient`` or ``scored``)."""
        if view == "strict":
            return [strict_answer(r, c) for r, c in zip(self.replies, self.candidates, strict=True)]
        if view == "lenient":
            return [lenient_answer(r, k, c) for r, k, c in zip(self.replies, self.kinds, self.candidates, strict=True)]
        if view == "scored":
            return [
                c[max(range(len(c)), key=lambda i: lp[i])] for c, lp in zip(self.candidates, self.logprobs, strict=True)
            ]
        raise ValueError(f"Unknown view {view!r}; choose one of {', '.join(VIEWS)}.")

    def count(self, view: str, kind: str | None = None) -> tuple[int, int]:
        """``(right, requests)`` over every request, or those of one ``kind``."""
        picked = [
            got == answer
            for got, answer, k in zip(self.predictions(view), self.answers, self.kinds, strict=True)
            if kind in (None, k)
        ]
        if not picked:
            raise ValueError(f"No request of kind {kind!r} was measured.")
        return sum(picked), len(picked)

    def interval(self, view: str, kind: str | None = None) -> tuple[float, float]:
        """The 95 % Wilson interval of the accuracy of :meth:`count`."""
        return wilson_interval(*self.count(view, kind))

    def mean_model_tokens(self) -> float:
        return sum(self.model_tokens) / len(self.model_tokens)

    def mean_billed_tokens(self) -> float:
        return sum(self.billed_tokens) / len(self.billed_tokens)


# ---------------------------------------------------------------- measuring with llama.cpp


def _log_softmax(logits: Any) -> Any:
    import numpy as np

    row = np.asarray(logits, dtype=np.float64)
    shifted = row - row.max()
    return shifted - np.log(np.exp(shifted).sum())


def _common_prefix(first: Sequence[int], second: Sequence[int]) -> int:
    n = 0
    for a, b in zip(first, second, strict=False):
        if a != b:
            break
        n += 1
    return n


class ChatModel:
    """SmolLM2 in llama.cpp, prompted through its own chat template (read from the GGUF file).

    One pass over a prompt gives what both views need: the logits at its last position start every candidate and
    the greedy reply, and each continuation is evaluated from the prompt left in llama.cpp's key-value cache
    (llama.cpp drops the cache past ``n_tokens`` before it evaluates). A prompt that begins like the previous one
    (the same system message, say) evaluates only from where they differ. Both are exact: the cache holds what
    evaluating the prompt again would compute (up to llama.cpp's rounding, which differs a little between a
    batch of tokens and one token at a time: hundredths of a nat)."""

    def __init__(self, n_ctx: int = 1024, n_threads: int | None = 1):
        from course.models import smollm2

        self.llm = smollm2.load_llama(n_ctx=n_ctx, n_threads=n_threads)  # the same threads for prompts
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        template = self.llm.metadata["tokenizer.chat_template"]
        self._template = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True).from_string(template)
        self.stops = {self.llm.token_eos(), *self.tokenize(END_OF_TURN)}

    def render(self, turns: list[dict[str, str]]) -> str:
        """The prompt text the model reads: the chat template applied, with the assistant's turn opened."""
        return self._template.render(messages=turns, add_generation_prompt=True)

    def tokenize(self, text: str) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def _log_probs_after(self, position: int, tokens: Sequence[int]) -> Any:
        """Evaluate ``tokens`` after the first ``position`` tokens in the cache; the log-probabilities of the
        next token."""
        import llama_cpp
        import numpy as np

        self.llm.n_tokens = position
        self.llm.eval(list(tokens))
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self.llm.ctx, -1), shape=(self.llm.n_vocab(),))
        return _log_softmax(logits)

    def run(self, turns: list[dict[str, str]], candidates: Sequence[str]) -> tuple[str, list[float], int]:
        """``(greedy reply, log-probability of each candidate as the whole reply, prompt tokens)``."""
        prompt = self.render(turns)
        tokens = self.tokenize(prompt)
        n = len(tokens)
        if n + MAX_REPLY_TOKENS + 8 > self.llm.n_ctx():
            raise ValueError(f"A prompt of {n} tokens does not fit a context of {self.llm.n_ctx()}.")
        reused = min(_common_prefix(self.llm.input_ids[: self.llm.n_tokens].tolist(), tokens), n - 1)
        after_prompt = self._log_probs_after(reused, tokens[reused:])
        logprobs = []
        for candidate in candidates:
            full = self.tokenize(prompt + candidate + END_OF_TURN)
            if full[:n] != tokens:
                raise RuntimeError("A candidate's tokens merge with the prompt's; it cannot be scored this way.")
            reply = full[n:]
            total = float(after_prompt[reply[0]])
            for i in range(1, len(reply)):
                total += float(self._log_probs_after(n + i - 1, reply[i - 1 : i])[reply[i]])
            logprobs.append(total)
        generated: list[int] = []
        next_token = after_prompt
        while len(generated) < MAX_REPLY_TOKENS:
            token = int(next_token.argmax())
            if token in self.stops:
                break
            generated.append(token)
            next_token = self._log_probs_after(n + len(generated) - 1, [token])
        text = self.llm.detokenize(generated).decode("utf-8", errors="replace")
        return text, logprobs, n


def measure(strategies: Mapping[str, Sequence[Prompted]], model: ChatModel | None = None) -> list[ChatMeasured]:
    """Every strategy's prompts run through SmolLM2 (both views), with a progress bar over every request."""
    from tqdm.auto import tqdm

    from course.lessons.prompting.evaluation import BILLED_TOKENIZER
    from course.text.tokenizers import count_tokens

    model = model or ChatModel()
    total = sum(len(p) for p in strategies.values())
    results = []
    with tqdm(total=total, desc=say("prompting.measuring_smollm2")) as bar:
        for name, prompted in strategies.items():
            began = time.perf_counter()
            replies, logprobs, model_tokens = [], [], []
            for p in prompted:
                reply, scores, n = model.run(messages(p), p.request.candidates)
                replies.append(reply)
                logprobs.append(tuple(scores))
                model_tokens.append(n)
                bar.update(1)
            results.append(
                ChatMeasured(
                    strategy=name,
                    kinds=tuple(p.request.kind for p in prompted),
                    answers=tuple(p.request.answer for p in prompted),
                    candidates=tuple(tuple(p.request.candidates) for p in prompted),
                    replies=tuple(replies),
                    logprobs=tuple(logprobs),
                    model_tokens=tuple(model_tokens),
                    billed_tokens=tuple(count_tokens(billed_text(p), BILLED_TOKENIZER) for p in prompted),
                    seconds=time.perf_counter() - began,
                )
            )
    return results


def table_key(strategies: Mapping[str, Sequence[Prompted]]) -> str:
    """A hash of what the table depends on: every prompt's messages and allowed answers, the model file, the
    reply length and the billed tokenizer (the cache entry's name carries it)."""
    from course.lessons.prompting.evaluation import BILLED_TOKENIZER
    from course.models import smollm2

    content = {
        "model": [smollm2.DISTRIBUTION, smollm2.VERSION, smollm2.GGUF_NAME],
        "max_reply_tokens": MAX_REPLY_TOKENS,
        "billed": BILLED_TOKENIZER,
        "strategies": {
            name: [[messages(p), list(p.request.candidates), p.request.answer] for p in prompted]
            for name, prompted in strategies.items()
        },
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def table_name(strategies: Mapping[str, Sequence[Prompted]]) -> str:
    """The course cache entry of the table for exactly these prompts."""
    return f"{CACHE_NAME}-{table_key(strategies)}"


def table_folder(strategies: Mapping[str, Sequence[Prompted]], n_threads: int | None = 1) -> Path:
    """The cache folder of the table for these prompts, measured into it first when the cache lacks it (a minute
    or two on one core, with a progress bar). Without the model file or llama.cpp it raises the error that says
    what to install."""
    from course.cache import cached_folder

    def build(folder: Path) -> None:
        results = measure(strategies, ChatModel(n_threads=n_threads))
        (folder / TABLE_FILE).write_text(json.dumps([asdict(r) for r in results]), encoding="utf-8")

    return cached_folder(table_name(strategies), build)


def measured_table(strategies: Mapping[str, Sequence[Prompted]], n_threads: int | None = 1) -> list[ChatMeasured]:
    """The measured table, from the course cache when it holds one for exactly these prompts, else measured and
    cached (:func:`table_folder`)."""
    return load_table(table_folder(strategies, n_threads) / TABLE_FILE)


def honest_strategies() -> dict[str, list[Prompted]]:
    """The lesson's strategies as every correct BM25 builds them (the reference's ranking picks the notes and the
    similar examples): what ``course prepare`` measures once, so that neither a student's first run on a class
    server nor a grading kernel measures it again. A BM25 that ranks otherwise gets its own table."""
    from course.fallback import reference_to_build
    from course.lessons.prompting.retrieval import examples_retriever, notes_retriever

    bm25 = reference_to_build("01-beyond-the-prompt", "bm25_scores", CACHE_NAME)
    company = quill()
    retrieve = notes_retriever(company.documents(), bm25)
    return lesson_strategies(company, retrieve, examples_retriever(company_examples(company), bm25))


def load_table(path: Path) -> list[ChatMeasured]:
    """A table written by :func:`measured_table`."""
    rows = json.loads(path.read_text(encoding="utf-8"))
    return [
        ChatMeasured(
            strategy=row["strategy"],
            kinds=tuple(row["kinds"]),
            answers=tuple(row["answers"]),
            candidates=tuple(tuple(c) for c in row["candidates"]),
            replies=tuple(row["replies"]),
            logprobs=tuple(tuple(lp) for lp in row["logprobs"]),
            model_tokens=tuple(row["model_tokens"]),
            billed_tokens=tuple(row["billed_tokens"]),
            seconds=row["seconds"],
        )
        for row in rows
    ]


# ---------------------------------------------------------------- showing the table


def _view_label(view: str) -> str:
    return say(f"prompting.view_{view}")


def _kind_label(kind: str) -> str:
    return say("prompting.routing_tickets" if kind == "route" else "prompting.policy_questions")


def count_with_interval(measured: ChatMeasured, view: str, kind: str) -> str:
    """``right/n (low–high)``: a count and its 95 % interval, never a bare percentage."""
    right, n = measured.count(view, kind)
    low, high = wilson_interval(right, n)
    return say("prompting.count_interval", right=right, n=n, low=low, high=high)


def markdown_table(results: Sequence[ChatMeasured], dollars: dict[str, float]) -> str:
    """One row per strategy: each kind's accuracy in each view (count and interval), input tokens by SmolLM2's
    tokenizer and by the billed one, and ``dollars`` per 1,000 requests."""
    from course.lessons.prompting.evaluation import strategy_label

    headers = [say("prompting.col_strategy")]
    headers += [say("prompting.col_kind_view", kind=_kind_label(k), view=_view_label(v)) for k in KINDS for v in VIEWS]
    headers += [
        say("prompting.col_smollm2_tokens"),
        say("prompting.col_billed_tokens"),
        say("prompting.dollars_per_1000"),
    ]
    lines = ["| " + " | ".join(headers) + " |", "| --- |" + " ---: |" * (len(headers) - 1)]
    for r in results:
        cells = [strategy_label(r.strategy)] + [count_with_interval(r, v, k) for k in KINDS for v in VIEWS]
        cells += [f"{r.mean_model_tokens():.0f}", f"{r.mean_billed_tokens():.0f}", f"${dollars[r.strategy]:.4f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _named(results: Sequence[ChatMeasured], test: Callable[[str], bool]) -> ChatMeasured:
    found = [r for r in results if test(r.strategy)]
    if len(found) != 1:
        raise ValueError("findings() reads the table of lesson_strategies(): every strategy once, as it names them.")
    return found[0]


def findings(results: Sequence[ChatMeasured]) -> list[str]:
    """The numbers the lesson's narration reads, one line each: whether notes and instructions alone make the
    model answer tickets in the format, what solved examples as turns do, whether it finds a policy's number
    with one retrieved note against every note, and what the scored view sees on tickets."""
    zero = _named(results, lambda s: s == "zero-shot")
    three_c = _named(results, lambda s: s == "3C")
    every = _named(results, lambda s: s == "all notes")
    rag = _named(results, lambda s: s.startswith("RAG"))
    random_shots = _named(results, lambda s: s.startswith("few-shot") and s.endswith("random"))
    similar = _named(results, lambda s: s.startswith("few-shot") and s.endswith("similar"))
    no_examples = (zero, three_c, every, rag)
    tickets = zero.count("strict", "route")[1]
    questions = zero.count("strict", "answer")[1]
    return [
        say(
            "prompting.real_instruction_line",
            strict=max(r.count("strict", "route")[0] for r in no_examples),
            lenient=max(r.count("lenient", "route")[0] for r in no_examples),
            n=tickets,
        ),
        say(
            "prompting.real_examples_line",
            random=random_shots.count("strict", "route")[0],
            similar=similar.count("strict", "route")[0],
            n=tickets,
            similar_questions=similar.count("strict", "answer")[0],
            questions=questions,
        ),
        say(
            "prompting.real_copy_line",
            rag=rag.count("lenient", "answer")[0],
            every=every.count("lenient", "answer")[0],
            n=questions,
            rag_tokens=rag.mean_model_tokens(),
            every_tokens=every.mean_model_tokens(),
        ),
        say(
            "prompting.real_scored_line",
            zero=zero.count("scored", "route")[0],
            three_c=three_c.count("scored", "route")[0],
            rag=rag.count("scored", "route")[0],
            every=every.count("scored", "route")[0],
            n=tickets,
        ),
    ]


def plot_accuracy(axes: Sequence[Any], results: Sequence[ChatMeasured]) -> None:
    """Accuracy per strategy with 95 % interval bars, the three views side by side, tickets on ``axes[0]`` and
    questions on ``axes[1]``."""
    from course.lessons.prompting.evaluation import strategy_label

    width = 0.8 / len(VIEWS)
    positions = range(len(results))
    for ax, kind in zip(axes, KINDS, strict=True):
        for offset, view in enumerate(VIEWS):
            counts = [r.count(view, kind) for r in results]
            shares = [right / n for right, n in counts]
            intervals = [wilson_interval(right, n) for right, n in counts]
            errors = [[s - low for s, (low, _) in zip(shares, intervals, strict=True)],
                      [high - s for s, (_, high) in zip(shares, intervals, strict=True)]]  # fmt: skip
            xs = [x + (offset - (len(VIEWS) - 1) / 2) * width for x in positions]
            ax.bar(xs, shares, width, yerr=errors, capsize=2, label=_view_label(view))
        ax.set_xticks(list(positions), [strategy_label(r.strategy) for r in results], rotation=30, ha="right")
        ax.set_ylim(0, 1.05)
        ax.set_title(_kind_label(kind), fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel(say("prompting.accuracy_interval"))
    axes[0].legend(fontsize=8)
