import pytest

from course.lessons.finetune import instructions as finetune_instructions
from course.lessons.finetune import task_model as finetune_task_model
from course.lessons.finetune.instructions import parse_prompt


def test_splits_are_disjoint_and_cover_every_phrase():
    splits = {name: finetune_task_model.phrases(name) for name in finetune_task_model.SPLITS}
    sizes = {name: len(pairs) for name, pairs in splits.items()}
    assert sizes == {"train": 104, "validation": 16, "test": 24}
    every = [pair for pairs in splits.values() for pair in pairs]
    assert len(set(every)) == len(finetune_task_model.COLOURS) * len(finetune_task_model.THINGS) == len(every)
    assert finetune_task_model.phrases("test") == finetune_task_model.phrases("test")  # fixed, not reshuffled per call


def test_task_examples_translate_and_swap_the_order():
    for prompt, answer in finetune_task_model.task_examples("test"):
        instruction, text = parse_prompt(prompt)
        assert instruction == finetune_task_model.TASK_INSTRUCTION
        colour, thing = text.split()
        assert answer == f"{finetune_task_model.THINGS[thing]} {finetune_task_model.COLOURS[colour]}"
    assert finetune_task_model.translate("red", "cat") == "chat rouge"


def test_bad_split_is_refused():
    with pytest.raises(ValueError, match="train, validation, test"):
        finetune_task_model.task_examples("dev")


def test_original_examples_ask_three_questions_in_two_languages_and_translate_words():
    examples = finetune_task_model.original_examples()
    assert len(examples) == 144 * 2 * 3 + 12 + 12
    assert ("### Instruction : Translate the word into French . ### Input : cat ### Response :", "chat") in examples
    assert ("### Instruction : Name the thing . ### Input : chat rouge ### Response :", "chat") in examples
    assert ("### Instruction : Repeat the phrase . ### Input : red cat ### Response :", "red cat") in examples


def test_tokenizer_knows_every_word():
    tokenizer = finetune_task_model.build_tokenizer()
    texts = [
        f"{p} {a}" for p, a in finetune_task_model.original_examples() + finetune_task_model.task_examples("train")
    ]
    wordings = finetune_task_model.TASK_PARAPHRASES + finetune_task_model.HELD_OUT_PARAPHRASES
    texts += [finetune_instructions.format_prompt(p, "red cat") for p in wordings]
    ids = {i for text in texts for i in tokenizer(text)["input_ids"]}
    assert tokenizer.unk_token_id not in ids
    assert len(tokenizer) < 100


def test_rephrased_asks_the_same_inputs_in_held_out_wordings_never_trained_on():
    test = finetune_task_model.task_examples("test")[:3]
    asked = finetune_task_model.rephrased(test)
    assert len(asked) == 3 * len(finetune_task_model.HELD_OUT_PARAPHRASES)
    assert [answer for _, answer in asked] == [answer for _, answer in test for _ in range(len(asked) // 3)]
    assert finetune_instructions.parse_prompt(asked[0][0]) == (
        finetune_task_model.HELD_OUT_PARAPHRASES[0],
        finetune_instructions.parse_prompt(test[0][0])[1],
    )
    assert not set(finetune_task_model.HELD_OUT_PARAPHRASES) & set(finetune_task_model.TASK_PARAPHRASES)
    assert finetune_task_model.TASK_INSTRUCTION not in finetune_task_model.HELD_OUT_PARAPHRASES


def test_exact_match_refuses_no_examples():
    with pytest.raises(ValueError, match="at least one"):
        finetune_task_model.exact_match(None, None, [])


@pytest.mark.slow
def test_base_model_has_the_original_ability_but_not_the_new_task():
    model, tokenizer = finetune_task_model.load_base_model()
    assert type(model).__name__ == "Phi3ForCausalLM"
    # the bar the build itself trains to (a sample of other examples can score lower on another CPU)
    checked = finetune_task_model.base_check_examples()
    assert finetune_task_model.exact_match(model, tokenizer, checked) >= finetune_task_model.BASE_TARGET
    assert finetune_task_model.exact_match(model, tokenizer, finetune_task_model.task_examples("test")) <= 0.1


@pytest.mark.slow
def test_task_model_has_learned_the_new_task():
    model, tokenizer = finetune_task_model.load_task_model()
    assert type(model).__name__ == "Phi3ForCausalLM"  # merged: no peft wrapper left
    test = finetune_task_model.task_examples("test")
    score = finetune_task_model.exact_match(model, tokenizer, test)
    assert score >= 0.8
    answers = finetune_task_model.generate(model, tokenizer, [prompt for prompt, _ in test])
    assert sum(got == want for got, (_, want) in zip(answers, test, strict=True)) / len(test) == score
