"""The course's one decode-speed bound: bandwidth over the bytes one token reads (lessons 02 and 06)."""

import pytest

from course.models.bandwidth import decode_tokens_per_second_bound
from course.models.memory import weight_bytes


def test_decode_bound():
    # 1e9 parameters at bf16 = 2 GB; 100 GB/s -> 50 tokens/s at most
    assert decode_tokens_per_second_bound(weight_bytes(1_000_000_000, "bf16"), 100) == pytest.approx(50)
    assert decode_tokens_per_second_bound(weight_bytes(1_000_000_000, "int4"), 100) == pytest.approx(200)
    with pytest.raises(ValueError):
        decode_tokens_per_second_bound(weight_bytes(10, "bf16"), 0)
    with pytest.raises(ValueError):
        decode_tokens_per_second_bound(0, 100)
