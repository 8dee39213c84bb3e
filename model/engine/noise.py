"""The eager step's Gumbel noise, hashed in place for a block of rows and steps.

On the CPU the noise for every row is hashed for a chunk of steps at a time (see
:mod:`model.engine.buffers`), bit for bit the noise :func:`model.rng.gumbel_noise` gives,
so a request's text does not depend on its batch.
"""

from __future__ import annotations

import torch

_M32 = 0xFFFFFFFF


class NoiseHasher:
    """:func:`model.rng.gumbel_noise` for a block of rows and steps, computed in place in
    buffers kept from call to call: the same integer and float operations in the same
    order, so the same bits, without allocating a fresh tensor for each of its ~30
    operations (at 64 rows that allocation churn was a quarter of a step)."""

    def __init__(self, rows: int, chunk: int, vocab: int, device: torch.device) -> None:
        self.x = torch.empty(rows, chunk, vocab, dtype=torch.long, device=device)
        self.t = torch.empty_like(self.x)
        self.v_term = torch.arange(vocab, dtype=torch.long, device=device) * 0x85EBCA6B

    @staticmethod
    def _mix32(x: torch.Tensor, t: torch.Tensor) -> None:
        # model.rng._mix32, in place
        x.bitwise_xor_(torch.bitwise_right_shift(x, 16, out=t))
        x.mul_(0x7FEB352D).bitwise_and_(_M32)
        x.bitwise_xor_(torch.bitwise_right_shift(x, 15, out=t))
        x.mul_(0x846CA68B).bitwise_and_(_M32)
        x.bitwise_xor_(torch.bitwise_right_shift(x, 16, out=t))

    def __call__(self, keys: torch.Tensor, steps: torch.Tensor, out: torch.Tensor) -> None:
        """Noise for ``keys`` (n,) at ``steps`` (n, chunk) into ``out`` (n, chunk, vocab)."""
        n = keys.shape[0]
        x, t = self.x[:n], self.t[:n]
        base = keys.unsqueeze(1) + steps * 0x9E3779B9
        torch.add(base.unsqueeze(2), self.v_term, out=x).bitwise_and_(_M32)
        self._mix32(x, t)
        x.bitwise_xor_(keys.view(n, 1, 1))
        self._mix32(x, t)
        out.copy_(x.bitwise_right_shift_(8))
        out.add_(0.5).mul_(1.0 / 16777216.0).log_().neg_().log_().neg_()
