"""Training: the reference loop (random windows, Adam, cross-entropy) plus a held-out tail.

The reference had no validation and its ~0.11 training loss was memorisation; here the
last ``val_fraction`` of the text is never trained on and its loss is what is reported.

The fit recipe adds, each behind a :class:`TrainConfig` field whose default is the reference
value (so the reference flags still give the reference curve bit for bit): dropout,
AdamW weight decay, a warm-up + cosine learning-rate schedule, a step budget sized from
the text (``auto_steps``) with early stopping and a wall-clock cap, validation as
continuous streams, and fine-tuning from a trained model whose vocabulary grows to the
new text's (``init``), optionally mixing in windows of the previous text (``replay``).
Every run ends by measuring the kept weights on the validation tail both ways
(continuous stream and windows) next to the unigram and Kneser-Ney n-gram baselines
(:mod:`model.ngram`), so every report can say whether the network beat counting.

The code lives in :mod:`model.training`: the configuration and the budget and network
size it plans (:mod:`model.training.config`), the loop (:mod:`model.training.loop`) and
what a run reports (:mod:`model.training.result`). This module is the public entry the
rest of the project imports those names from.
"""

from model.training.config import TrainConfig, planned_steps, sized_network, step_pace
from model.training.loop import Init, train
from model.training.result import Progress, TrainResult

__all__ = [
    "Init",
    "Progress",
    "TrainConfig",
    "TrainResult",
    "planned_steps",
    "sized_network",
    "step_pace",
    "train",
]
