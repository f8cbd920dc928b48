"""Lesson 06, edge deployment: reference solutions and the declarations of its graded exercises."""

from __future__ import annotations

import random
from collections.abc import Sequence
from types import SimpleNamespace

import numpy as np

from course.grading.exercise import EXACT, Exercise, call, close
from course.lessons.edge.export import INPUT_NAME
from course.lessons.edge.runtimes import LogitsFn, LogitsSession, as_ids

# ---------------------------------------------------------------- exercise 2: greedy generation over a session


def ort_greedy(session, prompt_ids: Sequence[int], max_new_tokens: int, eos_id: int | None = None) -> list[int]:
    """Greedy decoding over an ONNX Runtime session (or anything with its ``run(output_names, feed)``): append
    the most likely next token until ``eos_id`` or ``max_new_tokens``. Returns only the new tokens (without the
    EOS token)."""
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be 0 or more, not {max_new_tokens}")
    ids = as_ids(prompt_ids)
    new: list[int] = []
    for _ in range(max_new_tokens):
        logits = session.run(None, {INPUT_NAME: np.asarray([ids], dtype=np.int64)})[0]
        token = int(np.argmax(logits[0, -1]))
        if token == eos_id:
            break
        ids.append(token)
        new.append(token)
    return new


def greedy_generate(
    logits_fn: LogitsFn, prompt_ids: Sequence[int], max_new_tokens: int, eos_id: int | None = None
) -> list[int]:
    """:func:`ort_greedy` over any ``ids -> logits`` function (PyTorch, ONNX Runtime)."""
    return ort_greedy(LogitsSession(logits_fn), prompt_ids, max_new_tokens, eos_id)


def _greedy_case(kind, vocab, prompt, max_new_tokens, eos_id=None, table=None) -> dict:
    return {"kind": kind, "vocab": vocab, "table": table, "prompt": prompt, "max_new_tokens": max_new_tokens,
            "eos_id": eos_id}  # fmt: skip


def _greedy_cases(rng: random.Random) -> list[dict]:
    cases = []
    for index in range(14):
        vocab = rng.randint(3, 40)
        prompt = [rng.randrange(vocab) for _ in range(rng.randint(1, 8))]
        eos_id = rng.choice([None, rng.randrange(vocab), rng.randrange(vocab)])
        limit = rng.randint(0, 16)
        if index % 2:
            generator = np.random.default_rng(rng.getrandbits(32))
            table = generator.standard_normal((vocab, vocab)).astype(np.float32)
            cases.append(_greedy_case("table", vocab, prompt, limit, eos_id, table))
        else:
            cases.append(_greedy_case("counting", vocab, prompt, limit, eos_id))
    return cases


_GREEDY_EDGE_CASES = [
    _greedy_case("counting", 6, [1], 10, 4),  # stop at EOS and leave it out; feed the whole sequence each step
    _greedy_case("counting", 6, [0, 1], 3),  # the last position decides
    _greedy_case("counting", 6, [1, 2, 3], 0, 4),  # no new tokens asked, none returned
    _greedy_case("counting", 6, [3], 5, 4),  # the very first token is EOS
    _greedy_case("counting", 10, [9], 12),  # wraps around the vocabulary
]

# ---------------------------------------------------------------- exercise 1: the ONNX export call


def export_onnx(model, path) -> None:
    """Export a causal LM to ``path`` as ONNX with PyTorch's dynamo exporter: ``input_ids`` in, ``logits`` out,
    batch and sequence length left dynamic."""
    import torch

    from course.lessons.edge.export import logits_only

    example = torch.zeros((2, 8), dtype=torch.int64)
    dims = {0: torch.export.Dim("batch", min=1, max=1024), 1: torch.export.Dim("sequence", min=2, max=4096)}
    program = torch.onnx.export(
        logits_only(model),
        (example,),
        dynamo=True,
        input_names=["input_ids"],
        output_names=["logits"],
        dynamic_shapes={"input_ids": dims},
        verbose=False,
    )
    if program is None:  # only the legacy exporter (dynamo=False) returns nothing
        raise RuntimeError("torch.onnx.export returned no ONNX program")
    program.save(str(path))


def _export_cases(rng: random.Random) -> list[dict]:
    cases = []
    for _ in range(4):  # each case is one export: a few seconds
        shapes = [[1, rng.randint(1, 5)], [rng.randint(2, 3), rng.randint(9, 20)]]
        cases.append({"seed": rng.randrange(1000), "vocab": rng.randint(20, 60), "hidden": 32, "shapes": shapes})
    return cases


# one token and a long prompt: a file traced for one fixed shape fails on both
_EXPORT_EDGE_CASES = [{"seed": 0, "vocab": 24, "hidden": 32, "shapes": [[1, 1], [1, 12], [3, 7]]}]

