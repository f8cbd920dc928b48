"""The course's one training loop (``course.training``) and its learning-rate schedule."""

import pytest
import torch

from course.training import train, warmup_cosine


def test_learning_rate_warms_up_then_decays():
    factors = [warmup_cosine(100, 10)(step) for step in range(100)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert factors[10:] == sorted(factors[10:], reverse=True) and factors[-1] < 0.01


def test_warmup_cosine_floor():
    factors = [warmup_cosine(50, 0, floor=0.1)(step) for step in range(51)]
    assert factors[0] == pytest.approx(1.0) and factors[-1] == pytest.approx(0.1)


def test_train_fits_a_line_and_evaluates_on_schedule():
    torch.manual_seed(0)
    layer = torch.nn.Linear(1, 1)
    x = torch.linspace(-1, 1, 16).unsqueeze(1)
    evaluated = []

    def batches():
        while True:
            yield x, 3 * x + 1

    losses = train(
        layer,
        batches(),
        lambda b: torch.nn.functional.mse_loss(layer(b[0]), b[1]),
        steps=200,
        lr=0.1,
        evaluate=evaluated.append,
        eval_every=50,
        evaluate_first=True,
        progress=False,
    )
    assert len(losses) == 200 and losses[-1] < losses[0] / 100
    assert evaluated == [0, 50, 100, 150, 200]


def test_train_refuses_what_it_cannot_do():
    frozen = torch.nn.Linear(1, 1).requires_grad_(False)
    with pytest.raises(ValueError, match="Nothing to train"):
        train(frozen, iter([]), lambda b: b, steps=1, lr=0.1, progress=False)
    layer = torch.nn.Linear(1, 1)
    with pytest.raises(ValueError, match="ran out"):
        train(layer, iter([torch.ones(1, 1)]), lambda b: layer(b).sum(), steps=3, lr=0.1, progress=False)
    with pytest.raises(ValueError, match="steps"):
        train(layer, iter([]), lambda b: b, steps=0, lr=0.1, progress=False)
