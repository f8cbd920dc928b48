"""The real-weights loader: local folders load, anything missing says what to download."""

import pytest
import torch
from transformers import MistralForCausalLM

from course.models.tiny import build_tiny
from course.models.weights import WeightsNotFoundError, load_pretrained


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_loads_a_saved_model_from_a_folder(tmp_path):
    model = build_tiny("mistral-7b", seed=1)
    model.save_pretrained(tmp_path)
    loaded = load_pretrained(tmp_path, MistralForCausalLM)
    assert type(loaded) is MistralForCausalLM
    assert torch.equal(loaded.lm_head.weight, model.lm_head.weight.cpu())


def test_missing_folder_says_what_to_do(tmp_path):
    with pytest.raises(WeightsNotFoundError, match="No folder at"):
        load_pretrained(tmp_path / "nothing-here", MistralForCausalLM)


def test_folder_without_config(tmp_path):
    with pytest.raises(WeightsNotFoundError, match="config.json"):
        load_pretrained(tmp_path, MistralForCausalLM)


def test_missing_repo_names_the_repo_and_the_command():
    with pytest.raises(WeightsNotFoundError) as error:
        load_pretrained("mistral-nemo-12b")
    message = str(error.value)
    assert "mistralai/Mistral-Nemo-Base-2407" in message
    assert "hf download mistralai/Mistral-Nemo-Base-2407" in message


def test_repo_id_needs_a_class():
    with pytest.raises(ValueError, match="model class"):
        load_pretrained("someone/some-model")


def test_is_cached_finds_a_repo_in_the_hub_cache(tmp_path, monkeypatch):
    import huggingface_hub.constants as constants

    from course.models.weights import is_cached

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    assert not is_cached("mistral-7b")
    snapshot = tmp_path / "models--mistralai--Mistral-7B-v0.3" / "snapshots" / "abc"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (tmp_path / "models--mistralai--Mistral-7B-v0.3" / "refs").mkdir()
    (tmp_path / "models--mistralai--Mistral-7B-v0.3" / "refs" / "main").write_text("abc")
    assert is_cached("mistral-7b")
