"""What a training run reports: :class:`Progress` after each logged step, and
:class:`TrainResult` at the end.

The reference had no validation and its ~0.11 training loss was memorisation; the loss
reported here is that of the held-out validation tail. The result also carries the kept
weights measured on that tail both ways (continuous stream and windows) next to the
unigram and Kneser-Ney n-gram baselines (:mod:`model.ngram`), so every report can say
whether the network beat counting; :meth:`TrainResult.metrics` is what the checkpoint
stores.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from model.mixture import Mixture
from model.network import CharGenerator
from model.training.config import TrainConfig
from model.vocab import Vocabulary


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
