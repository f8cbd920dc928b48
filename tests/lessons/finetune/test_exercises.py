"""Lesson 05's graded exercises: the references reproduce the old hidden tests' facts, the driver works on the
reference, and plausible wrong answers fail the comparison."""

from __future__ import annotations

import torch
from torch import nn

from course.grading.drivers import observe
from course.grading.values import decode
from course.lessons.finetune import task_model
from course.lessons.finetune.instructions import format_prompt, parse_prompt
from course.references import exercises
from course.references import finetune as references
from tests.grading_helpers import checked

LESSON = "05-fine-tuning-and-peft"


def _verdict(grade_id, candidate, seed=7):
    """Whether ``candidate`` passes the exercise's check (``tests.grading_helpers.checked``)."""
    return checked(LESSON, grade_id, candidate, seed)[0]


def test_every_exercise_is_declared():
    assert set(exercises(LESSON)) == {"lora-count-tests", "lora-layer-tests", "labels-tests", "augment-tests"}


def test_the_references_pass_their_own_checks():
    for grade_id, exercise in exercises(LESSON).items():
        assert _verdict(grade_id, exercise.reference), grade_id


# -- exercise 1 --------------------------------------------------------------------------------------------


def test_lora_count_reproduces_the_old_hidden_tests():
    count = references.phi3_lora_parameters
    tiny = {"model_type": "phi3", "hidden_size": 8, "intermediate_size": 16, "num_attention_heads": 2,
            "num_key_value_heads": 2, "num_hidden_layers": 1}  # fmt: skip
    assert count(tiny, 1) == (8 + 24) + (8 + 8) + (8 + 32) + (16 + 8)
    phi = references._PHI35_MINI
    assert count(phi, 16) == 32 * 16 * (12288 + 6144 + 19456 + 11264)
    assert count(phi, 1) * 8 == count(phi, 8)
    gqa = dict(phi, num_key_value_heads=8)
    assert count(gqa, 4) == 32 * 4 * ((3072 + (32 + 16) * 96) + 6144 + 19456 + 11264), "keys and values use kv heads"
    assert count(dict(phi, num_hidden_layers=3), 2) == 3 * count(phi, 2) // 32


def test_lora_count_wrong_answers_fail():
    def all_heads_for_keys(config, r):  # ignores grouped-query attention
        return references.phi3_lora_parameters(dict(config, num_key_value_heads=config["num_attention_heads"]), r)

    def one_layer(config, r):
        return references.phi3_lora_parameters(dict(config, num_hidden_layers=1), r)

    assert not _verdict("lora-count-tests", all_heads_for_keys)
    assert not _verdict("lora-count-tests", one_layer)


# -- exercise 2 --------------------------------------------------------------------------------------------


class _Notebook(nn.Module):
    """The notebook's solution, as a student would write it."""

    def __init__(self, base, r, alpha):
        super().__init__()
        self.base = base
        for parameter in self.base.parameters():
            parameter.requires_grad_(False)
        self.scaling = alpha / r
        self.lora_A = nn.Parameter(torch.randn(r, base.in_features) / base.in_features**0.5)
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r))

    def forward(self, x):
        return self.base(x) + self.scaling * (x @ self.lora_A.T @ self.lora_B.T)

    def merge(self):
        merged = nn.Linear(self.base.in_features, self.base.out_features, bias=self.base.bias is not None)
        with torch.no_grad():
            merged.weight.copy_(self.base.weight + self.scaling * self.lora_B @ self.lora_A)
            if self.base.bias is not None:
                merged.bias.copy_(self.base.bias)
        return merged


class _NoScaling(_Notebook):
    def forward(self, x):
        return self.base(x) + x @ self.lora_A.T @ self.lora_B.T


class _BaseTrains(_Notebook):
    def __init__(self, base, r, alpha):
        super().__init__(base, r, alpha)
        for parameter in self.base.parameters():
            parameter.requires_grad_(True)


class _ZeroA(_Notebook):
    def __init__(self, base, r, alpha):
        super().__init__(base, r, alpha)
        with torch.no_grad():
            self.lora_A.zero_()


