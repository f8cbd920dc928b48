"""Logic that one lesson needs and the others do not: one package per topic, one module per job.

``prompting`` (lesson 01), ``slm`` (02), ``moe`` (03), ``vision`` (04), ``finetune`` (05), ``edge`` (06).
Nothing here imports torch or transformers at import time unless the lesson module needs them.
"""
