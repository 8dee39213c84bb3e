"""How a /retrain trains: fine-tune the active model, or start fresh.

Fine-tuning starts from the active model's weights, its vocabulary grown by the new
text's characters (``python -m model train --init``), for a shorter budget, with a
quarter of each batch drawn from the previous corpus so the model does not forget it
(``--replay-corpus``). It pays off when the new text mostly shares the active model's
characters and the network has the configured sizes; otherwise training from scratch
is the honest choice. The admin decides with ``/retrain finetune`` or ``/retrain
fresh``; without either, ``RETRAIN_METHOD`` (``auto`` by default) decides by the rule in
:func:`choose`.

The plan travels in the run's ``settings`` JSON (no schema change), so the training
job (and a trainer on another host) reads it from the row, and the settings key that
detects "same text, same settings" distinguishes a fine-tune from a fresh run.
The outcome message's quality lines (:func:`quality_lines`) come from the metrics the
trainer wrote into the checkpoint: the new model's bits/char on the new text's
validation tail read as one stream, and the n-gram baseline's on the same tail.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.settings.config import Settings
from bot.storage import Corpus, Storage, TrainingRun
from bot.storage.schema import CorpusSource
from bot.texts import t
from bot.training.finishing import Finished
from model.checkpoint import Checkpoint

METHODS = ("finetune", "fresh")
# The keys of a plan in a run's settings JSON.
PLAN_KEYS = frozenset(
    {"method", "init_checkpoint", "init_sha256", "init_version", "replay_corpus", "replay_sha256"}
)
# Fine-tune by default only when the active model knows this share of the new text.
MIN_KNOWN_SHARE = 0.95
LN2 = math.log(2)


@dataclass(frozen=True)
class Plan:
    method: str  # "finetune" or "fresh"
    requested: str  # "auto", "finetune" or "fresh"
    known_share: float  # share of the new text's characters the active model knows
    init_checkpoint: str | None = None
    init_sha256: str | None = None
    init_version: int | None = None
    replay_corpus: str | None = None

    def settings(self) -> dict[str, Any]:
        """What goes into the run's settings JSON (and so into its settings key)."""
        if self.method != "finetune":
            return {"method": "fresh"}
        return {
            "method": "finetune",
            "init_checkpoint": self.init_checkpoint,
            "init_sha256": self.init_sha256,
            "init_version": self.init_version,
            "replay_corpus": self.replay_corpus,
        }


def known_share(checkpoint: Checkpoint, text: str) -> float:
    if not text:
        return 0.0
    return sum(c in checkpoint.vocab for c in text) / len(text)


def choose(
    requested: str,
    *,
    active: Checkpoint | None,
    active_version: int | None,
    text: str,
    sizes: tuple[int, int],
    replay_corpus: str | None,
) -> Plan:
    """The plan for training on ``text``; ``requested`` is auto, finetune or fresh.

    ``sizes`` are the configured (embedding, hidden) sizes; ``replay_corpus`` the file
    of the previous text to mix in (None when the new corpus already contains it).
    """
    share = known_share(active, text) if active is not None else 0.0
    usable = active is not None and active.path is not None and active_version is not None
    if requested == "fresh" or not usable:
        return Plan("fresh", requested, share)
    assert active is not None
    cfg = active.model.config
    if requested == "auto" and (
        share < MIN_KNOWN_SHARE or (cfg.embed_size, cfg.hidden_size) != sizes
    ):
        return Plan("fresh", requested, share)
    return Plan(
        "finetune",
        requested,
        share,
        init_checkpoint=str(active.path),
        init_sha256=active.sha256,
        init_version=active_version,
        replay_corpus=replay_corpus,
    )


def _bits(metrics: Mapping[str, Any], key: str) -> float | None:
    value = metrics.get(key)
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value) / LN2
    return None


def quality_summary(metrics: Mapping[str, Any]) -> str:
    """One log line: the model and its n-gram baseline on the validation tail."""
    model, ngram = _bits(metrics, "val_stream_loss"), _bits(metrics, "ngram_val_loss")
    if model is None or ngram is None:
        return "no validation tail, no bits/char figures"
    verdict = "below" if model < ngram else "NOT below"
    return (
        f"{model:.3f} bits/char on the validation tail as one stream, {verdict} the "
        f"Kneser-Ney {metrics.get('ngram_order')}-gram baseline's {ngram:.3f}"
    )