class _MergeDropsBias(_Notebook):
    def merge(self):
        merged = nn.Linear(self.base.in_features, self.base.out_features, bias=False)
        with torch.no_grad():
            merged.weight.copy_(self.base.weight + self.scaling * self.lora_B @ self.lora_A)
        return merged


def test_lora_layer_driver_observes_the_reference():
    case = decode(exercises(LESSON)["lora-layer-tests"].draw(0)[0])
    seen = observe("course.lessons.finetune.drivers:lora_layer", references.LoRALinear, case)
    assert seen["starts_equal_to_base"] and seen["A_random"] and seen["B_zero"] and seen["merged_is_linear"]
    assert seen["A_shape"] == [4, 20] and seen["B_shape"] == [12, 4] and seen["trainable"] == 4 * (20 + 12)
    expected = case["x"] @ case["weight"].T + case["bias"] + 2.0 * case["x"] @ (case["B"] @ case["A"]).T
    assert torch.allclose(seen["forward"], expected, atol=1e-4)
    assert torch.allclose(seen["merged"], expected, atol=1e-4)
    assert seen["grads"]["base_weight"] is False and seen["grads"]["A"] is not None


def test_lora_layer_accepts_the_notebook_solution_and_rejects_wrong_ones():
    assert _verdict("lora-layer-tests", _Notebook)
    for wrong in (_NoScaling, _BaseTrains, _ZeroA, _MergeDropsBias):
        assert not _verdict("lora-layer-tests", wrong), wrong.__name__


# -- exercise 3 --------------------------------------------------------------------------------------------


def test_augment_reproduces_the_old_hidden_tests():
    seed_set = task_model.task_examples("train")[:12]
    two = seed_set[:2]
    mine = references.augment_instructions(two, ["Say this in French ."])
    assert len(mine) == 4 and mine[0] == two[0]
    assert mine[1] == (format_prompt("Say this in French .", parse_prompt(two[0][0])[1]), two[0][1])
    dup = references.augment_instructions(two + two[:1], [task_model.TASK_INSTRUCTION, "Say this in French ."])
    assert len(dup) == len(set(dup)) == 4
    assert references.augment_instructions([], ["x ."]) == []
    assert len(references.augment_instructions(seed_set, task_model.TASK_PARAPHRASES)) == 12 * (
        1 + len(task_model.TASK_PARAPHRASES)
    )


def test_augment_wrong_answers_fail():
    def keeps_duplicates(examples, paraphrases):
        out = []
        for prompt, response in examples:
            text = parse_prompt(prompt)[1]
            out += [(prompt, response)] + [(format_prompt(p, text), response) for p in paraphrases]
        return out

    def originals_last(examples, paraphrases):
        grown = references.augment_instructions(examples, paraphrases)
        originals = [tuple(e) for e in examples]
        return [e for e in grown if e not in originals] + [e for e in grown if e in originals]

    assert not _verdict("augment-tests", keeps_duplicates)
    assert not _verdict("augment-tests", originals_last)


# -- exercise 3 --------------------------------------------------------------------------------------------


def test_instruction_labels_mask_the_prompt_only():
    assert references.instruction_labels([5, 6, 7], [8, 2]) == ([5, 6, 7, 8, 2], [-100, -100, -100, 8, 2])
    assert references.instruction_labels([3], [3, 3, 2]) == ([3, 3, 3, 2], [-100, 3, 3, 2])


def test_instruction_labels_wrong_answers_fail():
    def no_mask(prompt_ids, response_ids):  # the loss on every token
        ids = list(prompt_ids) + list(response_ids)
        return ids, list(ids)

    def by_value(prompt_ids, response_ids):  # masks every id that occurs in the prompt, even in the response
        ids = list(prompt_ids) + list(response_ids)
        return ids, [-100 if i in prompt_ids else i for i in ids]

    def shifted(prompt_ids, response_ids):  # shifts the labels itself, although the model does it
        ids = list(prompt_ids) + list(response_ids)
        return ids, [-100] * (len(prompt_ids) - 1) + list(response_ids) + [-100]

    def response_only(prompt_ids, response_ids):  # forgets that the model reads the prompt
        return list(response_ids), list(response_ids)

    for wrong in (no_mask, by_value, shifted, response_only):
        assert not _verdict("labels-tests", wrong), wrong.__name__
