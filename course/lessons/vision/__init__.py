"""Lesson 04, multimodality: ``llama`` (§1-4, how Llama 3.2 Vision reads a picture), ``data`` (§5, the
pictures and questions), ``tiny`` (§5, the tiny model), ``training`` (§5), ``evaluation`` (§5-6), ``plots`` (§5)."""
