"""How the grader exercises lesson 06's exercises, the same way on the student's code and on the reference.

``greedy_session`` hands the greedy loop a scripted session built from plain data; ``onnx_export`` exports a tiny
model built from the case and runs the file; ``int8_quantisation`` quantises a one-MatMul file and inspects and runs
what was written; ``modelfile_parsed`` parses a Modelfile as Ollama reads it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


class ScriptedSession:
    """Stands in for an ONNX Runtime session over a vocabulary of ``vocab`` tokens, and records what it is fed.

    ``counting``: the logits at each position favour (that position's token + 1) mod ``vocab``.
    ``table``: the logits at position ``i`` are row ``(token + i) mod vocab`` of ``table`` (vocab x vocab).
    """

    def __init__(self, vocab: int, table: np.ndarray | None = None) -> None:
        self.vocab, self.table = vocab, table
        self.fed: list[dict] = []

    def run(self, output_names, feed: dict) -> list[np.ndarray]:
        x = feed["input_ids"]
        self.fed.append({"dtype": str(x.dtype), "shape": list(x.shape), "ids": np.asarray(x).tolist()})
        tokens = np.asarray(x)[0].astype(np.int64)
        if self.table is None:
            logits = np.zeros((1, len(tokens), self.vocab), dtype=np.float32)
            logits[0, np.arange(len(tokens)), (tokens + 1) % self.vocab] = 1.0
        else:
            logits = self.table[(tokens + np.arange(len(tokens))) % self.vocab][None]
        return [logits]


def greedy_session(target, case: dict) -> dict:
    """``target(session, prompt, max_new_tokens, eos_id)`` on a scripted session: the new tokens, and every
    input the session was fed (dtype, shape and ids: the whole sequence so far, each step)."""
    table = case.get("table")
    session = ScriptedSession(case["vocab"], None if table is None else np.asarray(table, dtype=np.float32))
    new = target(session, list(case["prompt"]), case["max_new_tokens"], case["eos_id"])
    return {"new": new, "fed": session.fed}


def _run_onnx(path: Path, feeds: list[np.ndarray]) -> dict:
    """What an ONNX file computes: its input and output names, and its first output on each of ``feeds``."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.log_severity_level = 1, 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    first = session.get_inputs()[0].name
    return {
        "inputs": [value.name for value in session.get_inputs()],
        "outputs": [value.name for value in session.get_outputs()],
        "results": [session.run(None, {first: feed})[0] for feed in feeds],
    }


def onnx_export(target, case: dict) -> dict:
    """``target(model, path)`` on a tiny Phi-3 model built from the case (seed, width, vocabulary), then the file
    run in ONNX Runtime on prompts of other batch sizes and lengths than any example: names and logits."""
    import tempfile

    from course.models.tiny import build_tiny

    model = build_tiny(
        "phi-3.5-mini",
        seed=case["seed"],
        vocab_size=case["vocab"],
        hidden_size=case["hidden"],
        intermediate_size=2 * case["hidden"],
        num_hidden_layers=1,
        num_attention_heads=4,
        num_key_value_heads=4,
    ).to("cpu")
    rng = np.random.default_rng(case["seed"])
    feeds = [rng.integers(0, case["vocab"], size=shape, dtype=np.int64) for shape in case["shapes"]]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.onnx"
        target(model, path)
        if not path.is_file():
            return {"written": False}
        return {"written": True, **_run_onnx(path, feeds)}


def int8_quantisation(target, case: dict) -> dict:
    """``target(source, target_path)`` on a one-MatMul ONNX file built from the case: the operators and the weight
    types of the file it writes, and what that file computes on one input."""
    import tempfile

    import onnx

    from course.lessons.edge.sweep import matmul_model

    rng = np.random.default_rng(case["seed"])
    feed = rng.standard_normal((case["tokens"], case["size"])).astype(np.float32)
    with tempfile.TemporaryDirectory() as folder:
        source, written = Path(folder) / "model.onnx", Path(folder) / "model.int8.onnx"
        matmul_model(case["size"], source, seed=case["seed"])
        target(source, written)
        if not written.is_file():
            return {"written": False}
        model = onnx.load(str(written))
        stored = sorted({onnx.helper.tensor_dtype_to_np_dtype(t.data_type).name for t in model.graph.initializer})
        ops = sorted({node.op_type for node in model.graph.node})
        ran = _run_onnx(written, [feed])
    return {"written": True, "ops": ops, "stored_types": stored, "result": ran["results"][0]}


def modelfile_parsed(target, case: dict) -> dict:
    """``target(gguf_file, instruction)``, a Modelfile's text, parsed the way Ollama reads it: the weights it names,
    the prompt its TEMPLATE renders for a few user texts, and its temperature and stop strings."""
    from course.lessons.edge.ollama import parse_modelfile, render_template

    text = target(case["gguf_file"], case["instruction"])
    if not isinstance(text, str):
        return {"text": False}
    parsed = parse_modelfile(text)
    parameters = parsed.parameters
    return {
        "text": True,
        "from": parsed.source,
        "rendered": [render_template(parsed.template, prompt) for prompt in case["prompts"]],
        "temperature": [float(value) for value in parameters.get("temperature", [])],
        "stop": sorted(parameters.get("stop", [])),
    }
