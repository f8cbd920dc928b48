"""Lesson 02 §3: SmolLM2's decode speed in llama.cpp, and its plot against the bandwidth bound."""

import builtins

import matplotlib
import pytest

from course.lessons.slm import decode

matplotlib.use("Agg")


def test_decode_speed_statistics():
    speed = decode.DecodeSpeed(threads=2, tokens=32, tokens_per_second=(30.0, 20.0, 35.0))
    assert (speed.median, speed.low, speed.high) == (30.0, 20.0, 35.0)


def test_threads_are_at_least_one_and_at_most_four():
    assert 1 <= decode.decode_threads() <= 4


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="at least 1"):
        decode.measure_decode(threads=0)


def test_without_llamacpp_the_measurement_says_how_to_install(monkeypatch):
    real_import = builtins.__import__

    def no_llamacpp(name, *args, **kwargs):
        if name == "llama_cpp":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_llamacpp)
    with pytest.raises(ImportError, match="pip install"):
        decode.measure_decode(threads=1, tokens=1, repeats=1)


def test_plot_with_and_without_a_measurement():
    ax = decode.plot_decode(decode.DecodeSpeed(2, 32, (30.0, 20.0, 35.0)), bound=160.0)
    assert len(ax.patches) == 2 and len(ax.containers) >= 2  # two bars and the error bar
    assert decode.plot_decode(None, bound=160.0).patches.__len__() == 1


@pytest.mark.slow
def test_llamacpp_decodes_smollm2_at_a_positive_rate():
    pytest.importorskip("llama_cpp")
    speed = decode.measure_decode(threads=1, tokens=4, repeats=2)
    assert len(speed.tokens_per_second) == 2 and speed.low > 0
