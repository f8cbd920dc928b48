"""Ship the winner: the chosen pipeline's model exported as in lesson 06, run in local runtimes, measured
against the PyTorch original, and answered through a small local assistant.

Lesson 07 §7. Exporting to ONNX, quantising to int8 and the greedy loop over an ONNX Runtime session are lesson
06's exercises, so the functions here take them as arguments: the lesson passes the student's own (brought from
lesson 06), falling back to lesson 06's references at home. llama.cpp runs the GGUF file where its Python binding
is installed (``course.lessons.edge.llamacpp``); it is fed the course tokenizer's ids, so tokenisation is the same
in every runtime and only the engine differs.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from course.languages import say
from course.lessons.capstone.pipelines import MAX_NEW_TOKENS, stopped
from course.lessons.prompting.helpdesk import Document, Prompted, Request

#: ``decode(prompt_ids, max_new_tokens) -> new ids``: greedy decoding in one runtime, stopping at end-of-sequence.
Decoder = Callable[[list[int], int], list[int]]
#: Tokens generated (no end-of-sequence stop) to time a runtime's decoding speed.
SPEED_TOKENS = 16
SPEED_REPEATS = 5


def merged(model):
    """A plain transformers model: LoRA adapters (``peft``) merged into their weights, as exporters expect; a model
    without adapters is returned as it is."""
    import copy

    return copy.deepcopy(model).merge_and_unload() if hasattr(model, "merge_and_unload") else model


@dataclass(frozen=True)
class Shipped:
    """The shipped model's files: PyTorch (safetensors), ONNX fp32 and int8 (lesson 06's ``EdgeFiles``), and a
    GGUF file at 8 bits for llama.cpp and Ollama."""

    pytorch: Path
    onnx_fp32: Path
    onnx_int8: Path
    gguf_q8_0: Path


def ship(model, tokenizer, export_onnx: Callable, quantize_int8: Callable) -> Shipped:
    """Export ``model`` with lesson 06's ``export_onnx`` and ``quantize_int8`` (cached by the model and the two
    functions' code) and write its GGUF file beside them."""
    from course.lessons.edge.export import export_all
    from course.lessons.edge.gguf import write_gguf

    files = export_all(model, tokenizer, export_onnx, quantize_int8)
    gguf_file = files.folder / "model-q8_0.gguf"
    if not gguf_file.is_file():
        write_gguf(model, tokenizer, gguf_file, precision="q8_0", name="quill-help-desk")
    return Shipped(files.pytorch, files.onnx_fp32, files.onnx_int8, gguf_file)


def decoders(shipped: Shipped, greedy: Callable, eos_id: int) -> dict[str, tuple[Decoder, Path]]:
    """The runtimes to compare, each as ``(decoder, file)``: PyTorch and ONNX Runtime fp32 and int8, decoded by
    ``greedy(session, prompt_ids, max_new_tokens, eos_id)`` (lesson 06's loop, the same for all three), and
    llama.cpp with its own KV-cached loop when its binding is installed."""
    from course.lessons.edge import llamacpp
    from course.lessons.edge.runtimes import LogitsSession, load_pytorch, load_session, torch_logits

    pytorch = LogitsSession(torch_logits(load_pytorch(shipped.pytorch)))
    sessions = {
        "PyTorch fp32": (pytorch, shipped.pytorch),
        "ONNX Runtime fp32": (load_session(shipped.onnx_fp32), shipped.onnx_fp32),
        "ONNX Runtime int8": (load_session(shipped.onnx_int8), shipped.onnx_int8),
    }

    def decoder(session: object) -> Decoder:
        return lambda ids, n: list(greedy(session, ids, n, eos_id))

    chosen: dict[str, tuple[Decoder, Path]] = {
        name: (decoder(session), path) for name, (session, path) in sessions.items()
    }
    if llamacpp.available():
        llm = llamacpp.load_llama(shipped.gguf_q8_0)
        chosen["llama.cpp Q8_0"] = (lambda ids, n: llamacpp.greedy(llm, ids, n, eos_id), shipped.gguf_q8_0)
    return chosen


@dataclass(frozen=True)
class RuntimeResult:
    """One runtime on the held-out requests: exact match (after the stop sequence), file size and decoding speed."""

    runtime: str
    exact: float
    size_bytes: int
    tokens_per_second: float


