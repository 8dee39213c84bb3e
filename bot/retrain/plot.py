"""The loss curve sent to the admin at the end of a training run, as PNG bytes.

The picture holds no words, only the two curves and the axes' numbers: matplotlib does
not shape Arabic letters or lay out right-to-left text (it would need a reshaping
library and a font with Arabic glyphs on every host), and words drawn in one language
would be foreign to every other reader. The photo's caption, in the admin's language,
names the run and says which colour is which curve and what the axes measure
(:func:`legend`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any, Final

from bot.texts import t

TRAIN_COLOUR: Final = "tab:blue"
VALIDATION_COLOUR: Final = "tab:orange"


def legend(lang: str | None, history: Sequence[dict[str, Any]]) -> str:
    """What the caption says about the picture, in ``lang``: the colours are the ones drawn."""
    if not any(e.get("val_loss") is not None for e in history):
        return t(lang, "rt_curve_legend_train", train=t(lang, "rt_curve_blue"))
    return t(
        lang, "rt_curve_legend", train=t(lang, "rt_curve_blue"),
        validation=t(lang, "rt_curve_orange"),
    )  # fmt: skip


def loss_curve_png(history: Sequence[dict[str, Any]]) -> bytes:
    steps = [int(e["step"]) for e in history if e.get("train_loss") is not None]
    train = [float(e["train_loss"]) for e in history if e.get("train_loss") is not None]
    val_points = [
        (int(e["step"]), float(e["val_loss"])) for e in history if e.get("val_loss") is not None
    ]
    # Imported here, not at the top: a curve is drawn once per training run, and
    # matplotlib costs every start of the bot half a second of CPU otherwise. A bare
    # Figure on the Agg canvas needs no display and keeps no global state (pyplot's
    # figure registry would, in a long-lived server).
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(steps, train, color=TRAIN_COLOUR, linewidth=1.2)
    if val_points:
        vs, vl = zip(*val_points, strict=True)
        ax.plot(vs, vl, color=VALIDATION_COLOUR, marker="o", markersize=3, linewidth=1.2)
    ax.grid(True, alpha=0.3)
    ax.ticklabel_format(style="plain", useOffset=False)  # digits only, never "1e4"
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
