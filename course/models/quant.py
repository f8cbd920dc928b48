"""How many bits a stored weight, or a cached key/value, really takes: the formats real files use (lesson 02 §2 and
§6, lesson 06 §8).

"int4 is half a byte per weight" is a lower bound no real file reaches. Quantised formats store a scale (and often a
minimum or zero point) for every small block of weights, and they keep some matrices at higher precision. A format
here has three rates, in bits per weight: one for the decoder layers' matrices, one for the token-embedding matrix and
one for the output head (a model whose embeddings are *tied* stores one matrix, used as both, at the head's rate).

Where the figures come from:

- ``Q8_0``, ``Q4_0``, ``Q4_K``, ``Q6_K``: llama.cpp's ggml block layouts, read from the ``gguf`` package
  (``gguf.constants.GGML_QUANT_SIZES``: weights per block and bytes per block; e.g. Q4_0 is 32 weights in 4 bits plus
  one fp16 scale, 18 bytes, 4.5 bits per weight).
- Which tensors get which type in a GGUF file: llama.cpp's quantiser (``src/llama-quant.cpp``,
  ``llama_tensor_get_type``). The output head becomes Q6_K for every type except Q8_0 (which keeps Q8_0); an untied
  token-embedding matrix keeps the file's main type; Q4_K_M also stores ``attn_v`` and ``ffn_down`` as Q6_K in about
  half of the layers (``use_more_bits``: the first and last eighth, and every third layer between).
- GPTQ and AWQ 4-bit checkpoints (AutoGPTQ, AutoAWQ; group size 128): each weight in 4 bits, and per group of 128
  input weights an fp16 scale and a 4-bit zero point (``qweight``, ``scales``, ``qzeros``; GPTQ adds a 32-bit
  ``g_idx`` per input row, under 0.01 bit per weight, left out). Both quantise the linear layers inside the decoder
  blocks only: the token embeddings and the output head stay in 16 bits.
- KV-cache types: llama.cpp's ``--cache-type-k/-v`` (``f16``, ``q8_0``, ``q4_0``: the same ggml blocks) and vLLM's
  ``kv_cache_dtype="fp8"`` (one byte per value).

The ``gguf`` package is imported the first time a ggml figure is needed (it is slow to import), never at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

#: GPTQ/AWQ: weights per group that share one fp16 scale and one 4-bit zero point (the usual setting).
GPTQ_GROUP_SIZE = 128
#: Share of the decoder layers' weights that Q4_K_M stores as Q6_K instead of Q4_K: ``attn_v`` and ``ffn_down`` are
#: about 2/7 of a Llama/Mistral layer's weights (Mistral NeMo 28.8 %, Llama 3.2 1B 29.3 %), upgraded in half of
#: the layers. The tests check that this reproduces the per-tensor recipe of the Llama and Mistral course models within
#: 1 %. Phi-3 and Mixtral files differ by a few per cent (Phi-3's fused ``attn_qkv`` becomes Q5_K; an 8-expert
#: model's ``attn_k``/``attn_v`` become Q8_0 and its ``attn_output`` Q5_K).
Q4_K_M_Q6_K_SHARE = 1 / 7


@dataclass(frozen=True)
class WeightFormat:
    """A way to store a model's weights, as bits per weight for each kind of matrix."""

    name: str
    label: str
    bits: float  # per weight of the decoder layers (attention and MLP matrices, norms, experts, vision encoder)
    embedding_bits: float  # per weight of the token-embedding matrix
    head_bits: float  # per weight of the output head; tied embeddings are stored once, at this rate
    source: str

    @property
    def bytes_per_weight(self) -> float:
        """Bytes per weight of the decoder layers."""
        return self.bits / 8


@cache
def ggml_bits(type_name: str) -> float:
    """Bits per weight of a ggml type (``"Q4_0"``, ``"Q4_K"``, ...): 8 x bytes per block / weights per block."""
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

    try:
        block, size = GGML_QUANT_SIZES[GGMLQuantizationType[type_name]]
    except KeyError:
        raise ValueError(f"{type_name!r} is not a ggml type; try 'Q8_0', 'Q4_0', 'Q4_K' or 'Q6_K'.") from None
    return 8 * size / block


def weight_formats() -> dict[str, WeightFormat]:
    """The weight formats the course knows, by name (a fresh dict: changing it changes nothing shared)."""
    return dict(_weight_formats())


