"""GGUF, the single-file format of llama.cpp and Ollama: write a Phi-3 or Llama/Mistral model, read it back.

Lesson 06 §7 (Ollama: the same model as a GGUF file); ``course.lessons.edge.ollama`` hands the files to Ollama.

The layout follows llama.cpp's own converter (``convert_hf_to_gguf.py``): ``phi3`` or ``llama``
architecture metadata, GGUF tensor names (``blk.0.attn_qkv.weight``...), and, for Llama/Mistral,
the query/key rows reordered for llama.cpp's rotary embedding. Large matrices can be stored as
``Q8_0``: blocks of 32 int8 weights that share one fp16 scale (8.5 bits per weight).

Tokenizer: llama.cpp implements a handful of algorithms (SentencePiece, byte-level BPE, WordPiece,
...). The course's word-level vocabulary is written in llama.cpp's WordPiece form (each whole word
is stored with a leading ``▁``); llama.cpp's WordPiece lowercases and splits every punctuation
character on its own, so text must follow those rules to be tokenised the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel

PRECISIONS = ("f32", "q8_0", "q4_0")
#: The ggml type that stores each precision's 2-D matrices (embeddings: see the module's note).
_MATRIX_TYPES = {"q8_0": "Q8_0", "q4_0": "Q4_0"}
WORD_MARK = "\u2581"  # "▁", how SentencePiece (and llama.cpp's Unigram tokenizer) marks the start of a word
# Hugging Face model_type -> llama.cpp architecture; Llama-family rotary weights need reordering.
_ARCHS = {"llama": "llama", "mistral": "llama", "phi3": "phi3"}
_REORDER_QK = {"llama"}


def _permute(weights: np.ndarray, heads: int) -> np.ndarray:
    """Reorder the rows of a query/key projection from Hugging Face's rotary layout to llama.cpp's."""
    half = weights.shape[0] // heads // 2
    return weights.reshape(heads, 2, half, *weights.shape[1:]).swapaxes(1, 2).reshape(weights.shape)


def _unpermute(weights: np.ndarray, heads: int) -> np.ndarray:
    """Undo ``_permute``: llama.cpp's rotary layout back to Hugging Face's."""
    half = weights.shape[0] // heads // 2
    return weights.reshape(heads, half, 2, *weights.shape[1:]).swapaxes(1, 2).reshape(weights.shape)


def architecture(model: PreTrainedModel) -> str:
    """The llama.cpp architecture name for ``model`` (``phi3`` or ``llama``)."""
    model_type = model.config.model_type
    if model_type not in _ARCHS:
        raise ValueError(
            f"GGUF export here handles Phi-3, Llama and Mistral models, not {model_type!r}; "
            "for other architectures use llama.cpp's convert_hf_to_gguf.py."
        )
    return _ARCHS[model_type]


def _heads(config) -> tuple[int, int]:
    return config.num_attention_heads, config.num_key_value_heads or config.num_attention_heads


def _layout(model: PreTrainedModel) -> tuple[str, Any, Callable[[str], int | None]]:
    """(llama.cpp architecture, GGUF tensor name map, ``hf_name -> heads`` of a rotary projection to reorder
    or None) for ``model``: what writing and reading back share."""
    import gguf

    arch = architecture(model)
    config = model.config
    heads, kv_heads = _heads(config)
    arch_id = next(key for key, value in gguf.MODEL_ARCH_NAMES.items() if value == arch)
    names = gguf.get_tensor_name_map(arch_id, config.num_hidden_layers)

    def reordered_heads(hf_name: str) -> int | None:
        if arch not in _REORDER_QK:
            return None
        if hf_name.endswith("q_proj.weight"):
            return heads
        return kv_heads if hf_name.endswith("k_proj.weight") else None

    return arch, names, reordered_heads


def gguf_tensors(model: PreTrainedModel) -> dict[str, np.ndarray]:
    """The model's weights as float32 arrays, under their GGUF names, in llama.cpp's layout."""
    arch, names, reordered_heads = _layout(model)
    tensors: dict[str, np.ndarray] = {}
    # state_dict lists a tied output head too; writing it keeps the file usable by every llama.cpp version
    for hf_name, tensor in model.state_dict().items():
        base = names.get_name(hf_name.removesuffix(".weight"))
        if base is None:
            raise ValueError(f"No GGUF name for tensor {hf_name!r}; is this a {arch} model?")
        data = tensor.detach().to("cpu").float().numpy()
        if heads := reordered_heads(hf_name):
            data = _permute(data, heads)
        tensors[f"{base}.weight"] = data
    return tensors


def _vocabulary(tokenizer, vocab_size: int) -> tuple[list[str], list[int]]:
    """Tokens in llama.cpp's Unigram form (each word with its ``▁`` mark) and their types, padded to the model's
    vocabulary size."""
    import gguf

    special = set(tokenizer.all_special_ids)
    tokens, types = [], []
    for token_id, token in enumerate(tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))):
        if token_id == tokenizer.unk_token_id:
            tokens.append(token)
            types.append(gguf.TokenType.UNKNOWN)
        elif token_id in special:
            tokens.append(token)
            types.append(gguf.TokenType.CONTROL)
        else:
            tokens.append(WORD_MARK + token)
            types.append(gguf.TokenType.NORMAL)
    if len(tokens) > vocab_size:
        raise ValueError(f"The tokenizer has {len(tokens)} tokens but the model only {vocab_size} rows.")
    for extra in range(len(tokens), vocab_size):
        tokens.append(f"[PAD{extra}]")
        types.append(gguf.TokenType.UNUSED)
    return tokens, [int(t) for t in types]


def _add_fields(writer, fields: dict[str, Any]) -> None:
    """Write metadata with the ``GGUFWriter.add_<key>`` method of each key, in order."""
    for key, value in fields.items():
        getattr(writer, f"add_{key}")(value)


def write_gguf(
    model: PreTrainedModel,
    tokenizer,
    path: str | Path,
    precision: str = "q8_0",
    name: str = "course-model",
    chat_template: str | None = None,
) -> Path:
    """Write ``model`` and its word-level ``tokenizer`` to one GGUF file at ``precision`` (f32, q8_0 or q4_0).

    ``chat_template`` (Jinja, as in Hugging Face's ``tokenizer_config.json``) is stored as
    ``tokenizer.chat_template``: the prompt format runtimes read from the file."""
    import gguf

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    arch = architecture(model)
    config = model.config
    heads, kv_heads = _heads(config)
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
    rope = config.rope_parameters
    if rope.get("rope_type", "default") != "default":
        raise ValueError(
            f"Rotary scaling {rope['rope_type']!r} needs extra GGUF tensors; use llama.cpp's convert_hf_to_gguf.py."
        )
    file_types = {"f32": "ALL_F32", "q8_0": "MOSTLY_Q8_0", "q4_0": "MOSTLY_Q4_0"}
    tokens, types = _vocabulary(tokenizer, config.vocab_size)
    path = Path(path)
    writer = gguf.GGUFWriter(path, arch)
    _add_fields(writer, {
        "name": name,
        "context_length": config.max_position_embeddings,
        "embedding_length": config.hidden_size,
        "block_count": config.num_hidden_layers,
        "feed_forward_length": config.intermediate_size,
        "head_count": heads,
        "head_count_kv": kv_heads,
        "key_length": head_dim,
        "value_length": head_dim,
        "rope_dimension_count": int(head_dim * rope.get("partial_rotary_factor", 1.0)),
        "rope_freq_base": float(rope["rope_theta"]),
        "layer_norm_rms_eps": float(config.rms_norm_eps),
        "vocab_size": config.vocab_size,
        "file_type": gguf.LlamaFileType[file_types[precision]],
    })  # fmt: skip
    if arch == "phi3":
        writer.add_rope_scaling_orig_ctx_len(config.original_max_position_embeddings)
    _add_fields(writer, {
        "tokenizer_model": "t5",
        "token_list": tokens,
        "token_types": types,
        "token_scores": [-1.0] * len(tokens),  # equal: a whole word always beats the unknown token
        "add_space_prefix": True,
        "remove_extra_whitespaces": True,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "unk_token_id": tokenizer.unk_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        "add_bos_token": False,
        "add_eos_token": False,
        "add_sep_token": False,
    })  # fmt: skip
    if chat_template is not None:
        writer.add_chat_template(chat_template)

    for tensor_name, data in gguf_tensors(model).items():
        kind = _MATRIX_TYPES.get(precision)
        if kind and tensor_name.startswith(("token_embd", "output.")):
            kind = "Q8_0"  # the head (tied to the embeddings) stays at 8 bits, as llama.cpp's quantiser keeps it high
        ggml_type = gguf.GGMLQuantizationType[kind] if kind else None
        if ggml_type is not None and data.ndim == 2 and data.shape[1] % gguf.GGML_QUANT_SIZES[ggml_type][0] == 0:
            writer.add_tensor(tensor_name, gguf.quants.quantize(data, ggml_type), raw_dtype=ggml_type)
        else:
            writer.add_tensor(tensor_name, data)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@dataclass(frozen=True)
class GGUFContents:
    """What a GGUF file holds: metadata values, tensors (dequantised to float32) and their stored types."""

    metadata: dict[str, Any]
    tensors: dict[str, np.ndarray] = field(repr=False)
    types: dict[str, str]


def read_gguf(path: str | Path) -> GGUFContents:
    """Read a GGUF file back with ``gguf.GGUFReader``."""
    import gguf

    if not Path(path).is_file():
        raise FileNotFoundError(f"{path} does not exist; write it first with write_gguf(...).")
    reader = gguf.GGUFReader(path)
    metadata = {key: value.contents() for key, value in reader.fields.items() if not key.startswith("GGUF.")}
    tensors, types = {}, {}
    for tensor in reader.tensors:
        values = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
        tensors[tensor.name] = np.asarray(values, dtype=np.float32)
        types[tensor.name] = tensor.tensor_type.name
    return GGUFContents(metadata, tensors, types)


def roundtrip_errors(model: PreTrainedModel, contents: GGUFContents) -> dict[str, float]:
    """Largest absolute difference, per tensor, between the model's weights and the GGUF file's.

    Raises a ValueError if a tensor is missing or has another shape.
    """
    expected = gguf_tensors(model)
    missing = sorted(set(expected) - set(contents.tensors))
    if missing:
        raise ValueError(f"The GGUF file lacks {len(missing)} tensors, e.g. {missing[0]}; write it again.")
    errors = {}
    for name, data in expected.items():
        stored = contents.tensors[name]
        if stored.shape != data.shape:
            raise ValueError(f"{name}: shape {stored.shape} in the file, {data.shape} in the model.")
        errors[name] = float(np.max(np.abs(stored - data)))
    return errors


def state_dict_from_gguf(model: PreTrainedModel, contents: GGUFContents) -> dict[str, torch.Tensor]:
    """The file's (dequantised) tensors under ``model``'s own names and layout, for ``load_state_dict``.

    This is how to check what a quantised GGUF file would answer without llama.cpp: load it back
    into the original architecture and run it.
    """
    import torch

    _, names, reordered_heads = _layout(model)
    state = {}
    for hf_name in model.state_dict():
        stored = f"{names.get_name(hf_name.removesuffix('.weight'))}.weight"
        if stored not in contents.tensors:
            raise ValueError(f"The GGUF file lacks {stored} (for {hf_name}); write it again with write_gguf.")
        data = contents.tensors[stored]
        if heads := reordered_heads(hf_name):
            data = _unpermute(data, heads)
        state[hf_name] = torch.from_numpy(np.array(data, dtype=np.float32))  # a writable copy
    return state
