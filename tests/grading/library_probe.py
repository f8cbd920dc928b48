"""Run as a script (by tests/grading/test_library_answers.py): try every public function and class that a
grading kernel can import from the ``course`` package as the answer to every declared exercise, through the
exercise's own driver, on the cases of one grading run; print the ones that pass as JSON.

Besides the course's own functions and classes, it tries ``compositions()``: short answers a student could write
by putting course code together with transformers and peft (the course's bridge to transformers' MoE block,
real transformers models built from the exercise's config on the meta device, peft's ``get_peft_model`` and
LoRA layer). They must not pass either: an exercise is about the idea, not about finding the library call.

A candidate is checked case by case and dropped at its first wrong case, so most candidates cost one case. One
that does not finish an exercise's cases within ``SECONDS`` (``COMPOSITION_SECONDS`` for a composition, which
builds models) is cut off, counts as not passing and is not tried again (the slow ones are training and
benchmarking routines, which take an exercise's arguments and do something else); the report lists them.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import pkgutil
import signal
import sys
from pathlib import Path

import course
from course.grading import drivers
from course.grading.values import decode, encode
from course.references import LESSON_MODULES, exercises

SECONDS = 3
COMPOSITION_SECONDS = 60
HIDDEN = ("course.references", "course.grading")  # not importable in a grading kernel / the grader itself


class _Slow(BaseException):  # not an Exception: drivers observe those as results
    pass


def _interrupt(*_):
    raise _Slow


def candidates():
    """(qualified name, object) of every public function and class defined in a kernel-visible module."""
    for info in pkgutil.walk_packages(course.__path__, "course."):
        if info.name.startswith(HIDDEN):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != info.name:
                continue
            if inspect.isfunction(obj) or inspect.isclass(obj):
                yield f"{info.name}.{name}", obj


def _could_take(obj, case: dict) -> bool:
    try:
        inspect.signature(obj).bind(*case.get("args", []), **case.get("kwargs", {}))
    except (TypeError, ValueError):
        return False
    return True


def _passes(check, obj) -> bool:
    """Whether ``obj`` passes ``check``, decided by ``Check.verdict`` one case at a time (so a candidate is
    dropped at its first wrong case)."""
    for case, want in zip(check.cases, check.expected, strict=True):
        one_case = dataclasses.replace(check, cases=[case], expected=[want])
        if not one_case.verdict([encode(drivers.observe(check.driver, obj, decode(case)))])[0]:
            return False
    return True


def passing(seed: int, slow: set[str] | None = None, with_compositions: bool = True) -> list[list[str]]:
    """[lesson, grade id, candidate] for each candidate (and composition) that passes an exercise's check; the
    names of the candidates cut off are added to ``slow``."""
    signal.signal(signal.SIGALRM, _interrupt)
    found, slow = [], set() if slow is None else slow
    pool = [(name, obj, SECONDS) for name, obj in candidates()]
    if with_compositions:
        pool += [(f"composition.{obj.__name__}", obj, COMPOSITION_SECONDS) for obj in compositions()]
    for lesson in LESSON_MODULES:
        for grade_id, exercise in exercises(lesson).items():
            check = exercise.check(seed)
            first = decode(check.cases[0])
            for name, obj, seconds in pool:
                if name in slow or check.driver == "call" and not _could_take(obj, first):
                    continue
                signal.setitimer(signal.ITIMER_REAL, seconds)
                try:
                    ok = _passes(check, obj)
                except _Slow:
                    ok = False
                    slow.add(name)
                except Exception:  # a driver's own failure on a foreign object: not a pass
                    ok = False
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                if ok:
                    found.append([lesson, grade_id, name])
    return found


# ---------------------------------------------------------------- compositions of course code with libraries


def _on_meta(build):
    """``build()`` with every tensor on the meta device: shapes without memory, as a parameter count needs."""
    import torch

    with torch.device("meta"):
        return build()


def _count(model, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def dense_count_on_meta(config):
    """Lesson 02: build the transformers Llama model the config describes (on the meta device) and count."""
    from transformers import LlamaConfig, LlamaForCausalLM

    return _count(_on_meta(lambda: LlamaForCausalLM(LlamaConfig(**config))))


def router_via_mixtral_block(hidden_states, router_weight, k, renormalize=True, architecture="mixtral"):
    """Lesson 03: the router of transformers' MoE block, reached through the course's ``to_transformers_block``
    with a stand-in layer holding the router weight (range check included)."""
    from types import SimpleNamespace

    import torch

    from course.lessons.moe.layer import Expert, to_transformers_block

    if not 1 <= k <= router_weight.shape[0]:
        raise ValueError("k out of range")
    experts, hidden = router_weight.shape
    stand_in = SimpleNamespace(
        router=SimpleNamespace(weight=router_weight), experts=[Expert(hidden, 1) for _ in range(experts)], top_k=k
    )
    block = to_transformers_block(stand_in, architecture)
    with torch.no_grad():
        _, weights, indices = (block.gate if architecture == "mixtral" else block.router)(hidden_states)
    return weights, indices


def router_via_phimoe_block(hidden_states, router_weight, k, renormalize=True):
    return router_via_mixtral_block(hidden_states, router_weight, k, renormalize, "phimoe")


def _moe_layer_via_mixtral_block():
    import torch
    from torch import nn

    from course.lessons.moe.layer import Expert, to_transformers_block

    class MoELayerViaMixtralBlock(nn.Module):
        """Lesson 03: the exercise's constructor, and a forward that hands the work to transformers' Mixtral block
        (``to_transformers_block``), calling each expert the block's router chose on 0 rows."""

        def __init__(self, hidden_size, intermediate_size, num_experts, top_k):
            super().__init__()
            self.hidden_size, self.top_k = hidden_size, top_k
            self.router = nn.Linear(hidden_size, num_experts, bias=False)
            self.experts = nn.ModuleList(Expert(hidden_size, intermediate_size) for _ in range(num_experts))

        def forward(self, hidden_states):
            flat = hidden_states.reshape(-1, self.hidden_size)
            block = to_transformers_block(self)
            with torch.no_grad():
                _, _, indices = block.gate(flat)
            for e in indices.unique().tolist():
                self.experts[e](flat[:0])
            return block(flat[None]).reshape(hidden_states.shape)

    return MoELayerViaMixtralBlock


