"""Lesson 06, edge deployment: ``export`` (§2, §4), ``runtimes`` (§3), ``benchmark`` and ``plots`` (§6),
``sweep`` (§6, int8 pays off), ``gguf`` and ``ollama`` (§7), ``budget`` (§8)."""
