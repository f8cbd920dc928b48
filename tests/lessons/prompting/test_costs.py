import math

import matplotlib
import numpy as np
import pytest

from course.lessons.prompting.costs import (
    EXAMPLE_RATES,
    FineTuningPlan,
    Rates,
    TunedBilling,
    cumulative_costs,
    full_fine_tuning_bytes,
    plot_break_even,
)
from course.models.params import count_parameters
from course.references.prompting import break_even_volume, cost_per_1000_requests
from course.text.tokenizers import count_tokens

matplotlib.use("Agg")


def test_bad_rates_are_refused():
    with pytest.raises(ValueError, match="negative"):
        Rates(input=-1, output=1)
    with pytest.raises(ValueError, match="negative"):
        cost_per_1000_requests("x", "y", "tekken", 1.0, -1.0)
    for bad in [(math.nan, 1.0), (1.0, math.inf)]:
        with pytest.raises(ValueError, match="finite"):
            Rates(*bad)


def test_example_rates_make_the_small_model_cheaper_and_scaling_multiplies_both():
    large, small = EXAMPLE_RATES["large general model"], EXAMPLE_RATES["small model"]
    assert small.input < large.input and small.output < large.output
    assert small.scaled(2.0) == Rates(2 * small.input, 2 * small.output)


@pytest.mark.parametrize("tokenizer", ["tekken", "mistral-7b-v0.3"])
def test_cost_per_1000_counts_with_the_real_tokenizer(tokenizer):
    prompt, answer = "Route this ticket: the app crashes when I open a PDF.", "bug"
    expected = 1000 * (count_tokens(prompt, tokenizer) * 3.0 + count_tokens(answer, tokenizer) * 15.0) / 1e6
    assert cost_per_1000_requests(prompt, answer, tokenizer, 3.0, 15.0) == pytest.approx(expected)
    assert cost_per_1000_requests(prompt * 3, answer, tokenizer, 3.0, 15.0) > expected


def test_fine_tuning_plan_arithmetic():
    plan = FineTuningPlan(
        n_params=7_000_000_000,
        examples=1000,
        tokens_per_example=100,
        epochs=2,
        runs=3,
        gpu_flops=1e14,
        gpu_hour_rate=2.0,
        cost_per_example=0.5,
    )
    assert plan.training_tokens == 200_000
    assert plan.training_flops == 6 * 7e9 * 200_000 * 3
    assert plan.gpu_hours == pytest.approx(plan.training_flops / 1e14 / 3600)
    assert plan.compute_cost == pytest.approx(plan.gpu_hours * 2.0)
    assert plan.data_cost == 500
    assert plan.total == pytest.approx(plan.compute_cost + 500)


@pytest.mark.parametrize(
    "bad",
    [{"examples": 0}, {"runs": 0}, {"tokens_per_example": 0}, {"gpu_flops": 0}, {"cost_per_example": -1}],
)
def test_fine_tuning_plan_refuses_bad_sizes(bad):
    args = {"n_params": 10, "examples": 10, "tokens_per_example": 10} | bad
    with pytest.raises(ValueError):
        FineTuningPlan(**args)


def test_full_fine_tuning_needs_16_bytes_a_parameter_and_more_than_one_gpu_for_mistral_7b():
    assert full_fine_tuning_bytes(1000) == 16_000
    n = count_parameters("mistral-7b").total
    assert full_fine_tuning_bytes(n) > 100e9  # over 100 GB before activations: more than one 80 GB GPU


def test_tuned_billing_per_token_or_by_the_hour():
    per_token = TunedBilling("per_token", rates=Rates(0.4, 1.2))
    assert per_token.per_request(cost_per_1000=2.0, requests_per_day=10) == pytest.approx(0.002)
    hosted = TunedBilling("hosted", dollars_per_hour=3.0)
    assert hosted.per_request(0.0, requests_per_day=72_000) == pytest.approx(0.001)
    assert hosted.per_request(0.0, requests_per_day=720) == pytest.approx(0.1), "low traffic: dear requests"
    for bad in [dict(kind="monthly"), dict(kind="per_token"), dict(kind="hosted", dollars_per_hour=-1)]:
        with pytest.raises(ValueError):
            TunedBilling(**bad)
    with pytest.raises(ValueError):
        hosted.per_request(0.0, requests_per_day=0)


def test_the_break_even_volume_is_where_the_fine_tuned_path_becomes_strictly_cheaper():
    rng = np.random.default_rng(0)
    for _ in range(200):
        upfront, tuned = float(rng.uniform(1, 5000)), float(rng.uniform(0, 0.01))
        prompting = tuned + float(rng.uniform(1e-4, 0.01))
        n = break_even_volume(upfront, prompting, tuned)
        (p_at, p_before), (t_at, t_before) = cumulative_costs([n, n - 1], upfront, prompting, tuned)
        assert t_at < p_at and t_before >= p_before * (1 - 1e-12)


def test_plot_break_even_draws_both_paths():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    volume = break_even_volume(500.0, 0.002, 0.0005)
    assert volume == math.floor(500 / 0.0015) + 1
    plot_break_even(ax, 500.0, 0.002, 0.0005, volume)
    assert len(ax.get_lines()) == 3  # two paths and the break-even marker
    plt.close(fig)
    fig, ax = plt.subplots()
    plot_break_even(ax, 500.0, 0.001, 0.002, None)
    assert len(ax.get_lines()) == 2  # never: no marker
    plt.close(fig)
