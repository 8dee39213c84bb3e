"""A counter-based random stream: noise for (request seed, step, character) by hashing.

Every request in a batch needs its own reproducible stream, and one torch.Generator per
row would cost a host call per row per character. Hashing the counter gives the same
numbers for a request whether it runs alone or in a batch of a hundred, on any device.
"""

from __future__ import annotations

import secrets

import torch

_M32 = 0xFFFFFFFF


def _mix32(x: torch.Tensor) -> torch.Tensor:
    # lowbias32 (Chris Wellons). Inputs are < 2**32 held in int64; the products can pass
    # 2**63 and wrap, which leaves the low 32 bits, the only ones kept, correct.
    x = x ^ (x >> 16)
    x = (x * 0x7FEB352D) & _M32
    x = x ^ (x >> 15)
    x = (x * 0x846CA68B) & _M32
    return x ^ (x >> 16)


def new_seed() -> int:
    return secrets.randbits(63)


def request_key(seed: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Fold a 63-bit seed to one 32-bit key (a 0-d int64 tensor)."""
    lo = torch.tensor(seed & _M32, dtype=torch.int64, device=device)
    hi = torch.tensor((seed >> 32) & _M32, dtype=torch.int64, device=device)
    return _mix32(lo ^ _mix32(hi + 0x632BE5AB))


def gumbel_noise(keys: torch.Tensor, steps: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """Gumbel(0, 1) noise of shape ``keys.shape + (vocab_size,)`` for each (key, step).

    ``keys`` and ``steps`` broadcast together; the result is float32 on their device.
    """
    v = torch.arange(vocab_size, dtype=torch.int64, device=keys.device)
    x = (keys.unsqueeze(-1) + steps.unsqueeze(-1) * 0x9E3779B9 + v * 0x85EBCA6B) & _M32
    x = _mix32(_mix32(x) ^ keys.unsqueeze(-1))
    u = ((x >> 8).to(torch.float32) + 0.5) * (1.0 / 16777216.0)
    return -torch.log(-torch.log(u))
