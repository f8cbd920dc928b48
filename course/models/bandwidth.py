"""The memory-bandwidth bound on generation speed (lesson 02 §3, lesson 06 §8).

Generating one token at a time is limited by how fast the weights (and the KV
cache) stream from memory, not by arithmetic: every new token reads them once.
Each caller says what one token reads: lesson 02 every weight of a dense model,
lesson 06 the active weights of a (possibly Mixture-of-Experts) model plus its KV
cache. Real runtimes reach perhaps half of the bound.
"""

from __future__ import annotations


def decode_tokens_per_second_bound(bytes_read_per_token: float, bandwidth_gb_s: float) -> float:
    """Upper bound on tokens/s when each token must read ``bytes_read_per_token`` bytes at ``bandwidth_gb_s`` GB/s."""
    if bandwidth_gb_s <= 0:
        raise ValueError("bandwidth_gb_s must be positive (GB/s; a laptop's RAM gives roughly 50-100 GB/s).")
    if bytes_read_per_token <= 0:
        raise ValueError("bytes_read_per_token must be positive.")
    return bandwidth_gb_s * 1e9 / bytes_read_per_token
