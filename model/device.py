"""Device selection: CUDA when present, the CPU otherwise, overridable by the caller."""

from __future__ import annotations

import torch


def pick_device(preference: str | None = None) -> torch.device:
    """Resolve "auto"/None to cuda-if-available, else honour the explicit choice.

    An explicit "cuda" on a machine without CUDA falls back to the CPU rather than
    failing, so one configuration file serves GPU and CPU hosts.
    """
    choice = (preference or "auto").strip().lower()
    if choice in ("", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(choice)
    if device.type == "cuda" and not torch.cuda.is_available():
        return torch.device("cpu")
    return device
