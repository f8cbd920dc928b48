"""Lesson 05, fine-tuning and PEFT: reference solutions and the declarations of its graded exercises."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from typing import Any

from course.grading.exercise import Exercise, call, close
from course.lessons.finetune.instructions import Example, format_prompt, parse_prompt

# ---------------------------------------------------------------- exercise 1: LoRA's trainable parameters

PHI3_LORA_TARGETS = ("qkv_proj", "o_proj", "gate_up_proj", "down_proj")


def lora_parameter_count(shapes: list[tuple[int, int]], r: int) -> int:
    """Trainable parameters of rank-``r`` LoRA on linear layers of ``(in_features, out_features)`` shapes.

    Each layer gets ``A`` (``r x in``) and ``B`` (``out x r``): ``r * (in + out)`` parameters.
    """
    if r < 1:
        raise ValueError("The LoRA rank r must be at least 1.")
    for shape in shapes:
        if len(shape) != 2 or min(shape) < 1:
            raise ValueError(f"Each shape must be (in_features, out_features) with positive sizes, not {shape}.")
    return sum(r * (d_in + d_out) for d_in, d_out in shapes)


def phi3_linear_shapes(config: dict) -> dict[str, tuple[int, int]]:
    """``(in_features, out_features)`` of the four linear layers in one Phi-3 decoder layer."""
    if config.get("model_type") != "phi3":
        raise ValueError(f"phi3_linear_shapes needs a Phi-3 config, not model_type {config.get('model_type')!r}.")
    hidden, intermediate = config["hidden_size"], config["intermediate_size"]
    heads = config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads") or heads
    head = hidden // heads
    return {
        "qkv_proj": (hidden, (heads + 2 * kv_heads) * head),
        "o_proj": (heads * head, hidden),
        "gate_up_proj": (hidden, 2 * intermediate),
        "down_proj": (intermediate, hidden),
    }


def phi3_lora_parameters(config: dict, r: int, targets: Sequence[str] = PHI3_LORA_TARGETS) -> int:
    """Trainable parameters of rank-``r`` LoRA on the ``targets`` linear layers of every Phi-3 layer."""
    shapes = phi3_linear_shapes(config)
    unknown = set(targets) - shapes.keys()
    if unknown:
        raise ValueError(f"Unknown target layers {sorted(unknown)}; Phi-3 has {', '.join(shapes)}.")
    return config["num_hidden_layers"] * lora_parameter_count([shapes[t] for t in targets], r)


def _phi3_config(hidden, intermediate, heads, kv_heads, layers) -> dict:
    return {
        "model_type": "phi3",
        "hidden_size": hidden,
        "intermediate_size": intermediate,
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "num_hidden_layers": layers,
    }


_PHI35_MINI = _phi3_config(3072, 8192, 32, 32, 32)  # Phi-3.5-mini's published config.json


def _lora_count_cases(rng: random.Random) -> list[dict]:
    cases = []
    for _ in range(14):
        heads = rng.choice([1, 2, 4, 8, 12, 16, 32, 40])
        kv_heads = rng.choice([h for h in (1, 2, 4, 8, 16, 32) if heads % h == 0] + [heads])
        head_dim = rng.choice([8, 16, 32, 64, 96, 128])
        hidden = heads * head_dim
        intermediate = rng.choice([hidden * 2, hidden * 4, rng.randint(1, 40) * 64, rng.randint(1, 999)])
        config = _phi3_config(hidden, intermediate, heads, kv_heads, rng.randint(1, 48))
        cases.append(call(config, rng.choice([1, 2, 4, 8, 16, 32, 64, rng.randint(1, 128)])))
    cases.append(call(dict(_PHI35_MINI, num_key_value_heads=rng.choice([4, 8, 16])), rng.randint(1, 64)))
    cases.append(call(dict(_PHI35_MINI, num_hidden_layers=rng.randint(1, 8)), rng.randint(1, 64)))
    cases += [call(_beyond_any_library_config(rng), rng.randint(1, 128)) for _ in range(2)]
    return cases


def _beyond_any_library_config(rng: random.Random) -> dict:
    """A Phi-3 config far larger than any real model (a hidden size over 2**32), whose fused ``qkv_proj`` weight
    holds more than 2**63 entries: the formula counts its LoRA parameters exactly in Python's integers, while
    building the model with transformers and wrapping it with peft to count, even on PyTorch's meta device,
    fails (no tensor holds 2**63 entries). Composing library code does not answer the exercise."""
    heads = rng.choice([16, 32, 64])
    kv_heads = rng.choice([h for h in (1, 2, 4, 8, 16) if heads % h == 0] + [heads])
    hidden = heads * (2**28 + rng.randint(0, 2**20))
    intermediate = hidden * rng.choice([2, 4]) + rng.randint(0, 999)
    return _phi3_config(hidden, intermediate, heads, kv_heads, rng.randint(1, 48))


_TINY = _phi3_config(8, 16, 2, 2, 1)
_HUGE = _phi3_config(2**33, 2**34, 2, 2, 1)  # the visible test's config beyond 2**63 weights

# ---------------------------------------------------------------- exercise 2: a LoRA layer


def _require_linear_layer(base: object) -> None:
    """Raise TypeError unless ``base`` is a module with ``nn.Linear``'s attributes, as a LoRA layer needs."""
    from torch import nn

    missing = [name for name in ("in_features", "out_features", "weight", "bias") if not hasattr(base, name)]
    if not isinstance(base, nn.Module) or missing:
        raise TypeError(
            f"LoRALinear wraps a linear layer (in_features, out_features, weight, bias), not "
            f"{type(base).__name__}" + (f", which lacks {', '.join(missing)}." if missing else ".")
        )


