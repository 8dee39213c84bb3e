"""The loss curve sent to the admin at the end of a training run, as PNG bytes."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on a server; must precede pyplot

import matplotlib.pyplot as plt


def loss_curve_png(history: Sequence[dict[str, Any]], title: str | None = None) -> bytes:
    """The curve; ``title`` only where the reader's language is drawn correctly (the bot
    sends none: the photo's caption says which run it is, in the admin's language, and
    matplotlib cannot lay out right-to-left text)."""
    steps = [int(e["step"]) for e in history if e.get("train_loss") is not None]
    train = [float(e["train_loss"]) for e in history if e.get("train_loss") is not None]
    val_points = [
        (int(e["step"]), float(e["val_loss"])) for e in history if e.get("val_loss") is not None
    ]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    try:
        ax.plot(steps, train, label="training loss", linewidth=1.2)
        if val_points:
            vs, vl = zip(*val_points, strict=True)
            ax.plot(vs, vl, label="validation loss", marker="o", markersize=3, linewidth=1.2)
        ax.set_xlabel("step")
        ax.set_ylabel("cross-entropy (nats/char)")
        if title:
            ax.set_title(title)
        ax.grid(True, alpha=0.3)
        ax.legend()
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(fig)
