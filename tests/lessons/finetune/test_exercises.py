"""Lesson 05's graded exercises: the references reproduce the old hidden tests' facts, the driver works on the
reference, and plausible wrong answers fail the comparison."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
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


def _counted_by_peft(config, r):
    """The attack: build Phi-3 from the config on the meta device, wrap it with peft and count what trains."""
    from peft import LoraConfig, get_peft_model
    from transformers import Phi3Config, Phi3ForCausalLM

    settings = {key: value for key, value in config.items() if key != "model_type"}
    with torch.device("meta"):
        model = Phi3ForCausalLM(Phi3Config(**settings, vocab_size=8, pad_token_id=0))
    lora = LoraConfig(r=r, lora_alpha=r, target_modules=list(references.PHI3_LORA_TARGETS))
    return sum(p.numel() for p in get_peft_model(model, lora).parameters() if p.requires_grad)


@pytest.mark.slow  # builds a meta-device Phi-3 and wraps it with peft for each case
def test_lora_count_composed_from_transformers_and_peft_earns_nothing():
    """Counting peft's trainable parameters on a meta-device model matches the formula on every real-sized
    config, but the grader also draws configs whose layers hold more than 2**63 weights, which no library
    builds: the attack earns nothing, and the formula in Python's integers earns the points."""
    exercise = exercises(LESSON)["lora-count-tests"]
    real_sized = [decode(case) for case in exercise.draw(7)[:6]]
    assert all(_counted_by_peft(*case["args"]) == exercise.reference(*case["args"]) for case in real_sized)
    assert not _verdict("lora-count-tests", _counted_by_peft)
    assert _verdict("lora-count-tests", _formula_as_a_student_writes_it)


def _formula_as_a_student_writes_it(config, r):
    hidden, heads = config["hidden_size"], config["num_attention_heads"]
    kv_heads, head_dim = config.get("num_key_value_heads") or heads, hidden // heads
    shapes = [
        (hidden, (heads + 2 * kv_heads) * head_dim),
        (heads * head_dim, hidden),
        (hidden, 2 * config["intermediate_size"]),
        (config["intermediate_size"], hidden),
    ]
    return config["num_hidden_layers"] * sum(r * (d_in + d_out) for d_in, d_out in shapes)


# -- exercise 2 --------------------------------------------------------------------------------------------

LAYER = "lora-layer-tests"


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


# -- honest variants: the same layer written another way


class _Einsum(_Notebook):
    def forward(self, x):
        update = torch.einsum("...i,ri,or->...o", x, self.lora_A, self.lora_B)
        return self.base(x) + self.scaling * update


class _FunctionalLinear(_Notebook):
    """F.linear for the base (from its weight and bias) and for both LoRA matrices, scaled afterwards."""

    def forward(self, x):
        update = F.linear(F.linear(x, self.lora_A), self.lora_B)
        return F.linear(x, self.base.weight, self.base.bias) + update * self.scaling


class _ScalingFirst(_Notebook):
    """Scales A before multiplying, and keeps alpha and r instead of the ratio."""

    def __init__(self, base, r, alpha):
        super().__init__(base, r, alpha)
        self.alpha, self.r = alpha, r

    def forward(self, x):
        return self.base(x) + x @ (self.alpha / self.r * self.lora_A).T @ self.lora_B.T


class _EffectiveWeight(_Notebook):
    """Computes with the merged weight W + scaling B A, and merges by building an nn.Linear from scratch."""

    def forward(self, x):
        return F.linear(x, self.base.weight + self.scaling * self.lora_B @ self.lora_A, self.base.bias)

    def merge(self):
        merged = nn.Linear(self.base.in_features, self.base.out_features, bias=self.base.bias is not None)
        merged.weight = nn.Parameter((self.base.weight + self.scaling * self.lora_B @ self.lora_A).detach().clone())
        if self.base.bias is not None:
            merged.bias = nn.Parameter(self.base.bias.detach().clone())
        return merged


HONEST = [_Notebook, _Einsum, _FunctionalLinear, _ScalingFirst, _EffectiveWeight]

# -- wrong answers


class _NoScaling(_Notebook):
    def forward(self, x):
        return self.base(x) + x @ self.lora_A.T @ self.lora_B.T


class _AlphaNotDividedByR(_Notebook):
    def forward(self, x):
        return self.base(x) + self.scaling * self.lora_A.shape[0] * (x @ self.lora_A.T @ self.lora_B.T)