def _lora_class():
    import torch
    from torch import nn

    class LoRALinear(nn.Module):
        """A frozen linear layer plus a trainable rank-``r`` update scaled by ``alpha / r``.

        The base is any linear layer with ``nn.Linear``'s attributes: ``in_features``, ``out_features``,
        ``weight`` (``out_features x in_features``) and ``bias`` (or None), computing ``x W^T + b``; an
        ``nn.Linear`` is one. ``forward`` computes ``base(x) + (alpha / r) * x A^T B^T`` where ``A`` is
        ``r x in_features`` (random) and ``B`` is ``out_features x r`` (zeros), so the layer starts out equal
        to ``base``; only ``A`` and ``B`` train; ``merge()`` folds the update into one new ``nn.Linear`` with
        weight ``W + (alpha / r) B A``, leaving the base as it was.
        """

        def __init__(self, base: Any, r: int, alpha: float | None = None) -> None:  # any layer with those attributes
            super().__init__()
            _require_linear_layer(base)
            if not 1 <= r <= min(base.in_features, base.out_features):
                raise ValueError(
                    f"rank r={r} must be between 1 and min(in_features, out_features) = "
                    f"{min(base.in_features, base.out_features)}."
                )
            self.base = base
            for parameter in self.base.parameters():
                parameter.requires_grad_(False)
            self.r = r
            self.alpha = float(r if alpha is None else alpha)
            self.scaling = self.alpha / r
            weight = base.weight
            self.lora_A = nn.Parameter(torch.empty(r, base.in_features, dtype=weight.dtype, device=weight.device))
            self.lora_B = nn.Parameter(torch.zeros(base.out_features, r, dtype=weight.dtype, device=weight.device))
            nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.base(x) + self.scaling * ((x @ self.lora_A.T) @ self.lora_B.T)

        def delta_weight(self) -> torch.Tensor:
            """The update ``(alpha / r) B A`` that LoRA adds to the frozen weight."""
            return self.scaling * (self.lora_B @ self.lora_A)

        @torch.no_grad()
        def merge(self) -> nn.Linear:
            """A plain ``nn.Linear`` whose weight is ``W + (alpha / r) B A``: same outputs, no extra cost."""
            merged = nn.Linear(
                self.base.in_features,
                self.base.out_features,
                bias=self.base.bias is not None,
                dtype=self.base.weight.dtype,
                device=self.base.weight.device,
            )
            merged.weight.copy_(self.base.weight + self.delta_weight())
            if self.base.bias is not None:
                merged.bias.copy_(self.base.bias)
            return merged

    return LoRALinear


LoRALinear = _lora_class()


