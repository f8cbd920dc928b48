"""Lesson 04's graded exercise, the gated cross-attention block: the reference agrees with PyTorch's own
multi-head attention, and plausible wrong answers fail the comparison."""

import random

import pytest
import torch

from course.references import exercises
from course.references.vision import _block_cases, _block_edge_cases, gated_cross_attention
from tests.grading_helpers import checked

LESSON = "04-multimodality"
GRADE_ID = "test-gated-cross-attention"


def _verdict(candidate, seed=5):
    """Whether ``candidate`` passes the exercise's check (``tests.grading_helpers.checked``)."""
    return checked(LESSON, GRADE_ID, candidate, seed)


def _pytorch(text, image, w_q, w_k, w_v, w_o, gate, heads=1):
    """The same block computed by ``torch.nn.MultiheadAttention``, independently of the reference."""
    attention = torch.nn.MultiheadAttention(text.shape[-1], heads, bias=False, batch_first=True)
    with torch.no_grad():
        attention.in_proj_weight.copy_(torch.cat([w_q, w_k, w_v]))
        attention.out_proj.weight.copy_(w_o)
        return text + torch.tanh(gate) * attention(text, image, image)[0]


def test_the_reference_passes_its_own_check():
    assert list(exercises(LESSON)) == [GRADE_ID]
    assert _verdict(gated_cross_attention)[0]


def test_the_reference_is_pytorch_multi_head_attention_behind_a_tanh_gate():
    cases = _block_cases(random.Random(3)) + _block_edge_cases()[:-2]
    for case in cases:
        args = case["args"]
        assert torch.allclose(gated_cross_attention(*args), _pytorch(*args), atol=1e-5)


def test_a_closed_gate_is_the_identity_and_the_picture_is_ignored():
    text, image, *weights, _, heads = _block_edge_cases()[1]["args"]
    closed = gated_cross_attention(text, image, *weights, torch.tensor(0.0), heads)
    assert torch.equal(closed, text)
    assert torch.equal(gated_cross_attention(text, -image, *weights, torch.tensor(0.0), heads), closed)
    assert not torch.allclose(gated_cross_attention(text, image, *weights, torch.tensor(1.0), heads), text)


def test_heads_that_do_not_divide_the_width_are_refused():
    with pytest.raises(ValueError, match="multiple of heads"):
        gated_cross_attention(*_block_edge_cases()[-2]["args"])


def _no_tanh(text, image, w_q, w_k, w_v, w_o, gate, heads=1):
    return text + (gated_cross_attention(text, image, w_q, w_k, w_v, w_o, 20.0, heads) - text) * gate


def _no_scaling(text, image, w_q, w_k, w_v, w_o, gate, heads=1):
    width = text.shape[-1]
    if width % heads:
        raise ValueError
    scale = (width // heads) ** 0.5
    return gated_cross_attention(text, image, w_q * scale, w_k, w_v, w_o, gate, heads)


def _one_head(text, image, w_q, w_k, w_v, w_o, gate, heads=1):
    if text.shape[-1] % heads:
        raise ValueError
    return gated_cross_attention(text, image, w_q, w_k, w_v, w_o, gate, 1)


def _no_residual(text, image, w_q, w_k, w_v, w_o, gate, heads=1):
    return gated_cross_attention(text, image, w_q, w_k, w_v, w_o, gate, heads) - text


def _self_attention(text, image, w_q, w_k, w_v, w_o, gate, heads=1):
    return gated_cross_attention(text, text, w_q, w_k, w_v, w_o, gate, heads)


def _softmax_over_text(text, image, w_q, w_k, w_v, w_o, gate, heads=1):
    width = text.shape[-1]
    if width % heads:
        raise ValueError
    size = width // heads

    def split(x):
        return x.unflatten(-1, (heads, size)).transpose(1, 2)

    scores = split(text @ w_q.T) @ split(image @ w_k.T).transpose(-1, -2) / size**0.5
    read = (torch.softmax(scores, dim=-2) @ split(image @ w_v.T)).transpose(1, 2).flatten(-2) @ w_o.T
    return text + torch.tanh(gate) * read


@pytest.mark.parametrize("wrong", [_no_tanh, _no_scaling, _one_head, _no_residual, _self_attention, _softmax_over_text])
def test_wrong_blocks_fail(wrong):
    passed, line = _verdict(wrong)
    assert not passed and "matched the reference on" in line


def _visible_tests_pass(candidate) -> bool:
    """Whether ``candidate`` passes the test cell's visible checks, run as the notebook runs them."""
    try:
        exec(exercises(LESSON)[GRADE_ID].tests, {"gated_cross_attention": candidate})
    except AssertionError:
        return False
    return True


def test_the_visible_tests_hold_no_alternative_solution_and_still_catch_wrong_blocks():
    """A visible test that computes the block another way (PyTorch's multi-head attention, as it once did) hands
    the student a solution to paste; the visible tests check properties and small cases worked out by hand."""
    tests = exercises(LESSON)[GRADE_ID].tests
    for library_attention in ("MultiheadAttention", "scaled_dot_product_attention", "softmax", "multi_head_attention"):
        assert library_attention not in tests, library_attention
    assert _visible_tests_pass(gated_cross_attention)
    for wrong in [_no_tanh, _no_scaling, _one_head, _no_residual, _self_attention]:
        assert not _visible_tests_pass(wrong), wrong.__name__
