"""Lesson 04 §5: the tiny Llama 3.2 Vision, its tokenizer, processor and training inputs."""

from course.lessons.vision import evaluation, llama, tiny
from course.lessons.vision.data import ANSWERS, make_examples
from course.lessons.vision.llama import IMAGE_TOKEN


def test_tokenizer_knows_every_word_and_ends_with_the_image_token(processor):
    tokenizer = processor.tokenizer
    assert tokenizer.convert_tokens_to_ids(IMAGE_TOKEN) == len(tokenizer) - 1
    for token in llama.CHAT_TOKENS:
        assert len(tokenizer(token, add_special_tokens=False)["input_ids"]) == 1
    words = [w for options in ANSWERS.values() for w in options] + ["user", "assistant"]
    ids = tokenizer(" ".join(words), add_special_tokens=False)["input_ids"]
    assert tokenizer.unk_token_id not in ids and len(ids) == len(words)


def test_tiny_model_has_the_real_structure(model, processor):
    assert type(model).__name__ == "MllamaForConditionalGeneration"
    text, vision_config = model.config.text_config, model.config.vision_config
    image_id = processor.tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
    assert model.config.image_token_index == image_id == text.vocab_size
    assert text.cross_attention_layers == [1] and text.num_hidden_layers == 3
    assert (vision_config.image_size, vision_config.patch_size) == (tiny.TILE_SIZE, tiny.PATCH_SIZE)
    assert vision_config.num_global_layers == 1
    assert evaluation.gate_values(model) == {"layer 1 attention": 0.0, "layer 1 MLP": 0.0}
    assert processor.image_processor.size.height == tiny.TILE_SIZE
    assert sum(p.numel() for p in model.parameters()) < 1_000_000


def test_labels_cover_only_the_answer_and_the_end_of_turn(processor):
    examples = make_examples(3, tiny.TILE_SIZE, seed=0)
    batch = tiny.encode(processor, examples, with_answers=True)
    tokenizer = processor.tokenizer
    for row, example in zip(range(len(examples)), examples, strict=True):
        labelled = batch["labels"][row][batch["labels"][row] != -100]
        assert tokenizer.convert_ids_to_tokens(labelled.tolist()) == [example.answer, tiny.END_OF_TURN]
    assert batch["cross_attention_mask"].shape[:2] == batch["input_ids"].shape
    plain = tiny.encode(processor, examples)
    assert "labels" not in plain and tokenizer.padding_side == "left"


def test_one_begin_of_text_even_with_a_tokenizer_that_adds_one():
    from tokenizers import processors

    processor = tiny.tiny_processor()
    tokenizer = processor.tokenizer
    # Llama 3's real tokenizer adds <|begin_of_text|> itself; the chat template has already written it
    tokenizer.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", tokenizer.bos_token_id)]
    )
    assert tokenizer("red")["input_ids"][0] == tokenizer.bos_token_id
    examples = make_examples(1, tiny.TILE_SIZE, seed=0)
    for batch in (tiny.encode(processor, examples), tiny.encode(processor, examples, with_answers=True)):
        assert (batch["input_ids"] == tokenizer.bos_token_id).sum(dim=1).tolist() == [1, 1]
