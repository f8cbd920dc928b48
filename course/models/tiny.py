"""Tiny models built from the real transformers classes, with the real configs' structure.

``tiny_config("mixtral-8x7b")`` is a ``MixtralConfig`` with the real number of
experts, experts per token and the same query/KV head ratio, but a hidden size
of 64 and two layers, so a forward pass takes milliseconds on a CPU.
"""

from __future__ import annotations

from typing import Any

from course.models.configs import load_config, model_card, text_config

TINY_HIDDEN = 64
TINY_HEADS = 4
TINY_HEAD_DIM = TINY_HIDDEN // TINY_HEADS
TINY_LAYERS = 2
TINY_INTERMEDIATE = 128
TINY_VOCAB = 512
TINY_CONTEXT = 512

# The values of the real config a tiny model keeps: everything structural that is not a size.
_KEEP = (
    "model_type",
    "hidden_act",
    "num_local_experts",
    "num_experts_per_tok",
    "attention_bias",
    "lm_head_bias",
    "mlp_bias",
    "tie_word_embeddings",
    "rms_norm_eps",
    "rope_theta",
)


def _tiny_heads(real: dict[str, Any]) -> tuple[int, int]:
    """Query and key/value heads: the real GQA ratio (query heads per KV head), about ``TINY_HEADS`` heads."""
    heads = real["num_attention_heads"]
    ratio = heads // (real.get("num_key_value_heads") or heads)
    kv_heads = max(1, TINY_HEADS // ratio)
    return kv_heads * ratio, kv_heads


def _tiny_text(real: dict[str, Any]) -> dict[str, Any]:
    tiny = {key: real[key] for key in _KEEP if key in real}
    heads, kv_heads = _tiny_heads(real)
    tiny.update(
        vocab_size=TINY_VOCAB,
        hidden_size=heads * TINY_HEAD_DIM,  # 64, or 48 when the GQA ratio is 3 (Llama 3.2 3B)
        intermediate_size=TINY_INTERMEDIATE,
        num_hidden_layers=TINY_LAYERS,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        head_dim=TINY_HEAD_DIM,
        max_position_embeddings=TINY_CONTEXT,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
    )
    if real.get("model_type") == "phi3":  # Phi3 has no head_dim field; its rope needs these
        tiny.pop("head_dim")
        tiny["original_max_position_embeddings"] = TINY_CONTEXT
    if "sliding_window" in real:
        tiny["sliding_window"] = None
    return tiny


def _tiny_mllama(real: dict[str, Any]) -> dict[str, Any]:
    text = _tiny_text(text_config(real))
    text.update(model_type="mllama_text_model", num_hidden_layers=3, cross_attention_layers=[1])
    text.pop("head_dim", None)
    vision = dict(real["vision_config"])
    indices = [0, 1]
    vision.update(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_global_layers=1,
        attention_heads=2,
        image_size=28,
        patch_size=14,
        max_num_tiles=2,
        supported_aspect_ratios=[[1, 1], [1, 2], [2, 1]],
        intermediate_layers_indices=indices,
        vision_output_dim=32 * (len(indices) + 1),
    )
    return {
        "model_type": "mllama",
        "image_token_index": TINY_VOCAB - 1,
        "text_config": text,
        "vision_config": vision,
    }


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def tiny_config_dict(name: str, **overrides: Any) -> dict[str, Any]:
    """The tiny config as plain values (``text_config={...}`` style overrides merge into sub-configs)."""
    real = load_config(name)
    base = _tiny_mllama(real) if real["model_type"] == "mllama" else _tiny_text(real)
    return _merge(base, overrides)


def tiny_config(name: str, **overrides: Any):
    """A transformers config of the real architecture class of ``name``, with tiny sizes."""
    from transformers import AutoConfig

    values = tiny_config_dict(name, **overrides)
    model_type = values.pop("model_type")
    return AutoConfig.for_model(model_type, **values)


def model_class(name: str):
    """The real transformers class of ``name`` (``Phi3ForCausalLM``, ``MixtralForCausalLM``...)."""
    import transformers

    return getattr(transformers, model_card(name).architecture)


def build_tiny(name: str, seed: int = 0, **overrides: Any):
    """A freshly initialised tiny ``name`` model on ``course.runtime.device()``, seeded, in eval mode."""
    from course.runtime import device, seed_everything

    seed_everything(seed)
    model = model_class(name)(tiny_config(name, **overrides))
    return model.to(device()).eval()
