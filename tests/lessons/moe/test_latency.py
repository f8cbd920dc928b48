"""Lesson 03: the MoE model and its dense twins for the latency comparison, and their plots."""

import matplotlib
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course.lessons.moe import plots
from course.lessons.moe.latency import contenders, time_forward
from course.lessons.moe.training import RoutingRun
from course.references.sizes import count_from_config
from course.timing import Timing  # noqa: E402

matplotlib.use("Agg")


def test_dense_twins_match_the_moe_active_and_total_sizes():
    moe, same_active, same_total = contenders(hidden_size=128, intermediate_size=256, num_experts=8, top_k=2)
    hidden, layers = 128, 2
    router = layers * hidden * 8
    assert moe.active - same_active.active == router  # identical except the router
    assert moe.total - same_total.total == router
    assert moe.total > 2.5 * moe.active
    assert moe.flops_per_token == pytest.approx(same_active.flops_per_token, rel=0.01)
    assert same_total.flops_per_token > 3 * moe.flops_per_token
    model = moe.build()
    assert type(model).__name__ == "MixtralForCausalLM"
    assert sum(p.numel() for p in model.parameters()) == moe.total
    for contender in (moe, same_active, same_total):  # counted on the model, as the arithmetic counts its config
        count = count_from_config(contender.config())
        assert (contender.total, contender.active) == (count.total, count.active)
        assert contender.flops_per_token == 2 * (count.active - count.by_part["embeddings"])
    assert type(same_total.build()).__name__ == "MistralForCausalLM"


def test_contenders_reject_bad_sizes():
    with pytest.raises(ValueError, match="top_k"):
        contenders(num_experts=4, top_k=5)
    with pytest.raises(ValueError, match="multiple of 128"):
        contenders(hidden_size=100)


def test_time_forward_measures_a_forward_pass():
    moe = contenders(hidden_size=128, intermediate_size=32)[0].build()
    timing = time_forward(moe, torch.randint(0, 512, (1, 8)), repeats=3, warmup=1)
    assert isinstance(timing, Timing) and len(timing.samples) == 3
    assert all(s > 0 for s in timing.samples)
    assert torch.get_num_threads() >= 1


def test_plots_draw_what_they_are_given():
    fig = plots.plot_sizes(["a", "b"], [10e9, 40e9], [10e9, 7e9], [200.0, 280.0], "a GPU")
    assert len(fig.axes[0].patches) == 4 and [p.get_height() for p in fig.axes[1].patches] == [200.0, 280.0]
    fig = plots.plot_breakdown(["m", "n"], [1e9, 2e9], [3e9, 1e9], [8, 16], [2, 2])
    heights = [round(sum(p.get_height() for p in axis.patches[i::3]), 6) for axis in fig.axes for i in range(3)]
    assert heights == [32.0, 25.0, 7.0, 48.0, 18.0, 4.0]  # E x (shared + expert), total, active, in billions
    fig = plots.plot_batch_reads([1, 2, 4], {"m": [1.0, 2.0, 3.0]}, {"m": 4.0})
    assert list(fig.axes[0].lines[0].get_ydata()) == [1.0, 2.0, 3.0] and fig.axes[0].lines[1].get_ydata()[0] == 4.0
    table = torch.zeros(3, 4)
    fig = plots.plot_routing([(["x", "y", "z"], table), (["u", "v", "w"], table)], "t")
    assert len(fig.axes) == 3  # two heatmaps and a colour bar
    fig = plots.plot_loads({"a": [0.5, 0.5], "b": [1.0, 0.0]}, "loads")
    assert len(fig.axes[0].patches) == 4
    run = RoutingRun(0.0, [3.0, 2.0], [2.1, 2.0], [1, 2], [[2.0, 3.0], [1.5, 1.5]], [[0.5, 0.5]])
    fig = plots.plot_training({"run": run})
    assert list(fig.axes[0].lines[0].get_ydata()) == [2.5, 1.5]
    fig = plots.plot_latency(["a", "b"], [Timing((0.1, 0.2)), Timing((0.3,))], [1e6, 2e6])
    assert [round(p.get_height()) for p in fig.axes[0].patches] == [150, 300]
    plt.close("all")
