"""Real tokenizers, offline: the files that ship inside the ``mistral-common`` package.

``tekken`` is Mistral NeMo's Tiktoken-based tokenizer (131,072 entries);
``mistral-7b-v0.1`` and ``mistral-7b-v0.3`` are SentencePiece tokenizers of Mistral 7B.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources


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


def encode(text: str, name: str) -> list[int]:
    """Token ids of ``text`` with no BOS/EOS markers."""
    return load_tokenizer(name).encode(text, bos=False, eos=False)


def count_tokens(text: str, name: str) -> int:
    """How many tokens ``text`` costs with tokenizer ``name``."""
    return len(encode(text, name))


def vocabulary_size(name: str) -> int:
    return load_tokenizer(name).n_words
