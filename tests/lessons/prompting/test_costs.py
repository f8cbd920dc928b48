import math

import matplotlib
import numpy as np
import pytest

from course.lessons.prompting.costs import EXAMPLE_RATES, FineTuningPlan, Rates, cumulative_costs, plot_break_even
from course.references.prompting import break_even_volume as break_even_requests
from course.references.prompting import cost_per_1000_requests
from course.text.tokenizers import count_tokens


def request_cost(input_tokens, output_tokens, rates):
    return (input_tokens * rates.input + output_tokens * rates.output) / 1e6


def cost_per_1000(prompt, answer, tokenizer, rates):
    return cost_per_1000_requests(prompt, answer, tokenizer, rates.input, rates.output)


matplotlib.use("Agg")


def test_bad_rates_are_refused():
    with pytest.raises(ValueError, match="negative"):
        Rates(input=-1, output=1)
    with pytest.raises(ValueError, match="negative"):
        cost_per_1000_requests("x", "y", "tekken", 1.0, -1.0)


def test_example_rates_make_the_small_model_cheaper():
    large, small = EXAMPLE_RATES["large general model"], EXAMPLE_RATES["small fine-tuned model"]
    assert small.input < large.input and small.output < large.output


@pytest.mark.parametrize("tokenizer", ["tekken", "mistral-7b-v0.3"])
def test_cost_per_1000_counts_with_the_real_tokenizer(tokenizer):
    prompt, answer = "Route this ticket: the app crashes when I open a PDF.", "bug"
    rates = Rates(input=3.0, output=15.0)
    expected = 1000 * (count_tokens(prompt, tokenizer) * 3.0 + count_tokens(answer, tokenizer) * 15.0) / 1e6
    assert cost_per_1000(prompt, answer, tokenizer, rates) == pytest.approx(expected)
    longer = cost_per_1000(prompt * 3, answer, tokenizer, rates)
    assert longer > cost_per_1000(prompt, answer, tokenizer, rates)


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


def test_break_even_exact_and_noisy_divisions():
    assert break_even_requests(1000, 0.75, 0.25) == 2000
    assert break_even_requests(100, 0.3, 0.2) == 1000  # 100 / 0.09999999999999998 must not give 1001
    assert break_even_requests(10, 0.4, 0.1) == 34
    assert break_even_requests(0, 0.4, 0.1) == 0


def test_break_even_is_none_without_saving():
    assert break_even_requests(100, 0.2, 0.2) is None
    assert break_even_requests(100, 0.1, 0.3) is None
    with pytest.raises(ValueError):
        break_even_requests(-1, 0.2, 0.1)


def test_break_even_is_where_the_cumulative_costs_cross():
    rng = np.random.default_rng(0)
    for _ in range(200):
        upfront = float(rng.uniform(1, 5000))
        tuned = float(rng.uniform(0, 0.01))
        prompting = tuned + float(rng.uniform(1e-4, 0.01))
        n = break_even_requests(upfront, prompting, tuned)
        (p_at, p_before), (t_at, t_before) = cumulative_costs([n, n - 1], upfront, prompting, tuned)
        assert t_at <= p_at * (1 + 1e-9)
        assert t_before > p_before


def test_plot_break_even_draws_both_paths():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    volume = break_even_requests(500.0, 0.002, 0.0005)
    assert volume == math.ceil(500 / 0.0015)
    plot_break_even(ax, 500.0, 0.002, 0.0005, volume)
    assert len(ax.get_lines()) == 3  # two paths and the break-even marker
    plt.close(fig)
    fig, ax = plt.subplots()
    plot_break_even(ax, 500.0, 0.001, 0.002, None)
    assert len(ax.get_lines()) == 2  # never: no marker
    plt.close(fig)
