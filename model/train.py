"""Training: the reference loop (random windows, Adam, cross-entropy) plus a held-out tail.

The reference had no validation and its ~0.11 training loss was memorisation; here the
last ``val_fraction`` of the text is never trained on and its loss is what is reported.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from model.device import pick_device
from model.errors import CorpusError
from model.network import CharGenerator
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
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
        }


def split_sizes(n: int, val_fraction: float) -> tuple[int, int]:
    """Characters in the training head and the validation tail of an ``n``-char text."""
    n_val = math.ceil(n * val_fraction) if val_fraction > 0 else 0
    return n - n_val, n_val


def min_corpus_chars(seq_len: int, val_fraction: float) -> int:
    """The shortest text that yields one training window (and a usable validation tail)."""
    n = seq_len + 1
    while True:
        n_train, n_val = split_sizes(n, val_fraction)
        if n_train >= seq_len + 1 and (val_fraction == 0 or n_val >= 2):
            return n
        n += 1


def split_text(text: str, val_fraction: float) -> tuple[str, str]:
    n_train, _ = split_sizes(len(text), val_fraction)
    return text[:n_train], text[n_train:]


def check_corpus_length(text: str, seq_len: int, val_fraction: float) -> None:
    need = min_corpus_chars(seq_len, val_fraction)
    if len(text) < need:
        raise CorpusError(
            f"the text is too short to train on: {len(text)} characters after normalisation, "
            f"at least {need} are needed for one training window of {seq_len} characters"
            + (f" plus a {val_fraction:.0%} validation tail." if val_fraction else ".")
        )


def unigram_loss(train_text: str, val_text: str) -> float:
    """Cross-entropy (nats/char) of ``val_text`` under add-one character frequencies of
    ``train_text``: the floor any model that has learnt something must beat."""
    counts: dict[str, int] = {}
    for ch in train_text:
        counts[ch] = counts.get(ch, 0) + 1
    alphabet = set(train_text) | set(val_text)
    total = len(train_text) + len(alphabet)
    return -sum(math.log((counts.get(ch, 0) + 1) / total) for ch in val_text) / len(val_text)


@torch.inference_mode()
def evaluate(
    model: CharGenerator, ids: torch.Tensor, seq_len: int, max_windows: int | None = None
) -> float:
    """Mean cross-entropy (nats/char) over consecutive windows of ``ids`` (1-D, on device)."""
    n = ids.numel() - 1
    if n < 1:
        raise CorpusError("the text is too short to evaluate: it needs at least 2 characters.")
    window = min(seq_len, n)
    count = n // window
    if max_windows is not None:
        count = min(count, max_windows)
    was_training = model.training
    model.eval()
    total, chars = 0.0, 0
    for start in range(0, count, 256):
        rows = torch.arange(start, min(count, start + 256), device=ids.device) * window
        idx = rows.unsqueeze(1) + torch.arange(window + 1, device=ids.device)
        chunk = ids[idx]
        logits, _ = model(chunk[:, :-1])
        loss = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), chunk[:, 1:].reshape(-1), reduction="sum"
        )
        total += float(loss)
        chars += chunk[:, 1:].numel()
    model.train(was_training)
    return total / chars


def evaluate_known(
    model: CharGenerator, vocab: Vocabulary, text: str, seq_len: int
) -> tuple[float, str]:
    """Loss on the characters of ``text`` the model knows, and those characters.

    Characters outside the vocabulary are skipped (a model cannot be scored on them);
    callers report how many. Raises CorpusError when fewer than 2 are known.
    """
    kept = "".join(c for c in text if c in vocab)
    if len(kept) < 2:
        raise CorpusError(
            "the text has fewer than 2 characters the model knows; nothing to evaluate."
        )
    device = model.embed.weight.device
    ids = torch.tensor(vocab.encode(kept), dtype=torch.long, device=device)
    return evaluate(model, ids, seq_len), kept


def train(
    text: str,
    config: TrainConfig | None = None,
    device: str | torch.device | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train a fresh CharGenerator on ``text``; raises CorpusError for unusable text."""
    config = config or TrainConfig()
    text = normalize_text(text)
    check_corpus_length(text, config.seq_len, config.val_fraction)
    dev = device if isinstance(device, torch.device) else pick_device(device)
    vocab = Vocabulary.from_text(text)
    train_text, val_text = split_text(text, config.val_fraction)

    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    train_ids = torch.tensor(vocab.encode(train_text), dtype=torch.long)
    val_ids = (
        torch.tensor(vocab.encode(val_text), dtype=torch.long, device=dev) if val_text else None
    )
    model = CharGenerator(len(vocab), config.embed_size, config.hidden_size, config.num_layers).to(
        dev
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    offsets = torch.arange(config.seq_len + 1)
    n_starts = train_ids.numel() - config.seq_len

    history: list[dict[str, float | int | None]] = []
    first_loss = math.nan
    running, running_n = 0.0, 0
    val_loss: float | None = None
    best: tuple[float, int, dict[str, torch.Tensor]] | None = None
    train_loss = math.nan
    started = time.perf_counter()
    model.train()
    for step in range(1, config.steps + 1):
        if should_stop is not None and should_stop():
            raise InterruptedError("training was stopped")
        starts = torch.randint(0, n_starts, (config.batch_size,), generator=gen)
        batch = train_ids[starts.unsqueeze(1) + offsets].to(dev, non_blocking=True)
        logits, _ = model(batch[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        if config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()

        value = loss.item()
        if step == 1:
            first_loss = value
        running += value
        running_n += 1
        is_eval = val_ids is not None and (step % config.eval_every == 0 or step == config.steps)
        if step % config.log_every == 0 or step == config.steps or step == 1 or is_eval:
            train_loss = running / running_n
            running, running_n = 0.0, 0
            val_now = None
            if is_eval and val_ids is not None:
                val_now = evaluate(model, val_ids, config.seq_len, config.max_val_windows)
                val_loss = val_now
                if config.keep_best and (best is None or val_now < best[0]):
                    weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
                    best = (val_now, step, weights)
                model.train()
            elapsed = time.perf_counter() - started
            eta = elapsed / step * (config.steps - step)
            history.append({"step": step, "train_loss": train_loss, "val_loss": val_now})
            if on_progress is not None:
                on_progress(Progress(step, config.steps, train_loss, val_now, elapsed, eta))

    last_val = val_loss
    best_step = None
    if best is not None:
        val_loss, best_step, weights = best
        model.load_state_dict(weights)
    model.eval()
    baseline = unigram_loss(train_text, val_text) if val_text else None
    return TrainResult(
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
        unigram_val_loss=baseline,
        best_step=best_step,
        last_val_loss=last_val,
    )
