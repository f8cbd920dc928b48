"""Lesson 02 §2: SmolLM2's GGUF file read tensor by tensor, against the course's bits-per-weight table."""

import pytest

from course.lessons.slm import gguf_file
from course.models import smollm2


@pytest.fixture(scope="module")
def shares():
    return gguf_file.tensor_types(smollm2.gguf_path())


def test_the_file_holds_what_its_model_card_says(shares):
    by_type = {share.type_name: share for share in shares}
    assert set(by_type) == {"Q4_1", "Q8_0", "F32"}
    assert by_type["Q8_0"].tensors == 1 and by_type["Q8_0"].examples == ("token_embd.weight",)  # tied embeddings
    assert by_type["Q4_1"].tensors == 30 * 7  # q, k, v, o, gate, up, down in each of 30 layers
    assert sum(share.weights for share in shares) == 134_515_008  # transformers' count of the model
    assert [share.bytes for share in shares] == sorted((share.bytes for share in shares), reverse=True)


def test_measured_bits_match_the_table(shares):
    for share in shares:
        assert share.measured_bits == pytest.approx(share.table_bits, abs=1e-12), share.type_name
    assert 4.5 < gguf_file.bits_per_weight(shares) < 8
    assert gguf_file.total_bytes(shares) < smollm2.gguf_path().stat().st_size  # the metadata comes on top


def test_a_type_share_measures_its_own_bits():
    share = gguf_file.TypeShare("Q4_0", tensors=1, weights=64, bytes=36, examples=("x",))
    assert share.measured_bits == 4.5 == share.table_bits
    wrong = gguf_file.TypeShare("Q4_0", tensors=1, weights=64, bytes=32, examples=("x",))
    assert wrong.measured_bits != wrong.table_bits


def test_layer_numbers_are_left_out_of_the_examples():
    assert gguf_file._generic_name("blk.17.ffn_up.weight") == "blk.N.ffn_up.weight"
    assert gguf_file._generic_name("output_norm.weight") == "output_norm.weight"


def test_a_missing_file_is_said(tmp_path):
    with pytest.raises(FileNotFoundError, match="No GGUF file"):
        gguf_file.tensor_types(tmp_path / "absent.gguf")
