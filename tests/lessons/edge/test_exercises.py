"""Lesson 06's graded exercises: the references reproduce the old hidden tests' facts, the drivers work on the
references, and plausible wrong answers fail the comparison."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from course.grading.drivers import observe
from course.grading.values import decode, encode
from course.lessons.edge.drivers import ScriptedSession
from course.references import edge as references
from course.references import exercises
from tests.grading_helpers import checked

LESSON = "06-edge-deployment"


def _verdict(grade_id, candidate, seed=11):
    """Whether ``candidate`` passes the exercise's check (``tests.grading_helpers.checked``)."""
    return checked(LESSON, grade_id, candidate, seed)[0]


@pytest.mark.slow  # exports and quantises a tiny model for each case of each exercise
def test_every_exercise_is_declared_and_the_references_pass():
    declared = exercises(LESSON)
    assert set(declared) == {
        "test-export-onnx",
        "test-ort-greedy",
        "test-quantize-int8",
        "test-modelfile",
        "test-choose-deployment",
    }
    for grade_id, exercise in declared.items():
        assert _verdict(grade_id, exercise.reference), grade_id


# -- exercise 2 --------------------------------------------------------------------------------------------


def _notebook_greedy(session, prompt_ids, max_new_tokens, eos_id=None):
    sequence, new = list(prompt_ids), []
    for _ in range(max_new_tokens):
        logits = session.run(None, {"input_ids": np.asarray([sequence], dtype=np.int64)})[0]
        token = int(np.argmax(logits[0, -1]))
        if token == eos_id:
            break
        sequence.append(token)
        new.append(token)
    return new


def test_ort_greedy_reproduces_the_old_hidden_tests():
    scripted = ScriptedSession(6)
    assert references.ort_greedy(scripted, [1], 10, eos_id=4) == [2, 3]
    assert [fed["shape"] for fed in scripted.fed] == [[1, 1], [1, 2], [1, 3]]
    assert all(fed["dtype"] == "int64" for fed in scripted.fed)
    assert references.ort_greedy(ScriptedSession(6), [0, 1], 3) == [2, 3, 4]
    assert references.ort_greedy(ScriptedSession(6), [0, 1], 0) == []
    seen = observe("course.lessons.edge.drivers:greedy_session", references.ort_greedy,
                   decode(encode(references._GREEDY_EDGE_CASES[0])))  # fmt: skip
    assert seen == {
        "new": [2, 3],
        "fed": [{"dtype": "int64", "shape": [1, n], "ids": [[1, 2, 3][:n]]} for n in (1, 2, 3)],
    }


def test_ort_greedy_wrong_answers_fail():
    def first_position(session, prompt_ids, max_new_tokens, eos_id=None):
        sequence, new = list(prompt_ids), []
        for _ in range(max_new_tokens):
            token = int(np.argmax(session.run(None, {"input_ids": np.asarray([sequence])})[0][0, 0]))
            if token == eos_id:
                break
            sequence.append(token)
            new.append(token)
        return new

    def keeps_eos(session, prompt_ids, max_new_tokens, eos_id=None):
        sequence, new = list(prompt_ids), []
        for _ in range(max_new_tokens):
            token = int(np.argmax(session.run(None, {"input_ids": np.asarray([sequence])})[0][0, -1]))
            new.append(token)
            if token == eos_id:
                break
            sequence.append(token)
        return new

    def last_token_only(session, prompt_ids, max_new_tokens, eos_id=None):  # no context: feeds one token
        last, new = prompt_ids[-1], []
        for _ in range(max_new_tokens):
            token = int(np.argmax(session.run(None, {"input_ids": np.asarray([[last]], dtype=np.int64)})[0][0, -1]))
            if token == eos_id:
                break
            new.append(token)
            last = token
        return new

    assert _verdict("test-ort-greedy", _notebook_greedy)
    for wrong in (first_position, keeps_eos, last_token_only):
        assert not _verdict("test-ort-greedy", wrong), wrong.__name__


# -- exercises 1 and 3: the export and quantisation calls -----------------------------------------------------


@pytest.mark.slow  # four exports of a tiny model per wrong answer
def test_export_onnx_wrong_answers_fail():
    import torch

    from course.lessons.edge.export import logits_only

    def static_shapes(model, path):  # traced for one shape: fails on other batch sizes and lengths
        torch.onnx.export(logits_only(model), (torch.zeros((2, 8), dtype=torch.int64),), dynamo=True,
                          input_names=["input_ids"], output_names=["logits"]).save(str(path))  # fmt: skip

    def wrong_names(model, path):
        dims = {0: torch.export.Dim("batch", min=1, max=1024), 1: torch.export.Dim("sequence", min=2, max=4096)}
        example = (torch.zeros((2, 8), dtype=torch.int64),)
        program = torch.onnx.export(logits_only(model), example, dynamo=True, input_names=["ids"],
                                    output_names=["out"], dynamic_shapes={"input_ids": dims})  # fmt: skip
        program.save(str(path))

    for wrong in (static_shapes, wrong_names):
        assert not _verdict("test-export-onnx", wrong), wrong.__name__


