"""Real models as data: published configs, parameter and memory arithmetic, tiny builders, weights.

``configs``, ``params``, ``memory`` (bytes of weights and KV cache), ``fit`` (does
a model fit, and where) and ``bandwidth`` (the decode speed bound) import no
heavy library; ``tiny`` and ``weights`` import torch and transformers when called.
"""