def lora_count_with_peft(config, r, targets=("qkv_proj", "o_proj", "gate_up_proj", "down_proj")):
    """Lesson 05: peft's ``get_peft_model`` on the transformers Phi-3 model of the config (meta device), and
    count what trains."""
    from peft import LoraConfig, get_peft_model
    from transformers import Phi3Config, Phi3ForCausalLM

    sizes = {key: value for key, value in config.items() if key != "model_type"}
    model = _on_meta(lambda: Phi3ForCausalLM(Phi3Config(vocab_size=8, pad_token_id=0, **sizes)))
    return _count(get_peft_model(model, LoraConfig(r=r, target_modules=list(targets))), trainable_only=True)


def _lora_via_peft():
    from peft import LoraConfig
    from peft.tuners.lora import Linear as PeftLoRALinear
    from torch import nn

    class LoRAViaPeft(nn.Module):
        """Lesson 05: peft's LoRA layer around the base layer, with the exercise's names (``base``, ``lora_A``,
        ``lora_B`` as tensors, ``merge()`` returning an ``nn.Linear``)."""

        def __init__(self, base, r, alpha):
            super().__init__()
            self.base = base
            self.peft = PeftLoRALinear(base, "default", LoraConfig(r=r, lora_alpha=alpha), r=r, lora_alpha=alpha)
            for p in base.parameters():
                p.requires_grad_(False)

        @property
        def lora_A(self):
            return self.peft.lora_A["default"].weight

        @property
        def lora_B(self):
            return self.peft.lora_B["default"].weight

        def forward(self, x):
            return self.peft(x)

        def merge(self):
            merged = nn.Linear(self.base.in_features, self.base.out_features, bias=self.base.bias is not None)
            self.peft.merge()
            merged.load_state_dict(self.base.state_dict())
            self.peft.unmerge()
            return merged

    return LoRAViaPeft


def _lora_via_peft_on_a_copy():
    import torch
    from peft import LoraConfig
    from peft.tuners.lora import Linear as PeftLoRALinear
    from torch import nn

    class LoRAViaPeftOnACopy(nn.Module):
        """Lesson 05: the base's weights copied into an ``nn.Linear`` (the layer type peft knows), peft's LoRA
        layer around the copy, and its A and B registered under the exercise's names (real parameters, which
        the grader can replace); ``merge()`` built from them as the exercise states."""

        def __init__(self, base, r, alpha):
            super().__init__()
            self.base = base
            for p in base.parameters():
                p.requires_grad_(False)
            copy = nn.Linear(base.in_features, base.out_features, bias=base.bias is not None)
            copy.load_state_dict(base.state_dict())
            copy.requires_grad_(False)
            config = LoraConfig(r=r, lora_alpha=alpha)
            object.__setattr__(self, "peft", PeftLoRALinear(copy, "default", config, r=r, lora_alpha=alpha))
            self.scaling = alpha / r
            self.lora_A = self.peft.lora_A["default"].weight
            self.lora_B = self.peft.lora_B["default"].weight

        def forward(self, x):
            return self.peft(x)

        @torch.no_grad()
        def merge(self):
            merged = nn.Linear(self.base.in_features, self.base.out_features, bias=self.base.bias is not None)
            merged.weight.copy_(self.base.weight + self.scaling * self.lora_B @ self.lora_A)
            if self.base.bias is not None:
                merged.bias.copy_(self.base.bias)
            return merged

    return LoRAViaPeftOnACopy


def compositions() -> list:
    """The compositions to try (built on demand: the classes import peft and transformers)."""
    return [
        dense_count_on_meta,
        router_via_mixtral_block,
        router_via_phimoe_block,
        _moe_layer_via_mixtral_block(),
        lora_count_with_peft,
        _lora_via_peft(),
        _lora_via_peft_on_a_copy(),
    ]


if __name__ == "__main__":
    cut_off: set[str] = set()
    found = passing(int(sys.argv[1]), cut_off)
    report = {"candidates": len(list(candidates())), "compositions": len(compositions())}
    report |= {"passing": found, "slow": sorted(cut_off)}
    print(json.dumps({**report, "package": str(Path(course.__file__).parent)}))
