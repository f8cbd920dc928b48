"""Lesson 05's names of runs, abilities and measurements, shown in the reader's language.

The lesson keeps its data keyed by the English names (they are part of the cached runs' keys and of the
measurements' logs); :func:`shown` translates a name only where it is printed or plotted.
"""

from __future__ import annotations

from course.languages import say

KEYS = {
    "full fine-tuning": "full_fine_tuning",
    "full": "full",
    "weights": "weights",
    "gradients": "gradients",
    "optimizer states": "optimizer_states",
    "activations": "activations",
    "new task": "new_task",
    "new task (test)": "new_task_test",
    "new task (validation)": "new_task_validation",
    "original ability": "original_ability",
    "LoRA (your layer)": "run_lora_your_layer",
    "LoRA + augmentation": "run_lora_augmentation",
    "LoRA + replay": "run_lora_replay",
    "without augmentation": "without_augmentation",
    "with augmentation": "with_augmentation",
    "test, trained wording": "test_trained_wording",
    "test, held-out wordings": "test_held_out_wordings",
    "base model": "base_model",
    "LoRA, adapters off": "adapters_off",
    "decoder-only (tiny Phi-3)": "decoder_only",
    "encoder-decoder (tiny T5)": "encoder_decoder",
}
SAME_IN_EVERY_LANGUAGE = frozenset({"LoRA"})


def shown(name: str) -> str:
    """``name`` (one of :data:`KEYS`, or a name that every language writes the same, such as ``LoRA``) as the
    reader's language writes it."""
    if name in SAME_IN_EVERY_LANGUAGE:
        return name
    return say(f"finetune.{KEYS[name]}")
