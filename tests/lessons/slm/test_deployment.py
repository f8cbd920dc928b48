"""Lesson 02 §6: the challenge's options, judged by a feasible function (here the reference), and their chart."""

import matplotlib
import pytest

from course.languages import say
from course.lessons.slm import deployment
from course.models.configs import load_config
from course.references.slm import feasible

matplotlib.use("Agg")


def test_the_options_and_their_verdicts():
    needs = deployment.judge(feasible, deployment.CHALLENGE_OPTIONS, 8)
    verdicts = {option: need["fits"] for option, need in zip(deployment.CHALLENGE_OPTIONS, needs, strict=True)}
    assert not verdicts[deployment.Option("mistral-nemo-12b", "Q4_K_M")]
    assert verdicts[deployment.Option("mistral-nemo-12b", "Q4_0", "q8_0")]
    assert verdicts[deployment.Option("mistral-7b", "Q4_K_M")]
    assert not any(fits for option, fits in verdicts.items() if option.model == "mistral-small")
    assert deployment.Option("mistral-7b", "Q4_K_M").label == "mistral-7b Q4_K_M, bf16 KV, 4,096 tokens"


@pytest.mark.parametrize(("precision", "kv"), [("Q4_0", "bf16"), ("Q4_0", "q8_0"), ("Q4_K_M", "q8_0")])
def test_longest_context_is_the_last_that_fits(precision, kv):
    longest = deployment.longest_context(feasible, "mistral-nemo-12b", precision, 8, kv)
    nemo = load_config("mistral-nemo-12b")
    assert feasible(nemo, precision, longest, 8, kv)["fits"]
    assert not feasible(nemo, precision, longest + 1, 8, kv)["fits"]


def test_longest_context_is_zero_when_the_weights_alone_do_not_fit():
    assert deployment.longest_context(feasible, "mistral-small", "Q4_K_M", 8, "bf16") == 0


def test_tokenizers_and_the_approximation_note():
    assert deployment.MODEL_TOKENIZER["mistral-nemo-12b"] == "tekken"
    assert set(deployment.APPROXIMATE_TOKENIZER) <= set(deployment.MODEL_TOKENIZER)
    assert "approximation" in say(deployment.APPROXIMATE_TOKENIZER["mistral-small"], "en")


def test_chart_draws():
    options = deployment.CHALLENGE_OPTIONS[:2]
    ax = deployment.plot_options(options, deployment.judge(feasible, options, 8), 8)
    assert len(ax.patches) == 3 * 2 and ax.get_xlim()[1] > 8
