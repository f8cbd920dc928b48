"""Lesson 02 §2 and §3: what a real GGUF file stores, tensor by tensor, read with ``gguf.GGUFReader`` (llama.cpp's own
Python reader).

Why: section 2 computes bits per weight from ggml's block layouts (:func:`course.models.quant.ggml_bits`) and from
llama.cpp's rules for which tensor gets which type. Reading a real file (SmolLM2-135M-Instruct, the course's model)
checks both against what was actually written: the bits per weight measured from each tensor's bytes must match the
table, and the file shows the rule that small tensors (the norms) stay in float32 and the token embeddings get a
type of their own. Section 3 uses the tensors' bytes as the bytes one generated token reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from course.models.quant import ggml_bits


@dataclass(frozen=True)
class TypeShare:
    """The tensors of one ggml type in a file: how many, how many weights, how many bytes."""

    type_name: str
    tensors: int
    weights: int
    bytes: int
    examples: tuple[str, ...]  # a few tensor names, to say what the type is used for

    @property
    def measured_bits(self) -> float:
        """Bits per weight from the file itself: 8 x bytes / weights."""
        return 8 * self.bytes / self.weights

    @property
    def table_bits(self) -> float:
        """Bits per weight from the course's table (ggml's block layout in the ``gguf`` package)."""
        return ggml_bits(self.type_name)


def tensor_types(path: str | Path, examples: int = 2) -> list[TypeShare]:
    """The tensors of the GGUF file at ``path`` grouped by ggml type, most bytes first, with up to ``examples``
    tensor names each (their layer number left out, so ``blk.N.ffn_up.weight`` names every layer's)."""
    import gguf

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No GGUF file at {path}.")
    groups: dict[str, list] = {}
    for tensor in gguf.GGUFReader(path).tensors:
        groups.setdefault(tensor.tensor_type.name, []).append(tensor)
    shares = []
    for type_name, tensors in groups.items():
        names = dict.fromkeys(_generic_name(t.name) for t in tensors)
        shares.append(
            TypeShare(
                type_name,
                len(tensors),
                sum(int(t.n_elements) for t in tensors),
                sum(int(t.n_bytes) for t in tensors),
                tuple(list(names)[:examples]),
            )
        )
    return sorted(shares, key=lambda share: -share.bytes)


def _generic_name(name: str) -> str:
    """``blk.7.attn_q.weight`` -> ``blk.N.attn_q.weight``: one name for the same tensor in every layer."""
    parts = name.split(".")
    if len(parts) > 2 and parts[0] == "blk" and parts[1].isdigit():
        parts[1] = "N"
    return ".".join(parts)


def total_bytes(shares: Sequence[TypeShare]) -> int:
    """Bytes of all the tensors: the weights, without the file's metadata (tokenizer, chat template)."""
    return sum(share.bytes for share in shares)


def bits_per_weight(shares: Sequence[TypeShare]) -> float:
    """Bits per weight of the whole model, as stored."""
    return 8 * total_bytes(shares) / sum(share.weights for share in shares)
