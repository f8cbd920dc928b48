"""Real models as data: published configs, their sizes, memory, tiny builders, weights.

``configs`` (with ``sizes.json``: parameters and KV-cache values per model, computed from the configs by
``course.references.sizes`` and checked by the tests against the real transformers classes), ``params``,
``quant`` (storage formats and their real bits per weight; it imports ``gguf`` when first asked), ``memory`` (bytes
of weights and KV cache), ``fit`` (does a model fit, and where) and ``bandwidth`` (the decode speed bound) import no
heavy library; ``tiny`` and ``weights`` import torch and transformers when called.
"""