def measure_runtimes(
    runtimes: dict[str, tuple[Decoder, Path]],
    tokenizer,
    prompted: Sequence[Prompted],
    score: Callable[[str, str], tuple[bool, float]],
) -> list[RuntimeResult]:
    """Answer every prompt in every runtime and score it with ``score`` (the student's); time
    :data:`SPEED_TOKENS` greedy tokens after the first prompt, the median of :data:`SPEED_REPEATS` runs."""
    from tqdm.auto import tqdm

    from course.lessons.edge.export import size_bytes
    from course.lessons.prompting.prompts import render

    if not prompted:
        raise ValueError("measure_runtimes needs at least one prompt.")
    prompt_ids = [tokenizer(render(p), add_special_tokens=False)["input_ids"] for p in prompted]
    results = []
    for name, (decode, path) in tqdm(runtimes.items(), desc=say("capstone.progress_runtimes")):
        right = 0
        for ids, p in zip(prompt_ids, prompted, strict=True):
            reply = tokenizer.decode(decode(list(ids), MAX_NEW_TOKENS), skip_special_tokens=True).strip()
            right += bool(score(stopped(reply), p.request.answer)[0])
        seconds = []
        for _ in range(SPEED_REPEATS):
            start = time.perf_counter()
            produced = decode(list(prompt_ids[0]), SPEED_TOKENS)
            seconds.append((time.perf_counter() - start) / max(1, len(produced)))
        results.append(RuntimeResult(name, right / len(prompted), size_bytes(path), 1 / statistics.median(seconds)))
    return results


def markdown_table(results: Sequence[RuntimeResult]) -> str:
    header = [say(f"capstone.col_{column}") for column in ("runtime", "exact_match", "file_size", "tokens_per_second")]
    lines = ["| " + " | ".join(header) + " |", "| --- | ---: | ---: | ---: |"]
    for r in results:
        lines.append(f"| {r.runtime} | {r.exact:.0%} | {r.size_bytes / 1024:,.0f} KiB | {r.tokens_per_second:,.0f} |")
    return "\n".join(lines)


class Assistant:
    """The shipped help desk, local: a request's prompt is built as the winning pipeline builds it (with notes
    packed by ``pack`` when the pipeline retrieves), decoded in one runtime and cut at the stop sequence."""

    def __init__(
        self,
        tokenizer,
        decode: Decoder,
        prompt: Callable[[Request, Sequence[Document]], Prompted],
        documents: Sequence[Document],
    ):
        self.tokenizer, self.decode, self.prompt, self.documents = tokenizer, decode, prompt, tuple(documents)

    def reply(self, text: str, kind: str) -> str:
        """The answer to a ticket (``kind`` ``"route"``) or a question (``"answer"``)."""
        from course.lessons.prompting.prompts import render

        if kind not in ("route", "answer"):
            raise ValueError(f"kind is 'route' (a ticket) or 'answer' (a question), not {kind!r}.")
        if not text.strip():
            raise ValueError(say("capstone.error_empty_request"))
        request = Request(kind, text.strip(), answer="", candidates=(), source="")
        ids = self.tokenizer(render(self.prompt(request, self.documents)), add_special_tokens=False)["input_ids"]
        reply = self.tokenizer.decode(self.decode(list(ids), MAX_NEW_TOKENS), skip_special_tokens=True)
        return stopped(reply.strip())


def assistant_widget(assistant: Assistant):
    """A text box, a choice between ticket and question, and the assistant's reply: the local command, in the
    notebook."""
    import ipywidgets as widgets

    text = widgets.Text(placeholder=say("capstone.widget_placeholder"), layout=widgets.Layout(width="60%"))
    choices = [(say("capstone.widget_ticket"), "route"), (say("capstone.widget_question"), "answer")]
    kind = widgets.ToggleButtons(options=choices, value="answer")
    button = widgets.Button(description=say("capstone.widget_ask"))
    out = widgets.Output()

    def on_click(_):
        out.clear_output()
        with out:
            try:
                print(assistant.reply(text.value, kind.value))
            except ValueError as error:
                print(error)

    button.on_click(on_click)
    return widgets.VBox([widgets.HBox([text, kind, button]), out])
