"""How a /retrain trains: fine-tune the active model, or start fresh.

Fine-tuning starts from the active model's weights, its vocabulary grown by the new
text's characters (``python -m model train --init``), for a shorter budget, with a
quarter of each batch drawn from the previous corpus so the model does not forget it
(``--replay-corpus``). Whether that pays off is measured, not guessed: the admin
decides with ``/retrain finetune`` or ``/retrain fresh``; without either,
``RETRAIN_METHOD=auto`` (the default) makes the run a contest (:func:`choose`): both
candidates are trained, and ``python -m model.appraise`` judges them and the active
model as it is (doing nothing) on the held-out tail of the new text. The winner's
checkpoint records the contest (``choice``), and a run the active model won is
registered but not activated.

The plan travels in the run's ``settings`` JSON (no schema change), so the training
job (and a trainer on another host) reads it from the row, and the settings key that
detects "same text, same settings" distinguishes a fine-tune from a fresh run.
The outcome message's quality lines (:func:`quality_lines`) come from the metrics the
trainer wrote into the checkpoint: the new model's bits/char on the new text's
validation tail read as one stream, and the n-gram baseline's on the same tail; the
contest's figures; and what a reader sees at the bot's default settings
(``realism``: the share of generated words a spelling dictionary rejects and how often
a sample repeats itself, next to real text's and the n-gram's samples).
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
    {
        "method",
        "init_checkpoint",
        "init_sha256",
        "init_version",
        "replay_corpus",
        "replay_sha256",
        "contest",
    }
)
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
    # auto: fresh training and the active model as it is compete with the fine-tune
    contest: bool = False

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
            **({"contest": True} if self.contest else {}),
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
    replay_corpus: str | None,
) -> Plan:
    """The plan for training on ``text``; ``requested`` is auto, finetune or fresh.

    ``replay_corpus`` is the file of the previous text to mix in (None when the new
    corpus already contains it). Without an active model to start from, it is fresh
    whatever was asked; ``auto`` fine-tunes in a contest that the run itself judges.
    """
    share = known_share(active, text) if active is not None else 0.0
    usable = active is not None and active.path is not None and active_version is not None
    if requested == "fresh" or not usable:
        return Plan("fresh", requested, share)
    assert active is not None
    return Plan(
        "finetune",
        requested,
        share,
        init_checkpoint=str(active.path),
        init_sha256=active.sha256,
        init_version=active_version,
        replay_corpus=replay_corpus,
        contest=requested == "auto",
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
    choice = metrics.get("choice")
    method = plan.get("method")
    if isinstance(choice, Mapping) and choice.get("kept") in METHODS:
        method = choice["kept"]  # the contest's best candidate is what was kept
    if method == "finetune":
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
    elif method == "fresh":
        lines.append(t(lang, "retrain_fresh"))
    if isinstance(choice, Mapping):
        lines.append(contest_line(lang, choice, plan))
    model, ngram = _bits(metrics, "val_stream_loss"), _bits(metrics, "ngram_val_loss")
    if model is None or ngram is None:
        return lines + realism_lines(lang, metrics)
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
    return lines + realism_lines(lang, metrics)


def _figure(lang: str | None, value: object, form: str = ".3f") -> str:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return format(value, form)
    return t(lang, "n_a")


def contest_line(lang: str | None, choice: Mapping[str, Any], plan: Mapping[str, Any]) -> str:
    """Which of fine-tuning, fresh training and the active model as it is won, by how
    much, on the held-out part of the new text (``model.appraise``'s ``choice``)."""
    found = choice.get("bits")
    bits: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    winner = choice.get("winner")
    key = {"finetune": "retrain_contest_finetune", "fresh": "retrain_contest_fresh"}.get(
        str(winner), "retrain_contest_base"
    )
    return t(
        lang,
        key,
        margin=_figure(lang, choice.get("margin")),
        finetune=_figure(lang, bits.get("finetune")),
        fresh=_figure(lang, bits.get("fresh")),
        base=_figure(lang, bits.get("base")),
        version=plan.get("init_version") or "?",
    )


def realism_lines(lang: str | None, metrics: Mapping[str, Any]) -> list[str]:
    """What a reader sees at the default settings (``model.realism``'s figures): the
    share of generated words the dictionary rejects and of repeated word 3-grams, next
    to real text's repetition and the n-gram baseline's two figures."""
    realism = metrics.get("realism")
    if not isinstance(realism, Mapping):
        return []
    model, ngram, real = (realism.get(k) for k in ("model", "ngram", "real"))
    if not (isinstance(model, Mapping) and isinstance(ngram, Mapping)):
        return []
    real = real if isinstance(real, Mapping) else {}
    found = realism.get("settings")
    settings: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    judge = "retrain_realism_dictionary" if realism.get("is_dictionary") else "retrain_realism_seen"
    return [
        t(
            lang,
            "retrain_realism",
            temperature=_figure(lang, settings.get("temperature"), "g"),
            judge=t(lang, judge),
            words=int(model.get("words") or 0),
            nonwords=_figure(lang, model.get("rejected_share"), ".1%"),
            repeated=_figure(lang, model.get("repeated_share"), ".1%"),
            real=_figure(lang, real.get("repeated_share"), ".1%"),
            order=realism.get("ngram_order") or "?",
            ngram_nonwords=_figure(lang, ngram.get("rejected_share"), ".1%"),
            ngram_repeated=_figure(lang, ngram.get("repeated_share"), ".1%"),
        )
    ]


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
        replay_corpus=replay,
    )
    chosen = plan.settings()
    if chosen.get("replay_corpus") and current is not None:
        # A trainer on another host fetches the previous text by its hash.
        chosen["replay_sha256"] = current.sha256
    return chosen


async def outcome_lines(storage: Storage, run: TrainingRun, details: Finished | None) -> list[str]:
    """The outcome message's lines on how the run trained and how good it is, in the
    language of the admin who started it."""
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