class _TransposedB(_Notebook):  # B^T where B belongs: runs only where B is square, as in the visible test
    def forward(self, x):
        return self.base(x) + self.scaling * (x @ self.lora_A.T @ self.lora_B)


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


class _MergeChangesTheBase(_Notebook):
    """Adds the update into the base's own weight (shared with the merged layer), so the LoRA layer, still
    holding that base, now counts the update twice."""

    def merge(self):
        merged = nn.Linear(self.base.in_features, self.base.out_features, bias=self.base.bias is not None)
        with torch.no_grad():
            self.base.weight += self.scaling * self.lora_B @ self.lora_A
        merged.weight = self.base.weight
        if self.base.bias is not None:
            merged.bias = self.base.bias
        return merged


class _RefusesOtherLinearLayers(_Notebook):
    def __init__(self, base, r, alpha):
        if not isinstance(base, nn.Linear):
            raise TypeError("MyLoRALinear wraps an nn.Linear")
        super().__init__(base, r, alpha)


class _CopiesTheBaseAtBuild(_Notebook):
    """The formula, on a private nn.Linear copy of the base made in __init__: stale once the base is loaded."""

    def __init__(self, base, r, alpha):
        super().__init__(base, r, alpha)
        copy = nn.Linear(base.in_features, base.out_features, bias=base.bias is not None)
        copy.load_state_dict(base.state_dict())
        object.__setattr__(self, "copy", copy.requires_grad_(False))

    def forward(self, x):
        return self.copy(x) + self.scaling * (x @ self.lora_A.T @ self.lora_B.T)


WRONG = [
    _NoScaling,
    _AlphaNotDividedByR,
    _TransposedB,
    _BaseTrains,
    _ZeroA,
    _MergeDropsBias,
    _MergeChangesTheBase,
    _RefusesOtherLinearLayers,
    _CopiesTheBaseAtBuild,
]


def test_lora_layer_driver_observes_the_reference():
    """On the visible test's layer (3 -> 2, r = 2, alpha = 4): shapes and counts at build, then the forward pass
    and the merge with the weights, A and B loaded after it was built."""
    case = decode(exercises(LESSON)[LAYER].draw(0)[0])
    seen = observe("course.lessons.finetune.drivers:lora_layer", references.LoRALinear, case)
    assert seen["starts_equal_to_base"] and seen["A_random"] and seen["B_zero"] and seen["merged_is_linear"]
    assert seen["A_shape"] == [2, 3] and seen["B_shape"] == [2, 2] and seen["trainable"] == 2 * (3 + 2)
    assert not torch.equal(case["weight_at_build"], case["weight"]), "the base is loaded with new weights"
    expected = case["x"] @ case["weight"].T + case["bias"] + 2.0 * case["x"] @ (case["B"] @ case["A"]).T
    assert torch.allclose(seen["forward"], expected, atol=1e-4)
    assert torch.allclose(seen["merged_weight"], case["weight"] + 2.0 * case["B"] @ case["A"], atol=1e-5)
    assert torch.equal(seen["merged_bias"], case["bias"].float()) and seen["base_unchanged_by_merge"]
    assert seen["grads"]["base_weight"] is False and seen["grads"]["A"] is not None


def test_the_reference_wraps_an_nn_linear_and_any_other_linear_layer_alike():
    """The lesson's model puts the layer around nn.Linear layers, the grader around its own linear maps: both
    work; something that is no linear layer gets a short clear error."""
    from course.lessons.finetune.drivers import _linear_map_class

    torch.manual_seed(0)
    linear = nn.Linear(5, 3)
    other = _linear_map_class()(linear.weight.detach(), linear.bias.detach())
    assert not isinstance(other, nn.Linear)
    x = torch.randn(2, 4, 5)
    with torch.no_grad():
        outputs = []
        for base in (linear, other):
            layer = references.LoRALinear(base, r=2, alpha=4)
            layer.lora_B.fill_(0.5)
            torch.manual_seed(1)
            layer.lora_A.copy_(torch.randn(2, 5))
            outputs.append(layer(x))
            assert torch.allclose(layer.merge()(x), outputs[-1], atol=1e-5)
    assert torch.allclose(*outputs, atol=1e-6)
    with pytest.raises(TypeError, match="lacks in_features"):
        references.LoRALinear(nn.ReLU(), r=1)


@pytest.mark.parametrize("honest", HONEST, ids=lambda c: c.__name__)
def test_honest_lora_layers_pass(honest):
    assert _verdict(LAYER, honest)