def _lora_layer_case(rng: random.Random, d_in: int, d_out: int, r: int, alpha: float, bias: bool) -> dict:
    """A case of ``course.lessons.finetune.drivers.lora_layer``: the base's weights at build time, the ones
    loaded into it afterwards, the new A and B, and an input."""
    import torch

    generator = torch.Generator().manual_seed(rng.getrandbits(32))

    def draw(*shape):
        return torch.randn(*shape, generator=generator)

    return {
        "weight_at_build": draw(d_out, d_in) / d_in**0.5,
        "bias_at_build": draw(d_out) if bias else None,
        "weight": draw(d_out, d_in) / d_in**0.5,
        "bias": draw(d_out) if bias else None,
        "r": r,
        "alpha": alpha,
        "A": draw(r, d_in),
        "B": draw(d_out, r),
        "x": draw(rng.randint(1, 6), d_in),
    }


def _lora_layer_cases(rng: random.Random) -> list[dict]:
    cases = []
    for _ in range(12):
        d_in, d_out = rng.randint(1, 32), rng.randint(1, 32)
        r = rng.randint(1, min(d_in, d_out))
        alpha = rng.choice([1.0, 2.0, 8.0, 16.0, 32.0, round(rng.uniform(0.5, 64.0), 2)])
        cases.append(_lora_layer_case(rng, d_in, d_out, r, alpha, rng.random() < 0.6))
    return cases


def _lora_layer_edge_cases() -> list[dict]:
    rng = random.Random("lora-layer-edge")
    return [
        _lora_layer_case(rng, 3, 2, 2, 4.0, True),  # the visible test's layer
        _lora_layer_case(rng, 20, 12, 4, 8.0, True),
        _lora_layer_case(rng, 20, 12, 3, 3.0, False),  # no bias: the merged layer has none either
        _lora_layer_case(rng, 6, 5, 2, 2.0, True),
        _lora_layer_case(rng, 1, 1, 1, 1.0, True),  # the smallest layer
    ]


# ---------------------------------------------------------------- exercise 3: the instruction-tuning loss mask

IGNORE = -100  # the label PyTorch's cross-entropy (and every Hugging Face model) leaves out of the loss


def instruction_labels(prompt_ids: Sequence[int], response_ids: Sequence[int]) -> tuple[list[int], list[int]]:
    """``(input_ids, labels)`` of one instruction example: the model reads the prompt and then the response, and
    the loss counts the response only (``-100`` under every prompt token)."""
    prompt_ids, response_ids = [int(i) for i in prompt_ids], [int(i) for i in response_ids]
    return prompt_ids + response_ids, [IGNORE] * len(prompt_ids) + response_ids


def _ids(rng: random.Random, low: int, high: int) -> list[int]:
    return [rng.randrange(0, 50_000) for _ in range(rng.randint(low, high))]


def _label_cases(rng: random.Random) -> list[dict]:
    return [call(_ids(rng, 1, 40), _ids(rng, 1, 12)) for _ in range(12)]


# ---------------------------------------------------------------- exercise 4: augmentation


def augment_instructions(examples: Iterable[Example], paraphrases: Sequence[str]) -> list[Example]:
    """Each example, then the same input and response under every paraphrase of its instruction.

    Duplicates are dropped and the order is kept, so the originals come first.
    """
    grown: dict[Example, None] = {}
    for prompt, response in examples:
        _, text = parse_prompt(prompt)
        grown[(prompt, response)] = None
        for instruction in paraphrases:
            grown[(format_prompt(instruction, text), response)] = None
    return list(grown)


_WORDS = ["red", "blue", "green", "black", "white", "cat", "dog", "house", "car", "tree", "big", "small"]
_FRENCH = ["rouge", "bleu", "vert", "noir", "blanc", "chat", "chien", "maison", "voiture", "arbre", "grand"]
_INSTRUCTIONS = [
    "Translate the phrase into French .",
    "Give the French for this phrase .",
    "Say this in French .",
    "How do you say this in French ?",
    "Translate .",
    "Put it in French .",
]


def _augment_cases(rng: random.Random) -> list[dict]:
    cases = []
    for _ in range(12):
        instruction = rng.choice(_INSTRUCTIONS)
        examples = []
        for _ in range(rng.randint(0, 6)):
            text = " ".join(rng.sample(_WORDS, rng.randint(1, 3)))
            examples.append((format_prompt(instruction, text), " ".join(rng.sample(_FRENCH, rng.randint(1, 3)))))
        if examples and rng.random() < 0.5:
            examples.append(rng.choice(examples))  # a repeated example
        paraphrases = rng.sample(_INSTRUCTIONS, rng.randint(0, 4))  # may include the examples' own instruction
        if paraphrases and rng.random() < 0.3:
            paraphrases.append(paraphrases[0])  # a repeated paraphrase
        cases.append(call(examples, paraphrases))
    return cases


