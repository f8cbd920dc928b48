"""Lesson 02 §2: lesson 02's memory need and fit (on the course's one memory model), and its charts."""

import matplotlib

from course.lessons.slm import fit
from course.models.memory import GIB, kv_cache_bytes, model_weight_bytes

matplotlib.use("Agg")


def test_memory_need_adds_weights_cache_and_headroom():
    need = fit.memory_need("mistral-nemo-12b", "Q4_K_M", 4096)
    assert need.weights == model_weight_bytes("mistral-nemo-12b", "Q4_K_M").total
    assert need.kv_cache == kv_cache_bytes("mistral-nemo-12b", 4096)
    assert need.headroom == int(fit.RUNTIME_HEADROOM_GIB * GIB)
    assert need.total == need.weights + need.kv_cache + need.headroom
    assert fit.memory_need("mistral-nemo-12b", "Q4_K_M", 4096, kv_precision="q8_0").kv_cache < need.kv_cache


def test_fits_depends_on_format_memory_cache_and_context():
    assert not fit.fits("mistral-nemo-12b", "Q4_K_M", 8, 4096)  # the real 4-bit file is too big for 8 GiB
    assert fit.fits("mistral-nemo-12b", "int4", 8, 4096)  # half a byte per weight would say it fits
    assert fit.fits("mistral-nemo-12b", "Q4_0", 8, 4096, kv_precision="q8_0")
    assert fit.fits("mistral-nemo-12b", "Q8_0", 16, 4096)
    assert not fit.fits("mistral-nemo-12b", "Q4_0", 8, 131072)  # 128k tokens of cache: 20 GiB


def test_charts_draw():
    ax = fit.plot_memory(["llama-3.2-1b", "mistral-7b"], lambda name, p: 2 * GIB, 8, 4096)
    assert len(ax.patches) == 2 * len(fit.SHOWN_FORMATS)
    faded = fit.plot_memory(["mistral-7b"], lambda name, p: 9 * GIB, 8, 4096, precisions=("bf16",))
    assert faded.patches[0].get_alpha() < 1
    ax = fit.plot_formats("mistral-nemo-12b", ["bf16", "Q4_K_M"])
    assert len(ax.patches) == 3 * 2  # layers, embeddings and head for each format
    explorer = fit.memory_explorer(["llama-3.2-1b"])
    assert explorer.children  # sliders, dropdowns and output


def test_only_the_self_attention_layers_cache_the_text():
    from course.lessons.slm.fit import self_attention_config
    from course.models.configs import load_config, text_config
    from course.models.memory import kv_cache_bytes
    from course.references.slm import kv_cache_size

    vision = text_config(load_config("llama-3.2-11b-vision"))
    assert self_attention_config(vision)["num_hidden_layers"] == 32  # 40 layers, 8 of them cross-attention
    assert kv_cache_size(self_attention_config(vision), 4096, 1, 2) == kv_cache_bytes("llama-3.2-11b-vision", 4096)
    mistral = load_config("mistral-7b")
    assert self_attention_config(mistral) == mistral