@pytest.mark.parametrize("wrong", WRONG, ids=lambda c: c.__name__)
def test_wrong_lora_layers_fail(wrong):
    assert not _verdict(LAYER, wrong)


class _MergeThatCallsTheUnmergedLayer(_Notebook):
    """The attack: ``merge`` returns an ``nn.Linear`` subclass holding the base weights, whose ``forward`` hands
    over to the unmerged LoRA layer, so every output and every ``isinstance`` check looks merged while nothing
    was merged."""

    def merge(self):
        lora = self

        class LooksMerged(nn.Linear):
            def forward(self, x):
                return lora(x)

        fake = LooksMerged(self.base.in_features, self.base.out_features, bias=self.base.bias is not None)
        with torch.no_grad():
            fake.weight.copy_(self.base.weight)
            if self.base.bias is not None:
                fake.bias.copy_(self.base.bias)
        return fake


def test_a_merge_is_checked_by_its_weights_not_by_what_it_computes():
    layer = _MergeThatCallsTheUnmergedLayer(nn.Linear(6, 4), r=2, alpha=4)
    with torch.no_grad():
        layer.lora_B.normal_()
    x = torch.randn(3, 6)
    merged = layer.merge()
    assert isinstance(merged, nn.Linear) and torch.allclose(merged(x), layer(x)), "the attack looks merged"
    assert not _verdict(LAYER, _MergeThatCallsTheUnmergedLayer)
    assert _verdict(LAYER, _Notebook)


@pytest.mark.slow  # imports peft
def test_a_lora_layer_composed_from_peft_earns_nothing():
    """peft's LoRA layer computes the same numbers as the formula on an nn.Linear (the library probe's
    compositions show it), but it holds its own A and B and, around a copy, its own weights: the grader's base
    is a linear layer of its own, loaded after the layer is built, with new lora_A and lora_B, so a wrapper
    around peft computes with what it copied or what it was given at build, and earns nothing."""
    from tests.grading.library_probe import _lora_via_peft, _lora_via_peft_on_a_copy

    on_a_copy = _lora_via_peft_on_a_copy()

    class AroundTheBaseItself(on_a_copy):
        """peft's layer around the grader's own base (peft warns, and wraps it), A and B registered."""

        def __init__(self, base, r, alpha):
            super().__init__(base, r, alpha)
            from peft import LoraConfig
            from peft.tuners.lora import Linear as PeftLoRALinear

            peft = PeftLoRALinear(base, "default", LoraConfig(r=r, lora_alpha=alpha), r=r, lora_alpha=alpha)
            object.__setattr__(self, "peft", peft)
            self.lora_A, self.lora_B = peft.lora_A["default"].weight, peft.lora_B["default"].weight

    for composition in (_lora_via_peft(), on_a_copy, AroundTheBaseItself):
        layer = composition(nn.Linear(5, 3), r=2, alpha=4)
        base = layer.base
        x = torch.randn(2, 5)
        with torch.no_grad():
            layer.lora_B.normal_()
            assert torch.allclose(layer(x), base(x) + 2.0 * x @ (layer.lora_B @ layer.lora_A).T, atol=1e-5)
        assert not _verdict(LAYER, composition), composition.__name__
    assert _verdict(LAYER, _Notebook)


def _visible_tests_pass(candidate) -> bool:
    """Whether ``candidate`` passes the test cell's visible checks, run as the notebook runs them."""
    try:
        exec(exercises(LESSON)[LAYER].tests, {"torch": torch, "nn": nn, "MyLoRALinear": candidate})
    except Exception:  # an assertion, or a wrong answer's own error: either way the student sees a failure
        return False
    return True


def test_the_visible_tests_hold_no_alternative_solution_and_still_catch_wrong_layers():
    """A visible test that computes the expected output with the layer's formula (``base_layer(x) + 2.0 * x @
    (B @ A).T``, as it once did) hands the student the forward pass to paste; the visible tests check a small
    case worked out by hand, and still fail each typical mistake."""
    tests = exercises(LESSON)[LAYER].tests
    for solution_part in ("lora_B @", "@ mine.lora", "B @ A", "scaling", "base_layer(x) +", "einsum", "F.linear"):
        assert solution_part not in tests, solution_part
    for honest in HONEST:
        assert _visible_tests_pass(honest), honest.__name__
    assert _visible_tests_pass(references.LoRALinear)
    for wrong in WRONG:
        assert not _visible_tests_pass(wrong), wrong.__name__


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