def _augment_edge_cases() -> list[dict]:
    from course.lessons.finetune import task_model

    seed_set = task_model.task_examples("train")[:12]
    two = seed_set[:2]
    return [
        call(seed_set, list(task_model.TASK_PARAPHRASES)),
        call(two + two[:1], [task_model.TASK_INSTRUCTION, "Say this in French ."]),  # no duplicates
        call([], ["x ."]),
        call(two, []),
    ]


# ---------------------------------------------------------------- the visible tests of the test cells

_PHI3_LORA_PARAMETERS_TESTS = r"""
tiny = {"hidden_size": 8, "intermediate_size": 16, "num_attention_heads": 2, "num_key_value_heads": 2,
        "num_hidden_layers": 1}
assert phi3_lora_parameters(tiny, 1) == (8 + 24) + (8 + 8) + (8 + 32) + (16 + 8), "check the four shapes"
phi = load_config("phi-3.5-mini")
# per layer: qkv 3072 -> 9216, o 3072 -> 3072, gate_up 3072 -> 16384, down 8192 -> 3072; 32 layers
assert phi3_lora_parameters(phi, 16) == 32 * 16 * (12288 + 6144 + 19456 + 11264), "Phi-3.5-mini at r = 16"
assert phi3_lora_parameters(phi, 8) == 8 * phi3_lora_parameters(phi, 1), "the count grows linearly with r"
huge = dict(tiny, hidden_size=2**33, intermediate_size=2**34)  # every width 2**30 times tiny's: over 2**63 weights
assert phi3_lora_parameters(huge, 1) == 2**30 * 112, "count in Python's integers: no library builds this model"
"""

_MYLORALINEAR_TESTS = r"""
class LinearMap(nn.Module):  # a linear layer that is no nn.Linear, as the grader's are: x W^T + b
    def __init__(self, weight, bias):
        super().__init__()
        self.out_features, self.in_features = weight.shape
        self.weight, self.bias = nn.Parameter(weight), nn.Parameter(bias)

    def forward(self, x):
        return x @ self.weight.T + self.bias


torch.manual_seed(1)
base_layer = LinearMap(torch.randn(2, 3), torch.randn(2))
mine = MyLoRALinear(base_layer, r=2, alpha=4)
x = torch.tensor([[1.0, 2.0, 3.0]])
assert torch.allclose(mine(x), base_layer(x)), "with B = 0 the layer must start equal to the base layer"
assert mine.lora_A.shape == (2, 3) and mine.lora_B.shape == (2, 2), "A is r x in, B is out x r"
assert mine.lora_A.abs().sum() > 0 and mine.lora_B.abs().sum() == 0, "A starts random, B at zero"
n_trainable = sum(p.numel() for p in mine.parameters() if p.requires_grad)
assert n_trainable == 2 * (3 + 2), f"only A and B train: expected 10, got {n_trainable}"
# as the grader does: new weights into the base, new lora_A and lora_B (read them when called, not in __init__)
with torch.no_grad():
    base_layer.weight.copy_(torch.tensor([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]]))
    base_layer.bias.copy_(torch.tensor([0.5, -0.5]))
mine.lora_A = nn.Parameter(torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
mine.lora_B = nn.Parameter(torch.tensor([[1.0, 0.0], [1.0, 1.0]]))
# by hand, x = (1, 2, 3): W x + b = (1 + 6 + 0.5, 2 - 3 - 0.5) = (7.5, -1.5), A x = (1, 2), B A x = (1, 1 + 2) = (1, 3),
# and alpha / r = 4 / 2 = 2: the output is (7.5 + 2 * 1, -1.5 + 2 * 3) = (9.5, 4.5)
assert torch.allclose(mine(x), torch.tensor([[9.5, 4.5]])), "forward: base(x) + (alpha / r) * x A^T B^T"
merged_mine = mine.merge()
assert isinstance(merged_mine, nn.Linear), "merge returns a new nn.Linear"
# B A = [[1, 0, 0], [1, 1, 0]], so W + 2 B A = [[1 + 2, 0, 2], [0 + 2, 1 + 2, -1]] = [[3, 0, 2], [2, 3, -1]]
assert torch.allclose(merged_mine.weight, torch.tensor([[3.0, 0.0, 2.0], [2.0, 3.0, -1.0]])), "merged: W + 2 B A"
assert merged_mine.bias is not None and torch.allclose(merged_mine.bias, torch.tensor([0.5, -0.5])), "keep the bias"
assert torch.equal(base_layer.weight, torch.tensor([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]])), "merge leaves base as it was"
"""

