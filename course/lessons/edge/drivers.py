"""How the grader exercises lesson 06's exercises, the same way on the student's code and on the reference.

``greedy_session`` hands the greedy loop a scripted session built from plain data; ``onnx_export`` exports a tiny
model built from the case; ``int8_quantisation`` quantises a one-MatMul file; ``modelfile`` asks for a Modelfile.

Whatever runs in the kernel, this module included, the student's solution cell can replace. So the three file
drivers hand back what the student's code wrote (the files' bytes, the Modelfile's text), and the grader step
named beside each (``onnx_export_run``, ``int8_quantisation_run``, ``modelfile_parsed``) runs, inspects or parses
it in the grader's own process (ONNX files in a child process with limits: ``onnx_check``).
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


#: The most an ONNX driver hands back (bytes, all files together): several times the course's export of its tiny
#: models, and little enough that an exercise's five cases, base64-encoded, fit what a kernel may hand back
#: (``course.grading.probe.RESULT_BYTES``).
MAX_HANDED_BACK_BYTES = 2_000_000


def _files(folder: Path, leave_out: tuple[str, ...] = ()) -> dict | None:
    """The regular files in ``folder`` (the file written and its external data), as data; None when they are
    more than ``MAX_HANDED_BACK_BYTES``."""
    files = {}
    for path in sorted(folder.iterdir()):
        if path.name in leave_out or path.is_symlink() or not path.is_file():
            continue
        files[path.name] = path.read_bytes()
        if sum(map(len, files.values())) > MAX_HANDED_BACK_BYTES:
            return None
    return files


def onnx_export(target, case: dict) -> dict:
    """``target(model, path)`` on a tiny Phi-3 model built from the case (seed, width, vocabulary); hands back
    the files it wrote (``model.onnx`` and any external data beside it). The grader runs them itself
    (:func:`onnx_export_run`): nothing in this kernel decides whether the export works."""
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
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.onnx"
        target(model, path)
        if not path.is_file():
            return {"written": False}
        files = _files(Path(folder))
    return {"written": True, "too_large": True} if files is None else {"written": True, "files": files}


def _ran(handed_back: object, model: str, feeds: list[np.ndarray]) -> dict:
    """What the files a driver handed back compute (:func:`course.lessons.edge.onnx_check.run_files`), in a
    child process of the grader; what a driver handed back without files stays as it is."""
    from course.lessons.edge.onnx_check import run_files

    if not isinstance(handed_back, dict) or not isinstance(handed_back.get("files"), dict):
        return handed_back if isinstance(handed_back, dict) else {"written": None}
    return {"written": True, **run_files(handed_back["files"], model, feeds)}


def onnx_export_run(case: dict, handed_back: object) -> dict:
    """Grader step of ``onnx_export``: the exported file run in ONNX Runtime, in a child process of the grader,
    on prompts of other batch sizes and lengths than any example: its input and output names and its logits."""
    rng = np.random.default_rng(case["seed"])
    feeds = [rng.integers(0, case["vocab"], size=shape, dtype=np.int64) for shape in case["shapes"]]
    ran = _ran(handed_back, "model.onnx", feeds)
    return {key: ran[key] for key in ("written", "too_large", "runs", "inputs", "outputs", "results") if key in ran}


def int8_quantisation(target, case: dict) -> dict:
    """``target(source, target_path)`` on a one-MatMul ONNX file built from the case; hands back the files it
    wrote (``model.int8.onnx`` and any external data), which the grader inspects and runs itself
    (:func:`int8_quantisation_run`)."""
    import tempfile

    from course.lessons.edge.sweep import matmul_model

    with tempfile.TemporaryDirectory() as folder:
        source, written = Path(folder) / "model.onnx", Path(folder) / "model.int8.onnx"
        matmul_model(case["size"], source, seed=case["seed"])
        target(source, written)
        if not written.is_file():
            return {"written": False}
        files = _files(Path(folder), leave_out=(source.name,))
    return {"written": True, "too_large": True} if files is None else {"written": True, "files": files}


def int8_quantisation_run(case: dict, handed_back: object) -> dict:
    """Grader step of ``int8_quantisation``: the operators and the stored weight types of the file written, and
    what it computes on one input, read and run in a child process of the grader."""
    rng = np.random.default_rng(case["seed"])
    feed = rng.standard_normal((case["tokens"], case["size"])).astype(np.float32)
    ran = _ran(handed_back, "model.int8.onnx", [feed])
    if ran.get("runs") is not True or not isinstance(handed_back, dict):
        return {key: ran[key] for key in ("written", "too_large", "runs") if key in ran}
    return {"written": True, **_inspected(handed_back["files"]["model.int8.onnx"]), "result": ran["results"][0]}


def _inspected(data: bytes) -> dict:
    """The operator types of an ONNX file's graph and the element types of its stored weights, read as data
    (a protobuf message, size-capped by the driver; nothing runs)."""
    import onnx

    graph = onnx.ModelProto.FromString(data).graph
    return {
        "ops": sorted({node.op_type for node in graph.node}),
        "stored_types": sorted({onnx.helper.tensor_dtype_to_np_dtype(t.data_type).name for t in graph.initializer}),
    }


def modelfile(target, case: dict) -> dict:
    """``target(gguf_file, instruction)``: the Modelfile's text, handed back as it is for the grader to parse
    (:func:`modelfile_parsed`)."""
    text = target(case["gguf_file"], case["instruction"])
    return {"text": text if isinstance(text, str) else None}


def modelfile_parsed(case: dict, handed_back: object) -> dict:
    """Grader step of ``modelfile``: the text parsed the way Ollama reads it, in the grader's process: the
    weights it names, the prompt its TEMPLATE renders for a few user texts, and its temperature and stop
    strings."""
    from course.lessons.edge.ollama import parse_modelfile, render_template

    text = handed_back.get("text") if isinstance(handed_back, dict) else None
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
