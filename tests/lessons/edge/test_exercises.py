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


def test_quantize_int8_wrong_answers_fail():
    import shutil

    from onnxruntime.quantization import QuantType, quantize_dynamic

    def unsigned(source, target):
        quantize_dynamic(source, target, weight_type=QuantType.QUInt8)

    def copies(source, target):
        shutil.copyfile(source, target)

    for wrong in (unsigned, copies):
        assert not _verdict("test-quantize-int8", wrong), wrong.__name__


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
