"""Lesson 05, fine-tuning and PEFT (and the task model lesson 06 deploys): ``memory`` (§2, §9), ``lora`` (§3),
``task_model`` (§4-9), ``instructions`` (§5), ``training`` (§6-8)."""
