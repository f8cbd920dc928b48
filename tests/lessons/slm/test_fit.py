"""Lesson 02 §2: lesson 02's memory need and fit (on the course's one fit model)."""

from course.lessons.slm import fit
from course.models.memory import GIB, kv_cache_bytes, weight_bytes
from course.models.params import count_parameters


def test_memory_need_adds_weights_cache_and_headroom():
    need = fit.memory_need("mistral-nemo-12b", "int4", 4096)
    assert need.weights == weight_bytes(count_parameters("mistral-nemo-12b").total, "int4")
    assert need.kv_cache == kv_cache_bytes("mistral-nemo-12b", 4096)
    assert need.headroom == int(fit.RUNTIME_HEADROOM_GIB * GIB)
    assert need.total == need.weights + need.kv_cache + need.headroom


def test_fits_depends_on_precision_memory_and_context():
    assert fit.fits("mistral-nemo-12b", "int4", 8, 4096)
    assert not fit.fits("mistral-nemo-12b", "int8", 8, 4096)
    assert fit.fits("mistral-nemo-12b", "int8", 16, 4096)
    assert not fit.fits("mistral-nemo-12b", "int4", 8, 131072)  # 128k tokens of cache: 20 GiB
