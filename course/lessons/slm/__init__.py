"""Lesson 02, small language models: ``sizes`` (§1), ``fit`` (§2, memory in real formats), ``speed`` (§3, tiny
models and the bandwidth bound, measured), ``tokens`` (§4), ``deployment`` (§6, the challenge's options)."""