@pytest.mark.slow  # the grader runs each written file in a child process
def test_quantize_int8_wrong_answers_fail():
    import shutil

    from onnxruntime.quantization import QuantType, quantize_dynamic

    def unsigned(source, target):
        quantize_dynamic(source, target, weight_type=QuantType.QUInt8)

    def copies(source, target):
        shutil.copyfile(source, target)

    for wrong in (unsigned, copies):
        assert not _verdict("test-quantize-int8", wrong), wrong.__name__


def _graded_after_patching(grade_id, candidate, patches, seed=11):
    """(passed, line) of ``candidate`` when the solution cell also replaced ``patches`` ({(module, name): value})
    in the kernel: the driver runs with them in place, the grader (its own process, unpatched) compares."""
    check = exercises(LESSON)[grade_id].check(seed)
    with pytest.MonkeyPatch.context() as kernel:
        for (module, name), value in patches.items():
            kernel.setattr(module, name, value, raising=False)
        observed = [encode(observe(check.driver, candidate, decode(case))) for case in check.cases]
    return check.verdict(observed)


@pytest.mark.slow  # exports a tiny model for each case
def test_export_saved_with_torch_and_a_patched_kernel_helper_earns_nothing():
    """The reported attack: ``torch.save`` instead of an export, and the kernel-side helpers that used to run the
    file replaced from the solution cell (here: everything an ONNX check in the kernel could call answers as a
    good export would). The driver hands back the file; the grader runs it in its own process: nothing earned."""
    import torch

    from course.lessons.edge import drivers as edge_drivers
    from course.lessons.edge import onnx_check

    def pickled(model, path):
        torch.save(model.state_dict(), path)

    def looks_exported(files, model, feeds):
        return {"runs": True, "inputs": ["input_ids"], "outputs": ["logits"], "results": list(feeds)}

    patches = {(onnx_check, "run_files"): looks_exported, (edge_drivers, "_run_onnx"): looks_exported}
    passed, line = _graded_after_patching("test-export-onnx", pickled, patches)
    assert not passed, line


@pytest.mark.slow  # exports a tiny model for each case
def test_an_export_with_its_weights_beside_it_earns_the_points():
    """torch.onnx.export(..., f=path) writes the weights to model.onnx.data beside the graph: the driver hands
    back both files and the grader runs them as one model."""
    import torch

    from course.lessons.edge.export import logits_only

    def external_data(model, path):
        dims = {0: torch.export.Dim("batch", min=1, max=1024), 1: torch.export.Dim("sequence", min=2, max=4096)}
        example = (torch.zeros((2, 8), dtype=torch.int64),)
        torch.onnx.export(logits_only(model), example, str(path), dynamo=True, input_names=["input_ids"],
                          output_names=["logits"], dynamic_shapes={"input_ids": dims})  # fmt: skip

    assert _verdict("test-export-onnx", external_data)


@pytest.mark.slow  # the grader runs each written file in a child process
def test_a_copied_file_with_a_patched_kernel_earns_nothing():
    import shutil

    from course.lessons.edge import onnx_check

    def copies(source, target):
        shutil.copyfile(source, target)

    def looks_quantised(files, model, feeds):
        return {"runs": True, "ops": ["DynamicQuantizeLinear", "MatMulInteger"], "stored_types": ["int8"]}

    passed, line = _graded_after_patching("test-quantize-int8", copies, {(onnx_check, "run_files"): looks_quantised})
    assert not passed, line


def test_a_modelfile_is_parsed_by_the_grader_not_by_the_kernel():
    """Replacing the kernel's Modelfile parser so that any text reads as the course's earns nothing: the grader
    parses the text the student's function returned."""
    from course.lessons.edge import ollama

    def nothing_useful(gguf_file, instruction):
        return "FROM ./elsewhere.gguf"

    reads_as_the_course = ollama.parse_modelfile(references.modelfile("task-model.q8_0.gguf", "Say this ."))
    patches = {(ollama, "parse_modelfile"): lambda text: reads_as_the_course}
    passed, line = _graded_after_patching("test-modelfile", nothing_useful, patches)
    assert not passed, line