@cache
def _weight_formats() -> dict[str, WeightFormat]:
    q8, q4, q4k, q6k = ggml_bits("Q8_0"), ggml_bits("Q4_0"), ggml_bits("Q4_K"), ggml_bits("Q6_K")
    llama_cpp = "llama.cpp: ggml block sizes (gguf GGML_QUANT_SIZES), tensor types from src/llama-quant.cpp"
    gptq = 4 + (16 + 4) / GPTQ_GROUP_SIZE
    formats = [
        WeightFormat("fp32", "32-bit floats", 32, 32, 32, "IEEE 754 single precision"),
        WeightFormat("bf16", "bfloat16, as the models are published", 16, 16, 16, "the models' safetensors files"),
        WeightFormat("fp16", "16-bit floats", 16, 16, 16, "IEEE 754 half precision"),
        WeightFormat("int8", "ideal 8-bit: 1 byte per weight, no scales (a lower bound)", 8, 8, 8, "arithmetic"),
        WeightFormat("int4", "ideal 4-bit: half a byte per weight, no scales (a lower bound)", 4, 4, 4, "arithmetic"),
        WeightFormat("Q8_0", "GGUF Q8_0: blocks of 32 int8 weights + an fp16 scale", q8, q8, q8, llama_cpp),
        WeightFormat(
            "Q4_0", "GGUF Q4_0: blocks of 32 4-bit weights + an fp16 scale; head Q6_K", q4, q4, q6k, llama_cpp
        ),
        WeightFormat(
            "Q4_K_M",
            "GGUF Q4_K_M: Q4_K super-blocks, Q6_K for the head and some attn_v/ffn_down",
            q4k + Q4_K_M_Q6_K_SHARE * (q6k - q4k),
            q4k,
            q6k,
            llama_cpp,
        ),
        WeightFormat(
            "GPTQ-4bit",
            f"GPTQ/AWQ 4-bit, groups of {GPTQ_GROUP_SIZE}; embeddings and head in 16 bits",
            gptq,
            16,
            16,
            "AutoGPTQ/AutoAWQ packed layout (qweight, fp16 scales, 4-bit qzeros)",
        ),
    ]
    return {fmt.name: fmt for fmt in formats}


def weight_format(name: str) -> WeightFormat:
    """The weight format called ``name`` (see :func:`weight_formats`)."""
    formats = _weight_formats()
    if name not in formats:
        raise ValueError(f"Unknown weight format {name!r}; choose one of: {', '.join(formats)}.")
    return formats[name]


#: What a format costs in quality, from llama.cpp's own table (``tools/quantize/quantize.cpp``, ``QUANT_OPTIONS``,
#: printed by ``llama-quantize --help``): the increase in perplexity of Llama-3-8B on wikitext against its 16-bit
#: weights. One model's figures, so a guide to the order of the formats, not to another model's exact loss.
PERPLEXITY_INCREASE_LLAMA3_8B: dict[str, float] = {
    "Q8_0": 0.0026,
    "Q6_K": 0.0217,
    "Q4_K_M": 0.1754,
    "Q4_0": 0.4685,
    "Q4_1": 0.4511,
}


def perplexity_increase(name: str) -> float | None:
    """llama.cpp's perplexity increase for weight format ``name`` (0 for the 16- and 32-bit formats the increase is
    measured against; None where llama.cpp's table has no figure, as for GPTQ or the ideal int formats)."""
    weight_format(name)  # an unknown name is refused
    if name in ("bf16", "fp16", "fp32"):
        return 0.0
    return PERPLEXITY_INCREASE_LLAMA3_8B.get(name)


#: The llama.cpp cache types, 8-bit and 4-bit, in ggml blocks: their bits per value come from ``ggml_bits``.
_GGML_CACHE_TYPES = {"q8_0": "Q8_0", "q4_0": "Q4_0"}
_PLAIN_CACHE_BYTES = {"fp32": 4.0, "fp16": 2.0, "bf16": 2.0, "fp8": 1.0, "int8": 1.0}
KV_FORMATS: tuple[str, ...] = (*_PLAIN_CACHE_BYTES, *_GGML_CACHE_TYPES)


def kv_bytes_per_value(kv_format: str) -> float:
    """Bytes per cached key or value: 2 for fp16/bf16, 1 for fp8/int8, 1.0625 for llama.cpp's q8_0 blocks, ..."""
    if kv_format in _PLAIN_CACHE_BYTES:
        return _PLAIN_CACHE_BYTES[kv_format]
    if kv_format in _GGML_CACHE_TYPES:
        return ggml_bits(_GGML_CACHE_TYPES[kv_format]) / 8
    raise ValueError(f"Unknown KV-cache format {kv_format!r}; choose one of: {', '.join(KV_FORMATS)}.")
