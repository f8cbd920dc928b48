"""Lesson 01, beyond the prompt: ``spectrum`` (§1, §6), ``prompts`` (§2-5), ``costs`` (§3, §5), ``rag`` (§4);
``data/`` holds the support tickets and the course notes they read."""
