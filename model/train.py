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
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import torch
import torch.nn.functional as F

from model.device import pick_device
from model.grow import grow
from model.mixture import Mixture, fit_mixture
from model.network import CharGenerator
from model.ngram import best_ngram
from model.recipe import (
    FINETUNE_PASS_SHARE,
    auto_steps,
    learning_rate,
    recipe_overrides,
    size_for,
)
from model.scoring import (
    STREAM_CHARS,
    STREAM_EVAL_CHARS,
    evaluate,
    evaluate_stream,
    unigram_loss,
)
from model.split import (
    check_corpus_length,
    part_sizes,
    split_parts,
)
from model.text import normalize_text, sha256_text
from model.vocab import Vocabulary


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


@dataclass(frozen=True)
class Progress:
    step: int
    total_steps: int
    train_loss: float
    val_loss: float | None
    elapsed_s: float
    eta_s: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainResult:
    model: CharGenerator
    vocab: Vocabulary
    config: TrainConfig
    train_loss: float
    val_loss: float | None
    first_loss: float
    corpus_sha256: str
    corpus_chars: int
    elapsed_s: float
    history: list[dict[str, float | int | None]] = field(default_factory=list)
    unigram_val_loss: float | None = None
    best_step: int | None = None
    last_val_loss: float | None = None
    steps_run: int = 0
    stopped: str = "budget"  # "budget" (all steps), "early" (patience), "time" (wall clock)
    val_stream_loss: float | None = None  # the kept weights, the tail as one stream
    val_window_loss: float | None = None  # the kept weights, consecutive windows
    ngram_val_loss: float | None = None
    ngram_order: int | None = None
    finetuned_from_chars: int | None = None  # vocabulary size of the model fine-tuned
    added_chars: str = ""  # characters the vocabulary grew by
    mixture: Mixture | None = None

    def metrics(self) -> dict[str, Any]:
        return {
            "train_loss": self.train_loss,
            "val_loss": self.val_loss,
            "first_loss": self.first_loss,
            "steps": self.config.steps,
            "corpus_sha256": self.corpus_sha256,
            "corpus_chars": self.corpus_chars,
            "elapsed_s": self.elapsed_s,
            "history": self.history,
            "unigram_val_loss": self.unigram_val_loss,
            "best_step": self.best_step,
            "last_val_loss": self.last_val_loss,
            "recipe": self.config.recipe,
            "steps_run": self.steps_run,
            "stopped": self.stopped,
            "val_stream_loss": self.val_stream_loss,
            "val_window_loss": self.val_window_loss,
            "ngram_val_loss": self.ngram_val_loss,
            "ngram_order": self.ngram_order,
            "finetuned": self.finetuned_from_chars is not None,
            "finetuned_from_vocab": self.finetuned_from_chars,
            "added_chars": self.added_chars,
            "mixture_val_loss": None if self.mixture is None else self.mixture.validation_loss,
            "mixture_order": None if self.mixture is None else self.mixture.order,
            "mixture_weight": None if self.mixture is None else self.mixture.weight,
            "mixture_form": None if self.mixture is None else self.mixture.form,
            "test_fraction": self.config.test_fraction,
        }


def planned_steps(config: TrainConfig, text_chars: int, finetune: bool = False) -> int:
    """The steps a run on a (normalised) text of ``text_chars`` plans before it starts:
    ``config.steps``, or with ``auto_steps`` the budget sized from its training part."""
    if not config.auto_steps:
        return config.steps
    n_train, _, _ = part_sizes(text_chars, config.val_fraction, config.test_fraction)
    share = FINETUNE_PASS_SHARE if finetune else 1.0
    return auto_steps(n_train, config.batch_size, config.seq_len, share)


Init = tuple[CharGenerator, Vocabulary]


