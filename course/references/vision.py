"""Lesson 04, multimodality: reference solution and the declaration of its graded exercise.

The exercise is the core of Llama 3.2 Vision's adapter: a gated cross-attention block, which the lesson's tiny
model then uses (``course.lessons.vision.gated``). The lesson runs the student's function and falls back to this
one while the exercise is unfinished.
"""

from __future__ import annotations

import random

from course.grading.exercise import Exercise, call, close

LESSON = "04-multimodality"


def gated_cross_attention(text, image, w_q, w_k, w_v, w_o, gate, heads: int = 1):
    """Exercise: ``text + tanh(gate) * CrossAttention(text, image)``, multi-head scaled dot-product attention in
    which the text's queries read the image's keys and values. At ``gate = 0`` it returns ``text`` unchanged."""
    import torch

    text, image = torch.as_tensor(text), torch.as_tensor(image)
    width = text.shape[-1]
    if width % heads:
        raise ValueError(f"The width {width} must be a multiple of heads ({heads}).")
    head_size = width // heads

    def split(x):  # (batch, tokens, width) -> (batch, heads, tokens, head_size)
        return x.unflatten(-1, (heads, head_size)).transpose(1, 2)

    queries, keys, values = split(text @ w_q.T), split(image @ w_k.T), split(image @ w_v.T)
    weights = torch.softmax(queries @ keys.transpose(-1, -2) / head_size**0.5, dim=-1)
    read = (weights @ values).transpose(1, 2).flatten(-2) @ w_o.T
    return text + torch.tanh(torch.as_tensor(gate)) * read


# ---------------------------------------------------------------- cases


def _block_case(rng: random.Random, batch: int, text_tokens: int, image_tokens: int, heads: int, head: int, gate):
    import torch

    generator = torch.Generator().manual_seed(rng.getrandbits(32))
    width = heads * head

    def draw(*shape):
        return torch.randn(*shape, generator=generator)

    weights = [draw(width, width) / width**0.5 for _ in range(4)]
    return call(draw(batch, text_tokens, width), draw(batch, image_tokens, width), *weights, torch.tensor(gate), heads)


def _block_cases(rng: random.Random) -> list[dict]:
    cases = []
    for _ in range(12):
        heads, head = rng.choice([1, 2, 4]), rng.choice([2, 4, 8])
        gate = rng.choice([0.0, round(rng.uniform(-3, 3), 3), round(rng.uniform(-3, 3), 3)])
        cases.append(_block_case(rng, rng.randint(1, 3), rng.randint(1, 7), rng.randint(1, 9), heads, head, gate))
    return cases


def _block_edge_cases() -> list[dict]:
    import torch

    rng = random.Random("gated-cross-attention-edge")
    odd = _block_case(rng, 1, 3, 4, 1, 6, 0.5)
    odd["args"][-1] = 4  # a width of 6 cannot be cut into 4 heads: ValueError
    return [
        _block_case(rng, 2, 5, 7, 2, 4, 0.0),  # a closed gate: the block is the identity
        _block_case(rng, 2, 5, 7, 2, 4, 1.5),
        _block_case(rng, 1, 1, 1, 1, 4, 20.0),  # one image token: attention weight 1, tanh close to 1
        _block_case(rng, 3, 4, 6, 4, 2, -0.8),  # a negative gate subtracts what was read
        _block_case(rng, 1, 6, 2, 4, 8, 0.3),
        odd,
        call(torch.zeros(1, 2, 4), torch.ones(1, 3, 4), *(torch.eye(4) for _ in range(4)), torch.tensor(1.0), 2),
    ]


# ---------------------------------------------------------------- the visible tests of the test cell

_GATED_CROSS_ATTENTION_TESTS = r"""
import math
import torch

torch.manual_seed(0)
text, image = torch.randn(2, 5, 8), torch.randn(2, 7, 8)
weights = [torch.randn(8, 8) / 8**0.5 for _ in range(4)]
assert torch.equal(gated_cross_attention(text, image, *weights, torch.tensor(0.0), heads=2), text), \
    "a closed gate: the block must return the text unchanged"
mine = gated_cross_attention(text, image, *weights, torch.tensor(0.7), heads=2)
assert mine.shape == text.shape, f"the output has the text's shape {tuple(text.shape)}, not {tuple(mine.shape)}"
# one image token: every query reads it with attention weight 1, so what is read is its value, projected
one = image[:, :1]
read = one @ weights[2].T @ weights[3].T
expected = text + math.tanh(0.7) * read
assert torch.allclose(gated_cross_attention(text, one, *weights, torch.tensor(0.7), heads=2), expected, atol=1e-5), \
    "with one image token, the block adds tanh(gate) * (its value through w_o) to every text token"
# small cases by hand, identity projections and a gate of 0.5: text token (1, 1), two image tokens
eye, s = torch.eye(2), math.log(3)
# one head of width 2: scores (1, 1)·(x, 0)/sqrt(2) and 0, so for x = sqrt(2)·log 3, weights 3/4 and 1/4
text, image = torch.tensor([[[1.0, 1.0]]]), torch.tensor([[[math.sqrt(2) * s, 0.0], [0.0, 0.0]]])
got = gated_cross_attention(text, image, eye, eye, eye, eye, torch.tensor(0.5), heads=1)
want = text + math.tanh(0.5) * torch.tensor([[[0.75 * math.sqrt(2) * s, 0.0]]])
assert torch.allclose(got, want, atol=1e-5), f"one head: {got.tolist()}, scores are scaled by 1/sqrt(head size)"
# two heads of width 1: each head attends on its own feature, 3/4 on the image token that is log 3 there
image = torch.tensor([[[s, 0.0], [0.0, s]]])
got = gated_cross_attention(text, image, eye, eye, eye, eye, torch.tensor(0.5), heads=2)
want = text + math.tanh(0.5) * torch.tensor([[[0.75 * s, 0.75 * s]]])
assert torch.allclose(got, want, atol=1e-5), f"two heads: {got.tolist()}, each head reads with its own weights"
print("visible checks passed")
"""


EXERCISES = [
    Exercise(
        grade_id="test-gated-cross-attention",
        target="gated_cross_attention",
        points=4,
        about=(
            "calls your function on text, image tokens, weights, gates and head counts it draws itself (some gates "
            "0, some widths that the heads do not divide), and compares with the course's reference."
        ),
        tests=_GATED_CROSS_ATTENTION_TESTS,
        reference=gated_cross_attention,
        cases=_block_cases,
        edge_cases=_block_edge_cases(),
        compare=close(rtol=1e-4, atol=1e-5),
    ),
]
