"""The configuration of a training run: :class:`TrainConfig`, its checks, and the step
budget and network size it plans for a text.

The reference loop (random windows, Adam, cross-entropy) is what the defaults describe. The
fit recipe (:mod:`model.recipe`) adds, each behind a field whose default is the reference
value (so the reference flags still give the reference curve bit for bit): dropout, AdamW
weight decay, a warm-up + cosine learning-rate schedule, a step budget sized from the text
(``auto_steps``) with early stopping and a wall-clock cap, validation as continuous
streams, replay of the previous text while fine-tuning, weight averaging, a test part held
out from every choice and an n-gram mixture. Every value is checked when the config is
made, so a bad flag is one line before any work starts.

With the fit recipe and a known text size the network is sized from the text and, under a
wall-clock cap, from the pace of the device, measured on a few steps (:func:`step_pace`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F

from model.device import pick_device
from model.network import CharGenerator
from model.recipe import (
    FINETUNE_PASS_SHARE,
    auto_steps,
    recipe_overrides,
    size_for,
)
from model.split import part_sizes


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 2000
    seq_len: int = 64
    batch_size: int = 32
    lr: float = 3e-3
    val_fraction: float = 0.1
    eval_every: int = 100
    log_every: int = 10
    grad_clip: float = 5.0  # generous: it only stops rare exploding steps
    seed: int = 1337
    embed_size: int = 32
    hidden_size: int = 128
    num_layers: int = 1
    max_val_windows: int = 512  # caps validation cost on very large corpora
    # Return the weights of the best validation loss seen, not the last step's: the
    # reference recipe (2000 steps) overfits a corpus of a few tens of thousands of
    # characters long before it ends.
    keep_best: bool = True
    # the "fit" recipe (model/recipe.py); each default is the reference value.
    recipe: str = "reference"  # a label for reports; the fields below are what count
    dropout: float = 0.0
    weight_drop: float = 0.0  # DropConnect on the LSTM's hidden-to-hidden weights
    weight_decay: float = 0.0  # > 0 switches Adam to AdamW
    schedule: str = "constant"  # or "onecycle": linear warm-up, cosine decay
    auto_steps: bool = False  # size the budget from the text (``steps`` is then ignored)
    patience: int = 0  # stop after this many evaluations without a better one; 0 = never
    eval_stream: bool = False  # validate as continuous streams (as the bot generates)
    time_budget_s: float = 0.0  # wall-clock cap on the training loop; 0 = none
    replay_fraction: float = 0.0  # share of each batch drawn from the replay text
    # Validate (and keep) an exponential moving average of the weights with this decay;
    # 0 = off. Averaging smooths the noise of small batches on a small text.
    ema: float = 0.0
    # A test part after the validation tail: held out from training and from every
    # choice (early stopping, the best step, the n-gram's order, the mixture weight), so
    # the figures reported on it are not flattered by having been used to choose.
    # 0 (the reference) keeps the text split in two exactly as before.
    test_fraction: float = 0.0
    # Fit an n-gram mixture (model/mixture.py) on the validation part after training;
    # the checkpoint then carries it and the engine samples from the mixture.
    mixture: bool = False

    def __post_init__(self) -> None:
        checks = [
            (self.steps >= 1, "steps must be at least 1"),
            (self.seq_len >= 1, "seq-len must be at least 1"),
            (self.batch_size >= 1, "batch-size must be at least 1"),
            (math.isfinite(self.lr) and self.lr > 0, "lr must be a positive number"),
            (0.0 <= self.val_fraction < 0.9, "val-fraction must be in [0, 0.9)"),
            (self.eval_every >= 1 and self.log_every >= 1, "eval/log intervals must be >= 1"),
            (self.grad_clip >= 0, "grad-clip must be >= 0 (0 turns it off)"),
            (min(self.embed_size, self.hidden_size, self.num_layers) >= 1, "sizes must be >= 1"),
            (0.0 <= self.dropout < 1.0, "dropout must be in [0, 1)"),
            (0.0 <= self.weight_drop < 1.0, "weight-drop must be in [0, 1)"),
            (
                math.isfinite(self.weight_decay) and self.weight_decay >= 0,
                "weight-decay must be >= 0",
            ),
            (self.schedule in ("constant", "onecycle"), "schedule must be constant or onecycle"),
            (self.patience >= 0, "patience must be >= 0 (0 turns early stopping off)"),
            (
                math.isfinite(self.time_budget_s) and self.time_budget_s >= 0,
                "time-budget must be >= 0 seconds (0 = none)",
            ),
            (0.0 <= self.replay_fraction < 1.0, "replay-fraction must be in [0, 1)"),
            (0.0 <= self.ema < 1.0, "ema must be in [0, 1)"),
            (
                0.0 <= self.test_fraction < 0.5 and self.val_fraction + self.test_fraction < 0.9,
                "test-fraction must be in [0, 0.5) and leave at least 10% of the text to train on",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def for_recipe(
        cls,
        recipe: str,
        steps: int | str = "auto",
        text_chars: int | None = None,
        device: str | torch.device | None = None,
        **fields: Any,
    ) -> TrainConfig:
        """The recipe's values (for a text of ``text_chars``), then ``steps`` (a number,
        or "auto"), then ``fields``. With the fit recipe, a known text size and no sizes
        in ``fields``, the network is sized from the text and from the pace of
        ``device`` (:func:`model.recipe.size_for`)."""
        values: dict[str, Any] = {**recipe_overrides(recipe, text_chars), "recipe": recipe}
        if steps == "auto":
            values["auto_steps"] = True
        else:
            values.update(steps=int(steps), auto_steps=False)
        values.update(fields)
        config = cls(**values)
        if recipe == "fit" and text_chars and not {"hidden_size", "embed_size"} & set(fields):
            sized = sized_network(config, text_chars, device)
            explicit = {k: v for k, v in fields.items() if k in ("dropout", "weight_drop")}
            config = replace(config, **{**sized, **explicit})
        return config


def step_pace(
    config: TrainConfig, vocab_size: int, device: str | torch.device | None = None
) -> Callable[[int, int], float]:
    """Seconds one training step of a network of (hidden, embedding) sizes takes on
    ``device``, measured on a few steps of random data (the global RNG is left as it was)."""
    dev = device if isinstance(device, torch.device) else pick_device(device)

    def pace(hidden: int, embed: int) -> float:
        with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
            model = CharGenerator(vocab_size, embed, hidden, config.num_layers, 0.3, 0.3).to(dev)
            optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
            batch = torch.randint(0, vocab_size, (config.batch_size, config.seq_len + 1))
            batch = batch.to(dev)
            times = []
            for _ in range(4):
                started = time.perf_counter()
                logits, _ = model(batch[:, :-1])
                loss = F.cross_entropy(logits.reshape(-1, vocab_size), batch[:, 1:].reshape(-1))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()  # type: ignore[no-untyped-call]
                optimizer.step()
                float(loss)  # waits for the device
                times.append(time.perf_counter() - started)
        return min(times[1:])  # the first step pays one-off costs

    return pace


def sized_network(
    config: TrainConfig, text_chars: int, device: str | torch.device | None = None
) -> dict[str, Any]:
    """The network sizes (and their regularisation) for a text of ``text_chars``."""
    n_train, _, _ = part_sizes(text_chars, config.val_fraction, config.test_fraction)
    steps = planned_steps(config, text_chars)
    pace = step_pace(config, 64, device) if config.time_budget_s > 0 else None
    return size_for(n_train, steps, config.time_budget_s, pace)


def planned_steps(config: TrainConfig, text_chars: int, finetune: bool = False) -> int:
    """The steps a run on a (normalised) text of ``text_chars`` plans before it starts:
    ``config.steps``, or with ``auto_steps`` the budget sized from its training part."""
    if not config.auto_steps:
        return config.steps
    n_train, _, _ = part_sizes(text_chars, config.val_fraction, config.test_fraction)
    share = FINETUNE_PASS_SHARE if finetune else 1.0
    return auto_steps(n_train, config.batch_size, config.seq_len, share)