def _validate(
    model: CharGenerator, val_ids: torch.Tensor, config: TrainConfig, max_chars: int
) -> float:
    if config.eval_stream:
        streams = max(1, math.ceil(min(val_ids.numel() - 1, max_chars) / STREAM_CHARS))
        return evaluate_stream(model, val_ids, streams, max_chars)
    return evaluate(model, val_ids, config.seq_len, config.max_val_windows)


def _start_model(
    text: str, config: TrainConfig, init: Init | None, replay_text: str | None
) -> tuple[CharGenerator, Vocabulary, Init | None]:
    if init is None:
        vocab = Vocabulary.from_text(text)
        model = CharGenerator(
            len(vocab),
            config.embed_size,
            config.hidden_size,
            config.num_layers,
            config.dropout,
            config.weight_drop,
        )
        return model, vocab, None
    old_model, old_vocab = init
    vocab = old_vocab.extended(text + (replay_text or ""))
    return (
        grow(old_model, old_vocab, vocab, config.seed, config.dropout, config.weight_drop),
        vocab,
        init,
    )


def train(
    text: str,
    config: TrainConfig | None = None,
    device: str | torch.device | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    init: Init | None = None,
    replay_text: str | None = None,
) -> TrainResult:
    """Train a CharGenerator on ``text``; raises CorpusError for unusable text.

    With ``init`` (a trained model and its vocabulary) training starts from those
    weights, the vocabulary grown by the characters of ``text`` it lacks (the network's
    sizes are then the init model's). ``replay_text`` (the previous corpus) supplies
    ``config.replay_fraction`` of each batch, so fine-tuning does not forget it.
    """
    config = config or TrainConfig()
    text = normalize_text(text)
    check_corpus_length(text, config.seq_len, config.val_fraction, config.test_fraction)
    dev = device if isinstance(device, torch.device) else pick_device(device)
    replay_text = normalize_text(replay_text) if replay_text else None
    # The test part is cut off here and never looked at again in this function: not
    # by the vocabulary, the validation, the best step or the baseline.
    train_text, val_text, test_text = split_parts(text, config.val_fraction, config.test_fraction)
    seen = text[: len(text) - len(test_text)]

    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    model, vocab, start = _start_model(seen, config, init, replay_text)
    model = model.to(dev)
    train_ids = torch.tensor(vocab.encode(train_text), dtype=torch.long)
    val_ids = (
        torch.tensor(vocab.encode(val_text), dtype=torch.long, device=dev) if val_text else None
    )
    replay_ids = None
    replay_rows = round(config.batch_size * config.replay_fraction)
    if replay_text and replay_rows > 0 and len(replay_text) > config.seq_len + 1:
        replay_ids = torch.tensor(vocab.encode(replay_text), dtype=torch.long)
    if config.weight_decay > 0:
        optimizer: torch.optim.Optimizer = torch.optim.AdamW(
            model.parameters(), lr=config.lr, weight_decay=config.weight_decay
        )
    else:  # the reference optimiser, exactly
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    offsets = torch.arange(config.seq_len + 1)
    n_starts = train_ids.numel() - config.seq_len

    total = planned_steps(config, len(text), finetune=init is not None)
    eval_every = max(10, total // 40) if config.auto_steps else config.eval_every
    planned = total
    max_val_chars = config.max_val_windows * config.seq_len

    average = None
    if config.ema > 0:
        average = {k: v.detach().clone() for k, v in model.state_dict().items()}
    history: list[dict[str, float | int | None]] = []
    first_loss = math.nan
    running, running_n = 0.0, 0
    val_loss: float | None = None
    best: tuple[float, int, dict[str, torch.Tensor]] | None = None
    since_best = 0
    stopped = "budget"
    train_loss = math.nan
    started = time.perf_counter()
    model.train()
    step = 0
    shown = 0.0  # the share of the run last reported (step / total)
    while step < total:
        step += 1
        if should_stop is not None and should_stop():
            raise InterruptedError("training was stopped")
        if config.schedule != "constant":
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(config.lr, config.schedule, step, total)
        starts = torch.randint(0, n_starts, (config.batch_size,), generator=gen)
        batch = train_ids[starts.unsqueeze(1) + offsets]
        if replay_ids is not None:
            others = torch.randint(
                0, replay_ids.numel() - config.seq_len, (replay_rows,), generator=gen
            )
            batch[:replay_rows] = replay_ids[others.unsqueeze(1) + offsets]
        batch = batch.to(dev, non_blocking=True)
        logits, _ = model(batch[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        if config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        if average is not None:
            decay = min(config.ema, (1 + step) / (10 + step))  # short memory at first
            with torch.no_grad():
                for key, value in model.state_dict().items():
                    average[key].lerp_(value, 1.0 - decay)

        value = loss.item()
        if step == 1:
            first_loss = value
        running += value
        running_n += 1
        elapsed = time.perf_counter() - started
        if config.time_budget_s > 0 and step < total and (step >= 20 or elapsed > 2.0):
            # Fit the plan into the wall-clock budget at the average pace so far, so the
            # schedule still ends in time; re-estimated at every step, so a slow start
            # (a busy machine) does not cut the run for good. Never beyond the plan.
            fits = max(step, int(config.time_budget_s / (elapsed / step)))
            if shown > 0:  # but never so far that the share of the run reported goes back
                fits = min(fits, max(step, int(step / shown)))
            total = min(planned, fits)
            stopped = "time" if total < planned else "budget"
        is_eval = val_ids is not None and (step % eval_every == 0 or step == total)
        if step % config.log_every == 0 or step == total or step == 1 or is_eval:
            train_loss = running / running_n
            running, running_n = 0.0, 0
            val_now = None
            if is_eval and val_ids is not None:
                live = None
                if average is not None:  # judge (and keep) the averaged weights
                    live = {k: v.detach().clone() for k, v in model.state_dict().items()}
                    model.load_state_dict(average)
                val_now = _validate(model, val_ids, config, max_val_chars)
                val_loss = val_now
                if config.keep_best and (best is None or val_now < best[0]):
                    weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
                    best = (val_now, step, weights)
                    since_best = 0
                else:
                    since_best += 1
                if live is not None:
                    model.load_state_dict(live)
                model.train()
            if config.patience and since_best >= config.patience and step < total:
                total = planned = step
                stopped = "early"
            elapsed = time.perf_counter() - started
            eta = elapsed / step * (total - step)
            history.append({"step": step, "train_loss": train_loss, "val_loss": val_now})
            shown = step / total
            if on_progress is not None:
                on_progress(Progress(step, total, train_loss, val_now, elapsed, eta))

    last_val = val_loss
    best_step = None
    if best is not None:
        val_loss, best_step, weights = best
        model.load_state_dict(weights)
    model.eval()
    result = TrainResult(
        model=model,
        vocab=vocab,
        config=config,
        train_loss=train_loss,
        val_loss=val_loss,
        first_loss=first_loss,
        corpus_sha256=sha256_text(text),
        corpus_chars=len(text),
        elapsed_s=time.perf_counter() - started,
        history=history,
        unigram_val_loss=unigram_loss(train_text, val_text) if val_text else None,
        best_step=best_step,
        last_val_loss=last_val,
        steps_run=step,
        stopped=stopped,
        finetuned_from_chars=None if start is None else len(start[1]),
        added_chars="" if start is None else "".join(vocab.itos[len(start[1]) :]),
    )
    if val_ids is not None and val_ids.numel() >= 2:
        result.val_stream_loss = evaluate_stream(model, val_ids, max_chars=STREAM_EVAL_CHARS)
        result.val_window_loss = evaluate(model, val_ids, config.seq_len, config.max_val_windows)
        baseline = best_ngram(train_text, val_text)
        result.ngram_val_loss, result.ngram_order = baseline.loss, baseline.order
        if config.mixture:
            result.mixture = fit_mixture(model, vocab, train_text, val_text)
    return result
