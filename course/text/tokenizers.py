"""Real tokenizers, offline: the files that ship inside the ``mistral-common`` package.

``tekken`` is Mistral NeMo's Tiktoken-based tokenizer (131,072 entries);
``mistral-7b-v0.1`` and ``mistral-7b-v0.3`` are SentencePiece tokenizers of Mistral 7B;
``smollm2`` is SmolLM2-135M-Instruct's byte-level BPE (49,152 entries, trained on mostly English text), read from the
model's GGUF file (:mod:`course.models.smollm2`): the tokenizer of a small English-centric model, beside two made for
many languages.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

#: The name of SmolLM2's tokenizer, which comes from the model's GGUF file rather than from ``mistral-common``.
SMOLLM2 = "smollm2"


@dataclass(frozen=True)
class TokenizerInfo:
    name: str
    model: str
    kind: str
    filename: str


TOKENIZERS: dict[str, TokenizerInfo] = {
    "tekken": TokenizerInfo("tekken", "Mistral NeMo 12B", "Tekken (tiktoken BPE)", "tekken_240718.json"),
    "mistral-7b-v0.1": TokenizerInfo("mistral-7b-v0.1", "Mistral 7B v0.1", "SentencePiece BPE", "tokenizer.model.v1"),
    "mistral-7b-v0.3": TokenizerInfo(
        "mistral-7b-v0.3", "Mistral 7B v0.3", "SentencePiece BPE", "mistral_instruct_tokenizer_240323.model.v3"
    ),
}


@cache
def load_tokenizer(name: str):
    """The raw mistral-common tokenizer (``encode(text, bos, eos)``, ``decode``, ``n_words``)."""
    from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

    try:
        info = TOKENIZERS[name]
    except KeyError:
        raise KeyError(f"Unknown tokenizer {name!r}; choose one of {', '.join(TOKENIZERS)}") from None
    path = resources.files("mistral_common") / "data" / info.filename
    if not path.is_file():
        raise FileNotFoundError(
            f"{info.filename} is missing from mistral-common; reinstall the course with `make lab` or "
            "`pip install -e .` to get the pinned mistral-common version."
        )
    return MistralTokenizer.from_file(str(path)).instruct_tokenizer.tokenizer


@cache
def _smollm2_tokenizer() -> Any:
    """SmolLM2's tokenizer: llama.cpp's, loading only the vocabulary (a fraction of a second), when llama.cpp is
    installed; otherwise transformers' conversion of the same GGUF tokenizer (about ten seconds). Both cut text into
    the same ids."""
    from course.models.smollm2 import gguf_path

    path = gguf_path()
    try:
        from llama_cpp import Llama
    except ImportError:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    with _quiet_stderr():  # a vocabulary alone has no training context, which llama.cpp warns about on stderr
        return Llama(str(path), vocab_only=True, verbose=False)


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence stderr for the duration: what native code writes to file descriptor 2, and what llama-cpp-python's
    log callback prints to ``sys.stderr`` (in Jupyter, not the same stream)."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        with redirect_stderr(io.StringIO()):
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def encode(text: str, name: str) -> list[int]:
    """Token ids of ``text`` with no BOS/EOS markers."""
    if name == SMOLLM2:
        tokenizer = _smollm2_tokenizer()
        if hasattr(tokenizer, "detokenize"):  # llama.cpp
            return tokenizer.tokenize(text.encode(), add_bos=False, special=False)
        return tokenizer.encode(text, add_special_tokens=False)
    return load_tokenizer(name).encode(text, bos=False, eos=False)


def token_bytes(text: str, name: str) -> list[bytes]:
    """The bytes of each token of ``text``: the pieces the tokenizer cuts it into. A piece may hold part of a
    character (a byte-level BPE cuts a Korean syllable's three UTF-8 bytes apart when its vocabulary lacks it)."""
    ids = encode(text, name)
    if name == SMOLLM2:
        tokenizer = _smollm2_tokenizer()
        if hasattr(tokenizer, "detokenize"):
            return [tokenizer.detokenize([i]) for i in ids]
        return [_byte_level_bytes(piece) for piece in tokenizer.convert_ids_to_tokens(ids)]
    tokenizer = load_tokenizer(name)
    if hasattr(tokenizer, "id_to_byte_piece"):  # Tekken
        return [tokenizer.id_to_byte_piece(i, "keep") for i in ids]
    return [_sentencepiece_bytes(tokenizer.id_to_piece(i)) for i in ids]


def _sentencepiece_bytes(piece: str) -> bytes:
    """A SentencePiece piece as bytes: ``▁`` is a space, ``<0xEB>`` a single byte (byte fallback)."""
    if len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">"):
        return bytes([int(piece[3:5], 16)])
    return piece.replace("\u2581", " ").encode()


def _byte_level_bytes(piece: str) -> bytes:
    """A byte-level BPE piece (GPT-2's printable stand-ins for bytes, ``Ġ`` for a space) as the bytes it stands for."""
    byte_of = _byte_level_alphabet()
    return bytes(byte_of[char] for char in piece)


@cache
def _byte_level_alphabet() -> dict[str, int]:
    """GPT-2's map from the printable characters that stand for bytes back to the bytes: printable Latin-1 bytes stand
    for themselves, the other 68 for the characters from U+0100 on, in byte order."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    others = [byte for byte in range(256) if byte not in printable]
    return {chr(byte): byte for byte in printable} | {chr(256 + i): byte for i, byte in enumerate(others)}


def count_tokens(text: str, name: str) -> int:
    """How many tokens ``text`` costs with tokenizer ``name``."""
    return len(encode(text, name))


def vocabulary_size(name: str) -> int:
    if name == SMOLLM2:
        tokenizer = _smollm2_tokenizer()
        return tokenizer.n_vocab() if hasattr(tokenizer, "n_vocab") else len(tokenizer)
    return load_tokenizer(name).n_words
