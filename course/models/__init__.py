"""Real models as data: published configs, parameter and memory arithmetic, tiny builders, weights.

``configs`` and ``params`` and ``memory`` import no heavy library; ``tiny`` and
``weights`` import torch and transformers when called.
"""