# ---------------------------------------------------------------- exercise 3: the int8 quantisation call


def quantize_int8(source, target) -> None:
    """Quantise the weights of the ONNX file ``source`` to int8 (dynamic quantisation) and save it at ``target``."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(source, target, weight_type=QuantType.QInt8)


def _quantize_cases(rng: random.Random) -> list[dict]:
    return [
        {"seed": rng.randrange(1000), "size": rng.choice([32, 48, 64, 96]), "tokens": rng.randint(1, 4)}
        for _ in range(4)
    ]


_QUANTIZE_EDGE_CASES = [{"seed": 0, "size": 64, "tokens": 1}]

# ---------------------------------------------------------------- exercise 4: the Modelfile


def modelfile(gguf_file: str, instruction: str) -> str:
    """An Ollama Modelfile: ``gguf_file`` (beside the Modelfile), the course's prompt template around the user's text,
    greedy decoding, and the two ways an answer ends (the EOS token, or the template's next ``###``)."""
    from course.lessons.finetune.instructions import format_prompt

    template = format_prompt(instruction, "{{ .Prompt }}")
    return "\n".join(
        [
            f"FROM ./{gguf_file}",
            f'TEMPLATE """{template}"""',
            "PARAMETER temperature 0",
            'PARAMETER stop "</s>"',
            'PARAMETER stop "###"',
        ]
    )


_WORDS = ["red", "cat", "navy", "boat", "pink", "house", "apple", "lilac"]


def _modelfile_cases(rng: random.Random) -> list[dict]:
    instructions = ["Translate the phrase into French .", "Say this in French .", "Name the colour ."]
    cases = []
    for _ in range(4):
        prompts = [" ".join(rng.sample(_WORDS, rng.randint(1, 3))) for _ in range(2)]
        name = f"model-{rng.randrange(100)}.{rng.choice(['f32', 'q8_0', 'q4_0'])}.gguf"
        cases.append({"gguf_file": name, "instruction": rng.choice(instructions), "prompts": prompts})
    return cases


_MODELFILE_EDGE_CASES = [
    {"gguf_file": "task-model.q8_0.gguf", "instruction": "Translate the phrase into French .", "prompts": ["red cat"]}
]

# ---------------------------------------------------------------- exercise 5: choosing the deployment


def choose_runtime(results: Sequence, max_exact_match_drop: float = 0.0):
    """The runtime to deploy, from measurements whose first entry is the reference (PyTorch fp32).

    A runtime qualifies when it keeps the task (exact-match at least the best of all ``results``, the
    reference's included, minus ``max_exact_match_drop``) and generates strictly more tokens/s than the
    reference. The smallest qualifying file wins, a tie in size goes to the faster one, and a tie in both to
    the one that comes first in ``results`` (``min`` keeps the first of equal keys); when none qualifies, the
    reference stays.
    """
    if not results:
        raise ValueError("results is empty; run benchmark(...) first.")
    if not 0.0 <= max_exact_match_drop <= 1.0:
        raise ValueError("max_exact_match_drop is a fraction between 0 and 1 (0.02 means two points).")
    reference = results[0]
    best = max(r.exact_match for r in results)
    qualified = [
        r
        for r in results[1:]
        if r.exact_match >= best - max_exact_match_drop - 1e-12 and r.tokens_per_second > reference.tokens_per_second
    ]
    return min(qualified, key=lambda r: (r.size_bytes, -r.tokens_per_second), default=reference)


def choose_deployment(results: Sequence, max_drop: float = 0.0) -> str:
    """The name of :func:`choose_runtime`'s choice, with every tie rule the exercise states."""
    return choose_runtime(results, max_drop).name


def _record(name, size, tokens, em) -> SimpleNamespace:
    return SimpleNamespace(name=name, size_bytes=size, tokens_per_second=tokens, exact_match=em)


_NAMES = ["PyTorch fp32", "ORT fp32", "ORT int8", "ORT int4", "llama.cpp Q8_0", "llama.cpp Q4_K_M", "TensorRT fp16"]


def _choose_cases(rng: random.Random) -> list[dict]:
    cases = []
    for _ in range(20):
        names = rng.sample(_NAMES, rng.randint(1, 5))
        # sizes and speeds from short lists, so that ties happen; exact-match in 32nds and drops in 32nds or
        # off that grid, so that no comparison sits on a floating-point rounding boundary
        records = [
            _record(
                name,
                rng.choice([1000, 2000, 4000, rng.randint(500, 8000)]),
                rng.choice([50.0, 100.0, 150.0, 300.0, round(rng.uniform(20, 400), 1)]),
                rng.randint(16, 32) / 32,
            )
            for name in names
        ]
        drop = rng.choice([0.0, 0.0, 1 / 32, 2 / 32, 4 / 32, 0.03, 0.1, 1.0])
        cases.append(call(records, drop) if drop or rng.random() < 0.5 else call(records))
    return cases


_BASE = _record("PyTorch fp32", 4000, 100.0, 0.90)
_ROWS = [_BASE, _record("ORT fp32", 4000, 300.0, 0.90), _record("ORT int8", 1000, 250.0, 0.80)]
_CHOOSE_EDGE_CASES = [
    call(_ROWS),  # int8 lost 10 points: not allowed with max_drop=0
    call(_ROWS, max_drop=0.10),  # the smallest that qualifies, even if not the fastest
    call(_ROWS, 0.05),
    call([_BASE, _record("ORT int8", 1000, 90.0, 0.90)]),  # slower than the reference: nothing qualifies
    call([_BASE, _record("x", 1000, 100.0, 0.9)]),  # as fast is not faster
    call([_BASE, _record("slower", 1000, 200.0, 0.9), _record("faster", 1000, 300.0, 0.9)]),  # same size
    call([_BASE, _record("first", 1000, 200.0, 0.9), _record("second", 1000, 200.0, 0.9)]),  # and same speed
    call([_record("ref", 4000, 100.0, 0.5), _record("small", 1000, 200.0, 0.9)]),  # the best need not be the ref
    call([_record("only", 10, 1.0, 0.0)]),
]


# ---------------------------------------------------------------- the visible tests of the test cells

_ORT_GREEDY_TESTS = r'''
class ScriptedSession:
    """Favours (last token + 1) mod 6 and checks what it is fed."""

    def __init__(self):
        self.lengths = []

    def run(self, output_names, feed):
        x = feed["input_ids"]
        assert x.dtype == np.int64 and x.ndim == 2 and x.shape[0] == 1, "feed int64 of shape (1, n)"
        self.lengths.append(x.shape[1])
        logits = np.zeros((1, x.shape[1], 6), dtype=np.float32)
        logits[0, np.arange(x.shape[1]), (x[0] + 1) % 6] = 1.0
        return [logits]


scripted = ScriptedSession()
assert ort_greedy(scripted, [1], 10, eos_id=4) == [2, 3], "stop at EOS and leave it out"
assert scripted.lengths == [1, 2, 3], "each step must feed the whole sequence so far"
assert ort_greedy(ScriptedSession(), [0, 1], 3) == [2, 3, 4], "the last position decides"
assert ort_greedy(session, ids, 0, tokenizer.eos_token_id) == [], "no new tokens asked, none returned"
'''

_EXPORT_ONNX_TESTS = r"""
import tempfile

probe = tempfile.mkdtemp()
export_onnx(model, f"{probe}/model.onnx")
check = ort.InferenceSession(f"{probe}/model.onnx", providers=["CPUExecutionProvider"])
assert [i.name for i in check.get_inputs()] == ["input_ids"], "one input, named input_ids"
assert [o.name for o in check.get_outputs()] == ["logits"], "one output, named logits"
for shape in [(1, 3), (2, 11)]:  # other batch sizes and lengths than your example: the axes must be dynamic
    probe_ids = np.ones(shape, dtype=np.int64)
    out = check.run(None, {"input_ids": probe_ids})[0]
    expected = model(input_ids=torch.from_numpy(probe_ids), use_cache=False).logits.detach().numpy()
    assert out.shape == expected.shape and np.allclose(out, expected, atol=1e-4), f"logits differ for {shape}"
"""

_QUANTIZE_INT8_TESTS = r"""
import tempfile

probe = tempfile.mkdtemp()
quantize_int8(onnx_fp32, f"{probe}/model.int8.onnx")
probe_ops = export.op_types(f"{probe}/model.int8.onnx")
assert probe_ops["MatMulInteger"] > 0, "weight MatMuls become integer MatMulInteger nodes"
assert probe_ops["DynamicQuantizeLinear"] > 0, "activations are quantised at run time (dynamic)"
assert export.size_bytes(f"{probe}/model.int8.onnx") < export.size_bytes(onnx_fp32) / 2, "int8 weights: a smaller file"
"""

_MODELFILE_TESTS = r"""
text = modelfile("task-model.q8_0.gguf", TASK_INSTRUCTION)
parsed = ollama.parse_modelfile(text)
assert parsed.source == "./task-model.q8_0.gguf", "FROM names the GGUF file beside the Modelfile"
rendered = ollama.render_template(parsed.template, "red cat")
assert rendered == format_prompt(TASK_INSTRUCTION, "red cat"), f"not the training prompt: {rendered!r}"
assert parsed.parameters.get("temperature") == ["0"], "greedy decoding: PARAMETER temperature 0"
assert sorted(parsed.parameters.get("stop", [])) == ["###", "</s>"], "stop at </s> and at ###"
"""

_CHOOSE_DEPLOYMENT_TESTS = r"""
from types import SimpleNamespace


def _r(name, size, tokens, em):
    return SimpleNamespace(name=name, size_bytes=size, tokens_per_second=tokens, exact_match=em)


measured = [r.name for r in results]
assert choose_deployment(results) in measured, "return the name of one of the measured runtimes"
assert choose_deployment(results, max_drop=1.0) in measured
base = _r("PyTorch fp32", 4000, 100.0, 0.90)
rows_ = [base, _r("ORT fp32", 4000, 300.0, 0.90), _r("ORT int8", 1000, 250.0, 0.80)]
assert choose_deployment(rows_) == "ORT fp32", "int8 lost 10 points: not allowed with max_drop=0"
assert choose_deployment(rows_, max_drop=0.10) == "ORT int8", "the smallest that qualifies, even if not the fastest"
assert choose_deployment([base, _r("ORT int8", 1000, 90.0, 0.90)]) == "PyTorch fp32", "slower than the reference"
_twins = [base, _r("first", 1000, 200.0, 0.90), _r("second", 1000, 200.0, 0.90)]
assert choose_deployment(_twins) == "first", "same size and the same tokens/s: the one that comes first in results"
"""


EXERCISES = [
    Exercise(
        grade_id="test-ort-greedy",
        target="ort_greedy",
        points=2,
        about=(
            "runs your loop over sessions it builds itself (other vocabularies, random logits, with or without EOS), "
            "and compares the new tokens and what the session was fed with the course's loop."
        ),
        tests=_ORT_GREEDY_TESTS,
        reference=ort_greedy,
        cases=_greedy_cases,
        edge_cases=_GREEDY_EDGE_CASES,
        compare=EXACT,
        driver="course.lessons.edge.drivers:greedy_session",
    ),
    Exercise(
        grade_id="test-export-onnx",
        target="export_onnx",
        points=2,
        about=(
            "exports tiny models it builds itself (other seeds and vocabularies), takes the files your call writes "
            "(model.onnx and any external data beside it, 2 MB at most), runs them in ONNX Runtime in its own "
            "process on batch sizes and lengths it draws, and compares names and logits with the course's export."
        ),
        tests=_EXPORT_ONNX_TESTS,
        reference=export_onnx,
        cases=_export_cases,
        edge_cases=_EXPORT_EDGE_CASES,
        compare=close(rtol=1e-4, atol=1e-4),
        driver="course.lessons.edge.drivers:onnx_export",
        grader_step="course.lessons.edge.drivers:onnx_export_run",
    ),
    Exercise(
        grade_id="test-quantize-int8",
        target="quantize_int8",
        points=2,
        about=(
            "quantises one-MatMul models it builds itself, takes the file your call writes, and compares its "
            "operators, stored weight types and outputs (run in ONNX Runtime in the grader's own process) with "
            "the course's."
        ),
        tests=_QUANTIZE_INT8_TESTS,
        reference=quantize_int8,
        cases=_quantize_cases,
        edge_cases=_QUANTIZE_EDGE_CASES,
        compare=close(rtol=1e-5, atol=1e-5),
        driver="course.lessons.edge.drivers:int8_quantisation",
        grader_step="course.lessons.edge.drivers:int8_quantisation_run",
    ),
    Exercise(
        grade_id="test-modelfile",
        target="modelfile",
        points=2,
        about=(
            "parses your Modelfile for other file names and instructions, renders its TEMPLATE for texts it draws, "
            "and compares FROM, the rendered prompts, the temperature and the stop strings with the course's."
        ),
        tests=_MODELFILE_TESTS,
        reference=modelfile,
        cases=_modelfile_cases,
        edge_cases=_MODELFILE_EDGE_CASES,
        compare=EXACT,
        driver="course.lessons.edge.drivers:modelfile",
        grader_step="course.lessons.edge.drivers:modelfile_parsed",
    ),
    Exercise(
        grade_id="test-choose-deployment",
        target="choose_deployment",
        points=2,
        about=(
            "calls your function on lists of measurements it draws itself (ties in size, speed and exact-match, "
            "several values of max_drop), and compares with the course's choice."
        ),
        tests=_CHOOSE_DEPLOYMENT_TESTS,
        reference=choose_deployment,
        cases=_choose_cases,
        edge_cases=_CHOOSE_EDGE_CASES,
    ),
]
