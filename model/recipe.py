"""Training recipes: the reference one, kept exact, and one that fits the text.

The reference recipe (Adam 3e-3, constant rate, 2000 steps, no regularisation)
memorises a corpus of a few tens of thousands of characters within a few hundred
steps and sees less than one pass of a 10 MB one. The ``fit`` recipe regularises the
same network (dropout on the embedding and the LSTM output, AdamW weight decay), warms
the learning rate up then decays it along a cosine (one cycle), and sizes its step
budget from the text: enough passes for its size, stopped early when validation stops
improving (``patience`` evaluations), and capped by a wall-clock budget. Validation is
measured the way the bot generates, as continuous streams that carry the LSTM state.

Every knob is a :class:`model.train.TrainConfig` field whose default is the reference
value, so the reference flags alone reproduce the reference curve bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

RECIPES = ("reference", "fit")

# What "fit" changes from the reference; anything given explicitly wins over these.
# Chosen by trials on the default corpus (README, "Model quality"): dropout 0.3 / decay
# 0.01 / peak 3e-3 reached 2.918 bits/char, 0.4 / 0.05 2.936, 0.5 / 0.1 3.03,
# 0.35 / 0.02 / peak 6e-3 2.884.
FIT: dict[str, Any] = {
    "lr": 6e-3,
    "weight_decay": 0.02,
    "schedule": "onecycle",
    "auto_steps": True,
    # 10 evaluations (a quarter of the plan): on the default corpus validation plateaus
    # for 8 evaluations before its best; 6 stopped there at 2.900 instead of 2.884.
    "patience": 10,
    "eval_stream": True,
    "time_budget_s": 900.0,
    # Mixing in the n-gram per character, weighted on validation, gained 0.06-0.10
    # bits/char; where it does not help the weight chosen is 1 (the LSTM alone).
    "mixture": True,
}

# A fine-tuning run starts from a model that already writes: a lower peak rate and a
# shorter budget (this share of the passes a fresh run would get).
FINETUNE: dict[str, Any] = {"lr": 2e-3}
FINETUNE_PASS_SHARE = 0.5
# With the previous text given, this share of each batch comes from it (against forgetting).
REPLAY_FRACTION = 0.25

MIN_AUTO_STEPS = 200
MAX_AUTO_STEPS = 60_000
WARMUP_SHARE = 0.05


# The reference-size network needs less regularisation as the text grows: on 24,000
# characters (the default corpus before it was grown) dropout 0.35 plus DropConnect
# 0.3 on the recurrent weights reached 2.826 bits/char against 2.884 without
# DropConnect; on 132,000 (the corpus now) the same network underfits with them: dropout
# 0.35 gave 2.672, 0.15 gave 2.596 (same 4,263 steps), 0.05 overfit (2.64).
# DropConnect 0.4 with dropout 0.2 gave 2.683. Between the two sizes both move on a log
# scale; outside they stay at the end values.
SMALL_TEXT, LARGE_TEXT = 25_000, 130_000
SMALL_TEXT_REGULARISATION = {"dropout": 0.35, "weight_drop": 0.3}
LARGE_TEXT_REGULARISATION = {"dropout": 0.15, "weight_drop": 0.0}


def regularisation(text_chars: int) -> dict[str, float]:
    """Dropout and DropConnect of the fit recipe for a text of ``text_chars``."""
    n = min(LARGE_TEXT, max(SMALL_TEXT, text_chars))
    small = math.log(LARGE_TEXT / n) / math.log(LARGE_TEXT / SMALL_TEXT)  # 1 small, 0 large
    return {
        key: round(
            LARGE_TEXT_REGULARISATION[key] + small * (value - LARGE_TEXT_REGULARISATION[key]), 3
        )
        for key, value in SMALL_TEXT_REGULARISATION.items()
    }


def recipe_overrides(name: str, text_chars: int | None = None) -> dict[str, Any]:
    """The fields ``name`` sets; for "fit", regularised for ``text_chars`` when given
    (else as for a small text, the safe side: early stopping ends an underfit run late,
    an overfit one never recovers)."""
    if name == "reference":
        return {}
    if name == "fit":
        return {**FIT, **regularisation(SMALL_TEXT if text_chars is None else text_chars)}
    raise ValueError(f"unknown recipe {name!r}; choose one of: {', '.join(RECIPES)}")


def passes_for(train_chars: int) -> float:
    """How many passes over the training text a run should budget for.

    Small texts need many passes to learn anything (and early stopping ends them when
    they start memorising); large ones fewer. 24,000 characters get about 155 (the best
    validation came after ~1,700 steps of 2,048 characters in a trial) and 132,000
    about 115 (best after 5,100-7,500 steps in trials; 4,263 steps gave 2.596 bits/char,
    7,400 2.575, 10,000 2.559); beyond that the budget falls as the square root of the
    size: a million get 42, ten million 13 (then the step cap and the wall clock rule).
    """
    n = max(1, train_chars)
    if n <= 132_000:
        return float(min(300.0, 155.0 * (24_000 / n) ** 0.175))
    return max(3.0, 115.0 * math.sqrt(132_000 / n))


def auto_steps(train_chars: int, batch_size: int, seq_len: int, share: float = 1.0) -> int:
    """The step budget of ``--steps auto`` for a training text of ``train_chars``."""
    per_step = batch_size * seq_len
    steps = math.ceil(passes_for(train_chars) * share * train_chars / per_step)
    return max(MIN_AUTO_STEPS, min(MAX_AUTO_STEPS, steps))


def learning_rate(peak: float, schedule: str, step: int, total: int) -> float:
    """The rate at ``step`` (1-based) of ``total``: constant, or linear warm-up + cosine."""
    if schedule == "constant":
        return peak
    warmup = max(1, round(total * WARMUP_SHARE))
    if step <= warmup:
        return peak * step / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    floor = peak * 0.02
    return floor + (peak - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


# The network grows with the text (README, "Model quality", default corpus of 132,000
# training characters): LSTM 128 reached 2.569 bits/char, 256 (embedding 64, dropout
# 0.4, DropConnect 0.25) 2.493, 384 (dropout 0.45, DropConnect 0.3) 2.436; on 26,000
# characters 128 was not short of capacity (its margin over the n-gram held up to
# 66,000). Each size is (text characters from which it is used, hidden, embedding,
# dropout, DropConnect); the regularisation is AWD-LSTM's range for that capacity.
SIZES: tuple[tuple[int, int, int, float, float], ...] = (
    (0, 128, 32, -1.0, -1.0),  # -1: the text-sized regularisation of regularisation()
    (60_000, 256, 64, 0.4, 0.25),
    (100_000, 384, 64, 0.45, 0.3),
    (400_000, 512, 64, 0.5, 0.3),
)
# Share of the wall-clock budget the planned steps may take at the probed pace (the
# rest absorbs validation and a busier machine).
SIZE_BUDGET_SHARE = 0.7


def size_for(
    train_chars: int,
    steps: int,
    time_budget_s: float = 0.0,
    seconds_per_step: Callable[[int, int], float] | None = None,
) -> dict[str, Any]:
    """The network for a text of ``train_chars`` trained for ``steps``: the largest of
    :data:`SIZES` the text calls for, made smaller until the steps fit within
    ``time_budget_s`` (0 = no limit) at the pace ``seconds_per_step(hidden, embed)``
    measured on the device that will train it."""
    fitting = [size for size in SIZES if train_chars >= size[0]]
    chosen = fitting[0]
    for size in reversed(fitting):
        chosen = size
        if time_budget_s <= 0 or seconds_per_step is None or size is fitting[0]:
            break
        if steps * seconds_per_step(size[1], size[2]) <= time_budget_s * SIZE_BUDGET_SHARE:
            break
    _, hidden, embed, dropout, weight_drop = chosen
    fields: dict[str, Any] = {"hidden_size": hidden, "embed_size": embed}
    if dropout >= 0:
        fields.update(dropout=dropout, weight_drop=weight_drop)
    return fields