@pytest.mark.slow  # starts a child process per file
def test_the_grader_runs_handed_back_files_within_limits(tmp_path):
    """A file is data until the grader's child runs it: not ONNX, a graph that asks for 40 GB, or weights named
    outside its folder do not run (and do not harm the grader); a plain one-MatMul file does."""
    import onnx
    from onnx import TensorProto, helper

    from course.lessons.edge.onnx_check import run_files
    from course.lessons.edge.sweep import matmul_model

    feed = np.ones((2, 8), dtype=np.float32)
    good = matmul_model(8, tmp_path / "good.onnx").read_bytes()
    ran = run_files({"model.onnx": good}, "model.onnx", [feed])
    assert ran["runs"] is True and ran["results"][0].shape == (2, 8)

    one = helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0])
    hog = helper.make_graph(
        [helper.make_node("ConstantOfShape", ["shape"], ["Y"], value=one)],
        "hog", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [2, 8])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
        [helper.make_tensor("shape", TensorProto.INT64, [1], [10**10])],
    )  # fmt: skip
    elsewhere = onnx.load_from_string(good)
    weight = elsewhere.graph.initializer[0]
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "/etc/hostname"), ("offset", "0"), ("length", "256")):
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    for files in (
        {"model.onnx": b"not an ONNX file"},
        {"model.onnx": helper.make_model(hog).SerializeToString()},
        {"model.onnx": elsewhere.SerializeToString()},
        {"../model.onnx": good},
        {"model.onnx": "text, not bytes"},
    ):
        assert run_files(files, "model.onnx", [feed]) == {"runs": False}, list(files)


# -- exercise 4: the Modelfile -----------------------------------------------------------------------------


def test_modelfile_reference_renders_the_training_prompt():
    from course.lessons.edge import ollama
    from course.lessons.finetune.instructions import format_prompt

    parsed = ollama.parse_modelfile(references.modelfile("x.gguf", "Say this in French ."))
    assert parsed.source == "./x.gguf"
    assert ollama.render_template(parsed.template, "red cat") == format_prompt("Say this in French .", "red cat")
    assert parsed.parameters == {"temperature": ["0"], "stop": ["</s>", "###"]}


def test_modelfile_wrong_answers_fail():
    def fixed_instruction(gguf_file, instruction):  # ignores the instruction it is given
        return references.modelfile(gguf_file, "Translate the phrase into French .")

    def no_spaces(gguf_file, instruction):  # a template the tokenizer would cut differently
        return references.modelfile(gguf_file, instruction).replace(" : ", ": ")

    def sampling(gguf_file, instruction):
        return references.modelfile(gguf_file, instruction).replace("temperature 0", "temperature 0.8")

    def one_stop(gguf_file, instruction):
        return references.modelfile(gguf_file, instruction).replace('PARAMETER stop "###"', "")

    for wrong in (fixed_instruction, no_spaces, sampling, one_stop):
        assert not _verdict("test-modelfile", wrong), wrong.__name__


# -- exercise 5 --------------------------------------------------------------------------------------------


def _r(name, size, tokens, em):
    return SimpleNamespace(name=name, size_bytes=size, tokens_per_second=tokens, exact_match=em)


def test_choose_deployment_reproduces_the_old_hidden_tests():
    choose = references.choose_deployment
    base = _r("PyTorch fp32", 4000, 100.0, 0.90)
    rows = [base, _r("ORT fp32", 4000, 300.0, 0.90), _r("ORT int8", 1000, 250.0, 0.80)]
    assert choose(rows) == "ORT fp32"
    assert choose(rows, max_drop=0.10) == "ORT int8"
    assert choose(rows, max_drop=0.05) == "ORT fp32"
    assert choose([base, _r("ORT int8", 1000, 90.0, 0.90)]) == "PyTorch fp32"
    assert choose([base, _r("x", 1000, 100.0, 0.9)]) == "PyTorch fp32"
    assert choose([base, _r("slower", 1000, 200.0, 0.9), _r("faster", 1000, 300.0, 0.9)]) == "faster"
    assert choose([_r("ref", 4000, 100.0, 0.5), _r("small", 1000, 200.0, 0.9)]) == "small"
    assert choose([_r("only", 10, 1.0, 0.0)]) == "only"


def test_choose_deployment_wrong_answers_fail():
    def fastest(results, max_drop=0.0):
        best = max(r.exact_match for r in results)
        ok = [
            r
            for r in results[1:]
            if r.exact_match >= best - max_drop and r.tokens_per_second > results[0].tokens_per_second
        ]
        return max(ok, key=lambda r: r.tokens_per_second).name if ok else results[0].name

    def relative_to_reference(results, max_drop=0.0):  # the drop measured from the reference, not the best
        ref = results[0]
        ok = [
            r
            for r in results[1:]
            if r.exact_match >= ref.exact_match - max_drop and r.tokens_per_second > ref.tokens_per_second
        ]
        return min(ok, key=lambda r: (r.size_bytes, -r.tokens_per_second)).name if ok else ref.name

    def ignores_speed(results, max_drop=0.0):
        best = max(r.exact_match for r in results)
        ok = [r for r in results[1:] if r.exact_match >= best - max_drop]
        return min(ok, key=lambda r: (r.size_bytes, -r.tokens_per_second)).name if ok else results[0].name

    for wrong in (fastest, relative_to_reference, ignores_speed):
        assert not _verdict("test-choose-deployment", wrong), wrong.__name__
