"""Scoring a model on held-out text: in windows, as one continuous stream (as the bot
generates), and the unigram baseline.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from model.errors import CorpusError
from model.network import CharGenerator
from model.vocab import Vocabulary


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


STREAM_CHARS = 4096  # length of each stream when validation splits a long tail


STREAM_EVAL_CHARS = 200_000  # the final one-stream figure reads at most this much tail


@torch.inference_mode()
def evaluate_stream(
    model: CharGenerator,
    ids: torch.Tensor,
    streams: int = 1,
    max_chars: int | None = None,
    block: int = 1024,
) -> float:
    """Mean cross-entropy (nats/char) of ``ids`` read as continuous streams.

    The LSTM state is carried from one character to the next, as when the bot
    generates, instead of restarting every ``seq_len`` characters. ``streams`` > 1
    cuts the text into that many contiguous pieces read side by side (one batch), each
    from a zero state: the cost of a long tail then grows with its length divided by
    ``streams``. ``max_chars`` evaluates only the first characters of a huge tail.
    """
    n = ids.numel() - 1
    if n < 1:
        raise CorpusError("the text is too short to evaluate: it needs at least 2 characters.")
    if max_chars is not None and n > max_chars:
        n = max_chars
    streams = max(1, min(streams, n))
    length = n // streams
    inputs = ids[: streams * length].view(streams, length)
    targets = ids[1 : streams * length + 1].view(streams, length)
    was_training = model.training
    model.eval()
    hidden = None
    total = 0.0
    for start in range(0, length, block):
        logits, hidden = model(inputs[:, start : start + block], hidden)
        total += float(
            F.cross_entropy(
                logits.reshape(-1, logits.shape[-1]),
                targets[:, start : start + block].reshape(-1),
                reduction="sum",
            )
        )
    model.train(was_training)
    return total / (streams * length)


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
