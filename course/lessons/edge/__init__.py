"""Lesson 06, edge deployment: ``export`` (§2, §4), ``runtimes`` (§3), ``gguf`` and ``ollama`` (§5), ``benchmark``,
``llamacpp`` and ``plots`` (§6), ``sweep`` (§7, when fewer bytes raise tokens/s), ``budget`` (§8)."""
