"""Lesson 02 §6: the challenge's options, judged by a feasible function (here the reference), and their chart."""

import matplotlib
import pytest

from course.languages import say
from course.lessons.slm import deployment
from course.models.configs import load_config
from course.models.memory import GIB
from course.models.quant import perplexity_increase
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


def test_embeddings_in_ram_and_the_recommendation_by_quality():
    """§6's verdict: Q4_K_M with a q8_0 cache fits once the embeddings stay in RAM (7.93 GiB); Q4_0 with a q8_0 cache
    fits by 93 MiB but loses 2.7x Q4_K_M's perplexity, so Q4_K_M is recommended."""
    options = deployment.CHALLENGE_OPTIONS
    needs = deployment.judge(feasible, options, 8)
    in_ram = deployment.Option("mistral-nemo-12b", "Q4_K_M", "q8_0", embeddings_in_ram=True)
    on_gpu = needs[options.index(deployment.Option("mistral-nemo-12b", "Q4_K_M", "q8_0"))]
    kept = needs[options.index(in_ram)]
    assert not on_gpu["fits"] and kept["fits"]
    assert on_gpu["total"] - kept["total"] == in_ram.embeddings_bytes_in_ram > 0
    assert round(kept["total"] / GIB, 2) == 7.93
    q4_0 = needs[options.index(deployment.Option("mistral-nemo-12b", "Q4_0", "q8_0"))]
    assert round((8 * GIB - q4_0["total"]) / 2**20) == 93
    assert deployment.recommend(options, needs, "mistral-nemo-12b") == in_ram
    assert perplexity_increase("Q4_0") / perplexity_increase("Q4_K_M") == pytest.approx(2.67, abs=0.01)
    with pytest.raises(ValueError, match="No option"):
        deployment.recommend(options, needs, "mistral-small")


def test_a_tied_model_keeps_no_embeddings_in_ram():
    assert deployment.Option("llama-3.2-1b", "Q4_K_M", embeddings_in_ram=True).embeddings_bytes_in_ram == 0
    assert deployment.Option("mistral-7b", "Q4_K_M").gpu_gib_for_feasible(8) == 8


def test_perplexity_figures_know_their_formats():
    assert perplexity_increase("bf16") == 0 and perplexity_increase("GPTQ-4bit") is None
    assert perplexity_increase("Q8_0") < perplexity_increase("Q4_K_M") < perplexity_increase("Q4_0")
    with pytest.raises(ValueError, match="Unknown weight format"):
        perplexity_increase("Q3_X")
