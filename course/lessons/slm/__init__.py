"""Lesson 02, small language models: ``sizes`` (§1), ``fit`` (§2, memory), ``speed`` (§3), ``tokens`` (§4),
``deployment`` (§6, the challenge's check)."""
