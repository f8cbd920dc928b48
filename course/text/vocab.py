"""Word-level tokenizers for the course's tiny models, as real Hugging Face tokenizers."""

from __future__ import annotations

from collections.abc import Iterable

SPECIAL_TOKENS = {"pad_token": "<pad>", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}


def build_word_tokenizer(texts: Iterable[str], extra_words: Iterable[str] = ()):
    """A ``PreTrainedTokenizerFast`` whose vocabulary is every word and punctuation mark in ``texts``.

    Ids are assigned in sorted order after the special tokens, so the same texts
    always give the same ids.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    splitter = pre_tokenizers.Whitespace()
    words = set(extra_words)
    for text in texts:
        words.update(piece for piece, _ in splitter.pre_tokenize_str(text))
    vocab = {token: i for i, token in enumerate(SPECIAL_TOKENS.values())}
    for word in sorted(words - vocab.keys()):
        vocab[word] = len(vocab)
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=SPECIAL_TOKENS["unk_token"]))
    core.pre_tokenizer = splitter
    return PreTrainedTokenizerFast(tokenizer_object=core, **SPECIAL_TOKENS)
