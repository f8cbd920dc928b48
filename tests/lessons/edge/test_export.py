"""Lesson 06 §2 and §4: export to ONNX fp32 and int8, cached by fingerprint."""

from __future__ import annotations

import pytest

from course.lessons.edge import export


def test_export_all_writes_three_forms_and_int8_is_smaller(files):
    assert (files.pytorch / "config.json").is_file()
    fp32, int8 = export.size_bytes(files.onnx_fp32), export.size_bytes(files.onnx_int8)
    assert fp32 > 0 and int8 > 0
    assert fp32 / int8 > 1.4, "int8 matrices take a quarter of the bytes of fp32 ones"


def test_export_all_reuses_the_cache_and_follows_the_functions(tiny_model, files):
    from course.references.edge import export_onnx, quantize_int8

    assert export.export_all(tiny_model, None, export_onnx, quantize_int8).folder == files.folder

    def writes_nothing(source, target):
        pass

    from course.fallback import yours_or_reference

    assert export.function_key(writes_nothing) != export.function_key(quantize_int8)
    wrapped = yours_or_reference(writes_nothing, "06-edge-deployment", "quantize_int8")
    assert export.function_key(wrapped) == export.function_key(writes_nothing)
    with pytest.raises(FileNotFoundError, match="quantize_int8 did not write"):
        export.export_all(tiny_model, None, export_onnx, writes_nothing)
    with pytest.raises(FileNotFoundError, match="export_onnx did not write"):
        export.export_fp32(tiny_model, writes_nothing)


def test_fingerprint_follows_the_weights(tiny_model):
    import copy

    import torch

    other = copy.deepcopy(tiny_model)
    assert export.fingerprint(other) == export.fingerprint(tiny_model)
    with torch.no_grad():
        other.model.norm.weight[0] += 1
    assert export.fingerprint(other) != export.fingerprint(tiny_model)


def test_exported_graphs_carry_no_debug_notes_and_int8_uses_integer_matmuls(files):
    import onnx

    fp32, int8 = export.op_types(files.onnx_fp32), export.op_types(files.onnx_int8)
    assert fp32["MatMul"] > 0 and "MatMulInteger" not in fp32
    assert int8["MatMulInteger"] > 0 and int8["DynamicQuantizeLinear"] > 0
    assert not any(node.metadata_props for node in onnx.load(str(files.onnx_fp32)).graph.node)
