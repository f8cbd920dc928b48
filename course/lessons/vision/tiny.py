"""Lesson 04 §5 (A tiny Llama 3.2 Vision that learns to see, on your CPU): build the tiny model.

The model is a real ``MllamaForConditionalGeneration`` built from a tiny config
with the 11B model's structure (vision encoder, projector, gated cross-attention
layers in a Llama decoder); the processor is the real ``MllamaProcessor`` with
the real image processor and chat template, over a small word vocabulary.
"""

from __future__ import annotations

from typing import Any

from course.lessons.vision.data import ANSWERS, QUESTIONS, TEXT_FACTS, Example
from course.lessons.vision.llama import IMAGE_TOKEN, MODEL_NAME, chat_tokenizer

TILE_SIZE = 32  # pixels a side of the tiny model's tiles (the real model: 560)
PATCH_SIZE = 16  # pixels a side of one patch (the real model: 14): 2 x 2 patches per tile
END_OF_TURN = "<|eot_id|>"
TRAIN_SEED, TEST_SEED = 1, 2  # different seeds: the test pictures are never seen in training


def tiny_tokenizer():
    """The chat tokenizer (``llama.chat_tokenizer``: Llama 3's chat and image tokens, the published chat
    template) over the words of the lesson's questions and answers."""
    texts = [*QUESTIONS.values(), *TEXT_FACTS, *(word for words in ANSWERS.values() for word in words)]
    return chat_tokenizer(tuple(texts))


def tiny_processor():
    """The real ``MllamaProcessor``: the published image settings with small tiles, and the tiny tokenizer."""
    from transformers import MllamaProcessor

    from course.lessons.vision.llama import image_processor

    tokenizer = tiny_tokenizer()
    return MllamaProcessor(
        image_processor=image_processor(TILE_SIZE, max_tiles=1),
        tokenizer=tokenizer,
        chat_template=tokenizer.chat_template,
    )


def tiny_overrides(tokenizer) -> dict[str, Any]:
    """Sizes and token ids that turn the 11B config into the tiny one (see ``course.models.tiny``)."""
    image_id = tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
    if image_id != len(tokenizer) - 1:
        raise ValueError("The image token must be the tokenizer's last token; build it with tiny_tokenizer().")
    hidden = 64
    intermediate_layers = [0]
    return {
        "image_token_index": image_id,
        "text_config": {
            "vocab_size": image_id,
            "hidden_size": hidden,
            "num_hidden_layers": 3,
            "cross_attention_layers": [1],
            "max_position_embeddings": 64,
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.convert_tokens_to_ids(END_OF_TURN),
            "pad_token_id": tokenizer.pad_token_id,
        },
        "vision_config": {
            "hidden_size": hidden,
            "intermediate_size": 2 * hidden,
            "attention_heads": 4,
            "num_hidden_layers": 2,
            "num_global_layers": 1,
            "image_size": TILE_SIZE,
            "patch_size": PATCH_SIZE,
            "max_num_tiles": 1,
            "supported_aspect_ratios": [[1, 1]],
            "intermediate_layers_indices": intermediate_layers,
            "vision_output_dim": hidden * (len(intermediate_layers) + 1),
        },
    }


def build_tiny_model(processor, seed: int = 0):
    """A freshly initialised tiny ``MllamaForConditionalGeneration`` that fits ``processor``'s vocabulary."""
    from course.models.tiny import build_tiny

    return build_tiny(MODEL_NAME, seed=seed, **tiny_overrides(processor.tokenizer))


def prompts(processor, questions: list[str]) -> list[str]:
    """Each question as a chat turn with a picture, rendered by the processor's chat template."""
    turns = [[{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": q}]}] for q in questions]
    return [processor.apply_chat_template(turn, add_generation_prompt=True, tokenize=False) for turn in turns]


def text_prompts(processor, questions: list[str]) -> list[str]:
    """Each question as a text-only chat turn: the template writes its dated system block first."""
    turns = [[{"role": "user", "content": question}] for question in questions]
    return [processor.apply_chat_template(turn, add_generation_prompt=True, tokenize=False) for turn in turns]


def _answer_labels(batch, tokenizer):
    """Training labels: -100 (ignored) everywhere except on the answer and its end-of-turn token, which follow
    the last ``<|end_header_id|>``; so the model learns to answer, not to repeat the question."""
    ids = batch["input_ids"]
    header_end = tokenizer.convert_tokens_to_ids("<|end_header_id|>")
    positions = ids.new_tensor(range(ids.shape[1])).expand_as(ids)
    answer_start = ((ids == header_end) * (positions + 1)).max(dim=1, keepdim=True).values
    labels = ids.masked_fill(positions < answer_start, -100)
    return labels.masked_fill(batch["attention_mask"] == 0, -100)


def encode_text(processor, questions: list[str], answers: list[str] | None = None):
    """Model inputs for text-only questions; with ``answers``, each answer is appended and ``labels`` set."""
    tokenizer = processor.tokenizer
    texts = text_prompts(processor, questions)
    if answers is not None:
        texts = [text + answer + END_OF_TURN for text, answer in zip(texts, answers, strict=True)]
    tokenizer.padding_side = "right" if answers is not None else "left"
    batch = tokenizer(texts, padding=True, add_special_tokens=False, return_tensors="pt")
    if answers is not None:
        batch["labels"] = _answer_labels(batch, tokenizer)
    return batch


def encode(processor, examples: list[Example], with_answers: bool = False):
    """Model inputs for ``examples`` (a picture and a question each); ``with_answers`` appends each answer and
    sets the training ``labels`` (see ``_answer_labels``)."""
    tokenizer = processor.tokenizer
    texts = prompts(processor, [e.question for e in examples])
    if with_answers:
        texts = [text + e.answer + END_OF_TURN for text, e in zip(texts, examples, strict=True)]
    tokenizer.padding_side = "right" if with_answers else "left"
    batch = processor(
        images=[[e.image] for e in examples], text=texts, padding=True, add_special_tokens=False, return_tensors="pt"
    )
    if with_answers:
        batch["labels"] = _answer_labels(batch, tokenizer)
    return batch
