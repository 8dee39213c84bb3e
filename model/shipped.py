"""The default model shipped with the repository, checked before it is served.

Why: a network big enough to write well takes tens of minutes to train on a CPU, far
too long for a first start. ``make train-default`` trains it once, reproducibly, and
the repository carries the file (``data/default-model.pt``) with its SHA-256 beside it
(``data/default-model.pt.sha256``, ``sha256sum`` format). At first start the bot calls
:func:`load_shipped`: it serves the file only if its bytes are the recorded ones and
it was trained on the very corpus the bot is configured with; otherwise it gets one
line saying why, and trains as before.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from model.checkpoint import Checkpoint, load_checkpoint
from model.errors import CheckpointError
from model.text import normalize_text, sha256_text

SHIPPED_MODEL = Path(__file__).resolve().parent.parent / "data" / "default-model.pt"


def checksum_path(path: str | Path) -> Path:
    p = Path(path)
    return p.with_name(p.name + ".sha256")


def write_checksum(path: str | Path) -> str:
    """Record the SHA-256 of ``path`` beside it (``sha256sum`` format); returns it."""
    p = Path(path)
    digest = hashlib.sha256(p.read_bytes()).hexdigest()
    checksum_path(p).write_text(f"{digest}  {p.name}\n", encoding="utf-8")
    # Checkpoints are written owner-only (atomic writes go through mkstemp); a shipped one
    # is read by other users, such as the image's unprivileged bot user.
    for shipped in (p, checksum_path(p)):
        shipped.chmod(0o644)
    return digest


def load_shipped(
    path: str | Path, corpus_text: str, device: str | torch.device | None = None
) -> Checkpoint | str:
    """The shipped checkpoint at ``path``, or one line saying why it cannot be served.

    It can be served when the file exists, its SHA-256 is the one recorded beside it,
    it loads as a checkpoint, and the corpus SHA-256 recorded in it is that of
    ``corpus_text`` (the text the bot is configured to train on, normalised as training
    normalises it).
    """
    p = Path(path)
    if not p.is_file():
        return f"no shipped model at {p}"
    try:
        recorded = checksum_path(p).read_text(encoding="utf-8").split()[0].lower()
    except (OSError, IndexError):
        return f"the shipped model's checksum file {checksum_path(p)} is missing or empty"
    try:
        actual = hashlib.sha256(p.read_bytes()).hexdigest()
    except OSError as exc:
        return f"cannot read the shipped model {p}: {exc.strerror}"
    if actual != recorded:
        return (
            f"the shipped model {p} is damaged: its SHA-256 is {actual[:12]}…, "
            f"{checksum_path(p).name} records {recorded[:12]}…"
        )
    try:
        checkpoint = load_checkpoint(p, device)
    except CheckpointError as exc:
        return f"the shipped model cannot be loaded: {exc}"
    trained_on = checkpoint.metrics.get("corpus_sha256")
    wanted = sha256_text(normalize_text(corpus_text))
    if trained_on != wanted:
        return (
            f"the shipped model {p} was trained on another corpus (SHA-256 "
            f"{str(trained_on)[:12]}…) than the configured one ({wanted[:12]}…)"
        )
    return checkpoint