_INSTRUCTION_LABELS_TESTS = r"""
ids, labels = instruction_labels([5, 6, 7], [8, 2])
assert ids == [5, 6, 7, 8, 2], "the model reads the prompt, then the response"
assert labels == [-100, -100, -100, 8, 2], "-100 under each prompt token, the response's own ids after it"
ids, labels = instruction_labels([3], [3, 3, 2])
assert labels == [-100, 3, 3, 2], "mask by position, not by value: a response may repeat prompt tokens"
"""

_AUGMENT_TESTS = r"""
two = task_model.task_examples("train")[:2]
mine = augment(two, ["Say this in French ."])
assert len(mine) == 4 and mine[0] == two[0], "original first, then one variant per paraphrase"
first_input = instructions.parse_prompt(two[0][0])[1]
assert mine[1] == (instructions.format_prompt("Say this in French .", first_input), two[0][1])
"""


EXERCISES = [
    Exercise(
        grade_id="lora-count-tests",
        target="phi3_lora_parameters",
        points=2,
        about=(
            "calls your function on Phi-3 configs it draws itself (other sizes, grouped-query attention, more or "
            "fewer layers, some far larger than any real model, whose layers hold more than 2**63 weights), and "
            "compares with the course's count."
        ),
        tests=_PHI3_LORA_PARAMETERS_TESTS,
        reference=phi3_lora_parameters,
        cases=_lora_count_cases,
        edge_cases=[
            call(_TINY, 1),
            call(_PHI35_MINI, 1),
            call(_PHI35_MINI, 8),
            call(_PHI35_MINI, 16),
            call(dict(_PHI35_MINI, num_key_value_heads=8), 4),  # keys and values use the kv heads
            call(dict(_PHI35_MINI, num_hidden_layers=3), 2),
            call(_HUGE, 1),
        ],
    ),
    Exercise(
        grade_id="lora-layer-tests",
        target="MyLoRALinear",
        points=3,
        about=(
            "builds your layer around linear layers it draws itself (with and without bias; like the LinearMap "
            "below, they are no nn.Linear), loads new weights into the base and new lora_A and lora_B, and compares "
            "outputs, trainable parameters, gradients, the merged layer's weights and the base after merging with "
            "the course's."
        ),
        tests=_MYLORALINEAR_TESTS,
        reference=LoRALinear,
        cases=_lora_layer_cases,
        edge_cases=_lora_layer_edge_cases(),
        compare=close(rtol=1e-4, atol=1e-5),
        driver="course.lessons.finetune.drivers:lora_layer",
    ),
    Exercise(
        grade_id="labels-tests",
        target="instruction_labels",
        points=2,
        about=(
            "calls your function on prompts and responses of token ids it draws itself (one-token prompts, "
            "responses that repeat prompt tokens), and compares with the course's answer."
        ),
        tests=_INSTRUCTION_LABELS_TESTS,
        reference=instruction_labels,
        cases=_label_cases,
        edge_cases=[
            call([1], [2]),
            call([4, 4, 4], [4, 4]),  # the same id in prompt and response
            call([7, 8, 9, 10, 11], [0]),  # a response of one token (its end of sequence)
            call(list(range(60)), list(range(60, 63))),
        ],
    ),
    Exercise(
        grade_id="augment-tests",
        target="augment",
        points=2,
        about=(
            "calls your function on examples and paraphrases it draws itself (repeated examples, a paraphrase equal "
            "to the instruction, empty lists), and compares with the course's answer."
        ),
        tests=_AUGMENT_TESTS,
        reference=augment_instructions,
        cases=_augment_cases,
        edge_cases=_augment_edge_cases(),
    ),
]
