"""Should a freshly trained model replace the active one? Pure computation, repeatable.

Two gates. The loss gate compares validation losses on the new text's held-out tail
(the active model only where it knows enough of the text). The alphabet gate exists
because the loss gate cannot see what the active model's users would lose: a model
that knows less than half of the active model's characters is never activated
without an admin pressing "Activate anyway". A run whose own contest found that the
active model as it is beat every candidate (``choice.winner == "base"`` in the new
checkpoint's metrics, see ``model.appraise``) is never activated either. Being pure,
a finishing step resumed after a restart reaches the same verdict again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from model.checkpoint import Checkpoint
from model.errors import CorpusError
from model.scoring import STREAM_EVAL_CHARS, evaluate_known, evaluate_stream
from model.split import split_text

# The old model must know this share of the validation text's characters to be compared.
MIN_COVERAGE = 0.99
# A new model must know this share of the active model's characters to go live by itself.
MIN_SHARED_ALPHABET = 0.5


@dataclass(frozen=True)
class Verdict:
    new_val: float
    old_val: float | None  # None: the active model cannot be compared on this text
    coverage: float  # share of the validation text's characters the active model knows
    shared_alphabet: float  # share of the active model's characters the new model knows
    # both models on the same tail read as one stream (nats/char), for the report
    new_stream: float | None = None
    old_stream: float | None = None
    # the run's contest kept the active model (doing nothing beat every candidate)
    base_won: bool = False

    @property
    def alphabet_ok(self) -> bool:
        return self.shared_alphabet >= MIN_SHARED_ALPHABET

    @property
    def no_worse(self) -> bool:
        if not math.isfinite(self.new_val):
            return False
        return self.old_val is None or self.new_val <= self.old_val + 1e-9

    @property
    def accept(self) -> bool:
        return self.no_worse and self.alphabet_ok and not self.base_won


def shared_alphabet(new: Checkpoint, active: Checkpoint) -> float:
    known = set(active.vocab.itos)
    if not known:
        return 1.0
    return len(known & set(new.vocab.itos)) / len(known)


def judge(
    new: Checkpoint, active: Checkpoint, text: str, val_fraction: float, seq_len: int
) -> Verdict:
    _, val_text = split_text(text, val_fraction)
    if len(val_text) < 2:
        val_text = text
    new_val = loss_on(new, val_text, seq_len)[0]
    old_val, coverage = loss_on(active, val_text, seq_len)
    return Verdict(
        new_val=new_val,
        old_val=old_val if coverage >= MIN_COVERAGE else None,
        coverage=coverage,
        shared_alphabet=shared_alphabet(new, active),
        new_stream=stream_on(new, val_text),
        old_stream=stream_on(active, val_text) if coverage >= MIN_COVERAGE else None,
        base_won=base_won(new),
    )


def base_won(new: Checkpoint) -> bool:
    choice = new.metrics.get("choice")
    return isinstance(choice, dict) and choice.get("winner") == "base"


def stream_on(checkpoint: Checkpoint, text: str) -> float | None:
    """Loss (nats/char) on the characters of ``text`` the model knows, read as one stream."""
    kept = "".join(c for c in text if c in checkpoint.vocab)
    if len(kept) < 2:
        return None
    ids = torch.tensor(
        checkpoint.vocab.encode(kept), dtype=torch.long, device=checkpoint.model.embed.weight.device
    )
    return evaluate_stream(checkpoint.model, ids, max_chars=STREAM_EVAL_CHARS)


def loss_on(checkpoint: Checkpoint, text: str, seq_len: int) -> tuple[float, float]:
    """(loss on the characters the model knows, share of characters it knows)."""
    try:
        loss, kept = evaluate_known(checkpoint.model, checkpoint.vocab, text, seq_len)
    except CorpusError:
        return math.inf, sum(c in checkpoint.vocab for c in text) / max(1, len(text))
    return loss, len(kept) / max(1, len(text))


def users_losing_characters(
    seeds: list[tuple[int, str]], new: Checkpoint, active: Checkpoint
) -> list[int]:
    """Users with a recent seed using a character the active model knows and ``new`` does not."""
    lost = set(active.vocab.itos) - set(new.vocab.itos)
    lost.discard(" ")
    users: dict[int, None] = {}
    for user_id, seed in seeds:
        if user_id not in users and any(ch in lost for ch in seed):
            users[user_id] = None
    return list(users)