def quality_lines(
    lang: str | None,
    metrics: Mapping[str, Any],
    plan: Mapping[str, Any],
    active_bits: float | None = None,
) -> list[str]:
    """The outcome message's lines on how the run trained and how good the result is."""
    lines = []
    if plan.get("method") == "finetune":
        added = str(metrics.get("added_chars") or "")
        lines.append(
            t(
                lang,
                "retrain_finetuned",
                version=plan.get("init_version"),
                added=len(added),
                chars=" ".join(added[:30]) or "-",
            )
        )
    elif plan.get("method") == "fresh":
        lines.append(t(lang, "retrain_fresh"))
    model, ngram = _bits(metrics, "val_stream_loss"), _bits(metrics, "ngram_val_loss")
    if model is None or ngram is None:
        return lines
    lines.append(
        t(
            lang,
            "retrain_quality",
            model=f"{model:.3f}",
            ngram=f"{ngram:.3f}",
            order=metrics.get("ngram_order"),
            active=t(lang, "n_a") if active_bits is None else f"{active_bits:.3f}",
        )
    )
    if model >= ngram:
        lines.append(t(lang, "retrain_not_below_ngram", gap=f"{model - ngram:.3f}"))
    return lines


def parse_words(words: list[str]) -> tuple[str, str | None] | None:
    """``/retrain``'s words as (mode, method); None when they make no sense.

    mode: "" (the text given, or the current corpus), "append" or "cancel"; method:
    "finetune", "fresh" or None (RETRAIN_METHOD decides), in any order.
    """
    methods = [w for w in words if w in METHODS]
    rest = [w for w in words if w not in METHODS]
    mode = rest[0] if rest else ""
    if len(methods) > 1 or len(rest) > 1 or mode not in ("", "append", "cancel"):
        return None
    if mode == "cancel" and methods:
        return None
    return mode, (methods[0] if methods else None)


def plan_settings(
    settings: Settings,
    requested: str | None,
    active: tuple[Checkpoint, int] | None,
    corpus: Corpus,
    current: Corpus | None,
    text: str,
) -> dict[str, Any]:
    """The run's plan for training on ``corpus`` (its ``text``), as settings JSON.

    The previous text is mixed in only when the new corpus replaces it (an upload);
    an appended corpus already contains it, and a retrain on the current corpus is it.
    A plain ``/retrain`` on the current corpus trains from scratch unless ``finetune``
    is asked for: the active model has already learnt that very text.
    """
    if requested is None and current is not None and current.id == corpus.id:
        requested = "fresh"
    replay = None
    if corpus.source is CorpusSource.UPLOAD and current is not None and current.id != corpus.id:
        replay = current.path
    plan = choose(
        requested or settings.retrain_method,
        active=active[0] if active else None,
        active_version=active[1] if active else None,
        text=text,
        sizes=(settings.retrain_embed_size, settings.retrain_hidden_size),
        replay_corpus=replay,
    )
    chosen = plan.settings()
    if chosen.get("replay_corpus") and current is not None:
        # A trainer on another host fetches the previous text by its hash.
        chosen["replay_sha256"] = current.sha256
    return chosen


async def outcome_lines(storage: Storage, run: TrainingRun, details: Finished | None) -> list[str]:
    """The outcome message's issue-13 lines, in the language of the admin who started it."""
    if details is None or details.checkpoint is None:
        return []
    try:
        user = await storage.get_user(run.started_by) if run.started_by else None
    except Exception:  # a language is not worth failing the outcome message for
        user = None
    lang = user.language_code if user is not None else None
    metrics = dict(details.checkpoint.metrics)
    verdict = details.verdict
    if verdict is not None and verdict.new_stream is not None:
        metrics["val_stream_loss"] = verdict.new_stream  # the same tail as the active's
    active = None
    if verdict is not None and verdict.old_stream is not None:
        active = verdict.old_stream / LN2
    return quality_lines(lang, metrics, run.settings, active)
