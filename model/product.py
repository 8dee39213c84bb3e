"""The step's matrix products, and the row granule that keeps each row's bits batch-blind.

A step of the served network is one product of the hidden states with ``[W_fc; W_hh]``
(plus one per extra layer). For LSTM 384 that is a 384 × 1,579 matrix, 2.4 MB in
float32: more than a core's L2 cache, so a one-row product is bound by reading it.

Two ways to multiply, chosen per device when the weights are laid out:

* **float16 weights** (CPUs with FBGEMM, i.e. x86): ``quantized.linear_dynamic_fp16``
  keeps the weights in float16 (half the bytes) and multiplies float32 activations
  into a float32 result. Its kernel gives a row the same bits for every row count, so
  the row granule is 1: a lone /write multiplies one row (about 46 µs on the
  reference machine), where the float32 product must pad it to MKL's granule of 4
  rows (about 150 µs). The only change to the arithmetic is rounding each weight to
  float16 once (relative error 2^-11); bits/char through the served step and the
  realism figures are measured with it (docs/MODEL.md).
* **float32** ``torch.mm`` everywhere else: CUDA, CPUs without FBGEMM, matrices under
  :data:`HALF_WEIGHTS_FROM_BYTES` (cache-resident already: float32 is faster there), and
  when :data:`HALF_WEIGHTS_ON_CPU` is off.

Either way the product is probed once per shape, device, kind and thread count for its
*row granule* (:func:`row_granule`): the smallest row multiple at which every batch size
gives each row the bits it gets alone. The engine pads batches to it, so a fixed seed
writes the same text alone and among hundreds of other requests.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import torch

log = logging.getLogger(__name__)

# fbgemm's float16-weight product on x86 CPUs: 3x faster for a lone row than padding to
# float32 MKL's granule, batch-blind, and within float16 rounding of the weights.
HALF_WEIGHTS_ON_CPU = True
# ...for matrices from this size (float32 bytes) up: a smaller one sits in L2 already,
# and fbgemm's fixed cost per call (~20 us) makes float32 faster (LSTM 128: 17 against
# 23 us; LSTM 256: 55 against 29 us).
HALF_WEIGHTS_FROM_BYTES = 512 * 1024

# Row counts probed for each candidate granule (multiples of it only), and the granules.
_PROBE_ROWS = (*range(1, 65), 80, 96, 128, 160, 192, 256, 320, 384, 512)
_GRANULES = (1, 2, 4, 8, 16, 32)
_granules: dict[tuple[str, int | None, int, int, int, bool], int] = {}
_granules_lock = threading.Lock()


def half_weights_available(device: torch.device) -> bool:
    """Whether this build can multiply with float16 weights on ``device`` (FBGEMM)."""
    return device.type == "cpu" and "fbgemm" in torch.backends.quantized.supported_engines


class Product:
    """``x @ weight_t`` for the step: ``weight_t`` is ``(in, out)`` float32; the result
    is float32 ``(rows, out)``, written into ``out``."""

    def __init__(self, weight_t: torch.Tensor, half: bool | None = None) -> None:
        """``half``: float16 weights (if this build has the kernel); None: where it pays."""
        self.weight_t = weight_t
        dev = weight_t.device
        if half is None:
            big = weight_t.numel() * 4 >= HALF_WEIGHTS_FROM_BYTES
            half = HALF_WEIGHTS_ON_CPU and big
        half = half and half_weights_available(dev)
        self.packed: torch.Tensor | None = None
        if half:
            try:
                weight = weight_t.t().contiguous()
                self.packed = torch.ops.quantized.linear_prepack_fp16(weight, None)
            except (RuntimeError, AttributeError) as exc:  # a build without the kernel
                log.info("float16 weights unavailable (%s); the step multiplies in float32", exc)
        self.half = self.packed is not None
        self.granule = row_granule(self)

    def __call__(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        if self.packed is None:
            return torch.mm(x, self.weight_t, out=out)
        # The kernel has no out= form; one copy of a (rows, out) result is cheap.
        return out.copy_(torch.ops.quantized.linear_dynamic_fp16(x, self.packed))

    def fresh(self, x: torch.Tensor) -> torch.Tensor:
        """The product into a new tensor."""
        out = torch.empty(x.shape[0], self.weight_t.shape[1], device=x.device)
        return self(x, out)


def row_granule(product: Product) -> int:
    """The smallest ``g`` such that ``product`` gives every row the same bits for every
    row count that is a multiple of ``g`` (up to 512 rows), on this device.

    BLAS libraries switch kernels on the row count (MKL, for example, has special paths
    for 1-3 rows), and the summation order changes with the kernel; above a small count
    they settle on one. The answer is cached per device, shape, kind and thread count.
    """
    k, n = product.weight_t.shape
    dev = product.weight_t.device
    key = (dev.type, dev.index, k, n, torch.get_num_threads(), product.half)
    with _granules_lock:
        cached = _granules.get(key)
        if cached is not None:
            return cached
        granule = _probe(product.fresh, k, dev)
        _granules[key] = granule
        return granule


def _probe(multiply: Callable[[torch.Tensor], torch.Tensor], k: int, dev: torch.device) -> int:
    gen = torch.Generator().manual_seed(0)
    with torch.inference_mode():
        x = torch.randn(max(_PROBE_ROWS), k, generator=gen).to(dev)
        reference = multiply(x)
        for candidate in _GRANULES:
            rows = [m for m in _PROBE_ROWS if m % candidate == 0]
            if all(torch.equal(multiply(x[:m]), reference[:m]) for m in rows):
                return candidate
    log.warning(
        "matrix products on %s give rows different bits at different batch sizes; "
        "fixed-seed texts from the engine may differ from model.sample in rare near-ties",
        dev,
    )
    return _GRANULES[-1]
