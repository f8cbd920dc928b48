"""Lesson 05, fine-tuning and PEFT (and the task model lesson 06 deploys): ``memory`` (§1, §5, §7), ``lora`` (§2,
§4-7), ``task_model`` (§3-8), ``instructions`` (§3), ``training`` (§3-8), ``runs`` (cached runs, §4-8),
``seq2seq`` (the tiny T5, §8)."""
