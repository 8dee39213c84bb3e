"""One checkpoint file: weights, config, vocabulary, training metrics and a format version.

Files are loaded with ``weights_only=True`` so a foreign pickle cannot run code, and
written through a temporary file and ``os.replace`` so a crash never leaves half a file.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from model.device import pick_device
from model.errors import CheckpointError
from model.files import write_atomically
from model.mixture import Mixture
from model.network import CharGenerator, ModelConfig
from model.train import TrainResult
from model.vocab import Vocabulary

FORMAT = "charlstm-checkpoint"
FORMAT_VERSION = 1


@dataclass
class Checkpoint:
    model: CharGenerator
    vocab: Vocabulary
    metrics: dict[str, Any] = field(default_factory=dict)
    train_config: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    sha256: str | None = None  # of the file's bytes, when loaded from or saved to disk
    # The n-gram the LSTM is mixed with per character (None: the LSTM alone). Older
    # readers ignore the key, so the format version stays.
    mixture: Mixture | None = None

    @classmethod
    def from_result(cls, result: TrainResult) -> Checkpoint:
        return cls(
            result.model,
            result.vocab,
            result.metrics(),
            result.config.to_dict(),
            mixture=result.mixture,
        )

    def to_payload(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "model_config": self.model.config.to_dict(),
            "vocab": self.vocab.to_list(),
            "state_dict": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "metrics": self.metrics,
            "train_config": self.train_config,
            **({"mixture": self.mixture.to_payload()} if self.mixture is not None else {}),
        }


def save_checkpoint(checkpoint: Checkpoint, path: str | Path) -> str:
    """Write atomically; returns the SHA-256 of the written file."""
    buffer = io.BytesIO()
    torch.save(checkpoint.to_payload(), buffer)
    data = buffer.getvalue()
    target = write_atomically(path, data)
    digest = hashlib.sha256(data).hexdigest()
    checkpoint.path, checkpoint.sha256 = target, digest
    return digest


def load_checkpoint(path: str | Path, device: str | torch.device | None = None) -> Checkpoint:
    """Load onto ``device`` (auto by default); any unusable file is a CheckpointError."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint not found: {p}") from None
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {p}: {exc.strerror}") from None
    dev = device if isinstance(device, torch.device) else pick_device(device)
    try:
        payload = torch.load(io.BytesIO(data), map_location=dev, weights_only=True)
    except Exception:
        raise CheckpointError(
            f"{p} is not a readable checkpoint (corrupt, truncated, or not a torch file)."
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{p} is not a checkpoint of this project.")
    version = payload.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"{p} has checkpoint format version {version}; this program reads version "
            f"{FORMAT_VERSION}."
        )
    try:
        vocab = Vocabulary.from_list(payload["vocab"])
        config = ModelConfig.from_dict(payload["model_config"])
        if config.vocab_size != len(vocab):
            raise ValueError("vocabulary size does not match the model")
        model = CharGenerator.from_config(config)
        model.load_state_dict(payload["state_dict"])
    except Exception as exc:
        raise CheckpointError(f"{p} is damaged: {exc}") from None
    try:
        mixture = Mixture.from_payload(payload.get("mixture"))
    except CheckpointError as exc:
        raise CheckpointError(f"{p}: {exc}") from None
    model.to(dev).eval()
    return Checkpoint(
        model=model,
        vocab=vocab,
        metrics=dict(payload.get("metrics") or {}),
        train_config=dict(payload.get("train_config") or {}),
        path=p,
        sha256=hashlib.sha256(data).hexdigest(),
        mixture=mixture,
    )
