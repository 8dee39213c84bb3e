"""Fine-tuning through the Bot API: /retrain finetune|fresh, and what the outcome says."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.settings.config import load_settings
from bot.storage import Corpus, CorpusSource
from bot.storage.schema import TrainingRunRow
from bot.training.plan import choose, parse_words, plan_settings, quality_lines
from model.appraise import decide
from model.checkpoint import Checkpoint, load_checkpoint
from model.train import TrainResult
from tests.botapi import FakeUser, SentMessage
from tests.conftest import TINY_TEXT
from tests.harness import ADMIN_ID, FAST_TRAINING, TEST_TOKEN, Harness, running_bot

# Mostly the active model's characters, plus a few it has never seen (Latin letters).
NEW_TEXT = (
    "في الصباح يذهب الولد إلى البحر ويقرأ كتابا عن النجوم والقمر.\n"
    "قالت البنت إن المدينة القديمة جميلة في المساء، OK and yes.\n"
) * 8

QUICK: dict[str, Any] = {
    "retrain_steps": 60,
    "retrain_seq_len": 32,
    "retrain_batch_size": 16,
    "progress_edit_interval_s": 0.0,
}


async def retrain(h: Harness, admin: FakeUser, caption: str) -> SentMessage:
    since = h.api.mark(admin.chat_id)
    await h.api.send_document(admin, "new.txt", NEW_TEXT.encode(), caption=caption)
    [status] = await h.api.wait_for_messages(admin.chat_id, 1, since=since)
    return status


async def outcome(h: Harness) -> str:
    message = await h.api.wait_for(
        lambda: next(
            (m for m in h.api.messages_to(ADMIN_ID) if "Training run #" in (m.text or "")
             and ("finished" in (m.text or "") or "failed" in (m.text or ""))),
            None,
        ),
        timeout=120,
    )  # fmt: skip
    return message.text or ""


async def new_checkpoint(h: Harness) -> Checkpoint:
    async with h.services.storage.session_maker() as session:
        run = (await session.scalars(select(TrainingRunRow))).one()
    assert run.checkpoint_path
    return load_checkpoint(run.checkpoint_path, "cpu")


async def test_retrain_finetune_grows_the_vocabulary_and_says_so(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, **QUICK) as h:
        admin = h.api.user(ADMIN_ID, "Admin")
        status = await retrain(h, admin, "/retrain finetune")
        assert "Training on corpus" in (status.text or "")
        text = await outcome(h)
        assert "Fine-tuned from version 1" in text, text
        added = sorted(set(NEW_TEXT) - set(load_checkpoint(tiny_checkpoint_path, "cpu").vocab.itos))
        grew = "one character" if len(added) == 1 else f"{len(added)} characters"
        assert f"grew by {grew}" in text, text
        assert "new model " in text and "active model " in text and "-gram baseline" in text
        grown = await new_checkpoint(h)
        old = load_checkpoint(tiny_checkpoint_path, "cpu")
        assert grown.vocab.itos[: len(old.vocab)] == old.vocab.itos
        assert grown.vocab.itos[len(old.vocab) :] == added
        assert grown.model.config.hidden_size == old.model.config.hidden_size  # its weights
        async with h.services.storage.session_maker() as session:
            run = (await session.scalars(select(TrainingRunRow))).one()
        assert run.settings["method"] == "finetune" and run.settings["init_version"] == 1
        # the previous corpus is mixed in: the upload replaced it
        assert run.settings["replay_corpus"]
        # The engine serves the grown vocabulary: a seed with a new character is kept.
        if "Version 2 is now active" not in text:
            await h.ask(admin, "/use 2")
        [reply] = await h.ask(admin, "/write OK and")
        assert (reply.text or "").startswith("OK and"), reply.text
        assert "left them out" not in (reply.text or "")


async def test_retrain_fresh_trains_from_scratch_and_says_so(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, **QUICK) as h:
        admin = h.api.user(ADMIN_ID, "Admin")
        await retrain(h, admin, "/retrain fresh")
        text = await outcome(h)
        assert "Trained from scratch." in text and "Fine-tuned" not in text, text
        fresh = await new_checkpoint(h)
        assert fresh.vocab.itos == sorted(set(NEW_TEXT))
        assert fresh.model.config.hidden_size == h.settings.retrain_hidden_size


async def test_a_wrong_method_gets_the_usage_and_changes_nothing(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, **QUICK) as h:
        admin = h.api.user(ADMIN_ID, "Admin")
        for caption in ("/retrain finetune fresh", "/retrain cancel fresh", "/retrain sideways"):
            reply = await retrain(h, admin, caption)
            assert "Usage: /retrain" in (reply.text or "") and "finetune" in (reply.text or "")
        async with h.services.storage.session_maker() as session:
            assert (await session.scalars(select(TrainingRunRow))).first() is None


# ------------------------------------------------------------- the rule and the wording


def test_words_parse_in_any_order() -> None:
    assert parse_words([]) == ("", None)
    assert parse_words(["finetune"]) == ("", "finetune")
    assert parse_words(["fresh", "append"]) == ("append", "fresh")
    assert parse_words(["append", "finetune"]) == ("append", "finetune")
    assert parse_words(["cancel"]) == ("cancel", None)
    for bad in (["finetune", "fresh"], ["cancel", "fresh"], ["append", "cancel"], ["x"]):
        assert parse_words(bad) is None


def test_the_default_makes_a_contest_and_the_admins_word_wins(
    trained_tiny: TrainResult, tiny_checkpoint_path: Path
) -> None:
    active = load_checkpoint(tiny_checkpoint_path, "cpu")
    known = TINY_TEXT[:500]
    foreign = "hello world " * 40  # the model knows only the space
    for text in (known, foreign):  # not guessed from the text: measured by the run
        plan = choose("auto", active=active, active_version=1, text=text, replay_corpus=None)
        assert plan.method == "finetune" and plan.contest
        assert plan.init_checkpoint == str(tiny_checkpoint_path)
        assert plan.settings()["contest"] is True
    # The admin's word wins, both ways, and is no contest.
    asked = choose("finetune", active=active, active_version=1, text=foreign, replay_corpus=None)
    assert asked.method == "finetune" and not asked.contest
    assert "contest" not in asked.settings()
    fresh = choose("fresh", active=active, active_version=1, text=known, replay_corpus=None)
    assert fresh.settings() == {"method": "fresh"}
    # Nothing to fine-tune from: fresh, whatever was asked.
    for requested in ("auto", "finetune"):
        alone = choose(requested, active=None, active_version=None, text=known, replay_corpus=None)
        assert alone.method == "fresh"


def test_the_outcome_says_plainly_when_the_model_is_not_below_the_baseline() -> None:
    ln2 = 0.6931471805599453
    worse = {"val_stream_loss": 3.1 * ln2, "ngram_val_loss": 3.0 * ln2, "ngram_order": 4}
    lines = quality_lines(None, worse, {"method": "fresh"}, active_bits=3.2)
    assert lines[0] == "Trained from scratch."
    assert "new model 3.100" in lines[1] and "active model 3.200" in lines[1]
    assert "4-gram baseline 3.000" in lines[1]
    assert "NOT better than the n-gram baseline (by 0.100" in lines[2]
    better = {**worse, "val_stream_loss": 2.5 * ln2}
    assert not any("NOT" in line for line in quality_lines(None, better, {}))
    arabic = quality_lines("ar", worse, {"method": "fresh"})
    assert "من الصفر" in arabic[0] and "3.100" in arabic[1]


def test_replay_and_the_plain_retrain_default(tiny_checkpoint_path: Path) -> None:
    active = load_checkpoint(tiny_checkpoint_path, "cpu")
    cfg = active.model.config
    settings = load_settings(
        _env_file=None,
        bot_token=TEST_TOKEN,
        retrain_embed_size=cfg.embed_size,
        retrain_hidden_size=cfg.hidden_size,
    )

    def corpus(id_: int, source: CorpusSource) -> Corpus:
        return Corpus(id_, f"/c/{id_}.txt", "0" * 64, 10, 10, source, None, datetime.now(UTC))

    current, upload, appended = (
        corpus(1, CorpusSource.DEFAULT),
        corpus(2, CorpusSource.UPLOAD),
        corpus(3, CorpusSource.APPEND),
    )
    known = TINY_TEXT[:400]
    plan = plan_settings(settings, None, (active, 1), upload, current, known)
    assert plan["method"] == "finetune" and plan["replay_corpus"] == current.path
    plan = plan_settings(settings, None, (active, 1), appended, current, known)
    assert plan["method"] == "finetune" and plan["replay_corpus"] is None  # already in it
    # /retrain alone (the current corpus again): from scratch unless finetune is asked
    assert plan_settings(settings, None, (active, 1), current, current, known) == {
        "method": "fresh"
    }
    again = plan_settings(settings, "finetune", (active, 1), current, current, known)
    assert again["method"] == "finetune" and again["replay_corpus"] is None


def test_first_start_training_uses_the_configured_recipe(tmp_path: Path) -> None:
    from bot.ops.bootstrap import _train_default

    (tmp_path / "corpus.txt").write_text(TINY_TEXT, encoding="utf-8")
    settings = load_settings(
        _env_file=None,
        bot_token=TEST_TOKEN,
        corpus_path=tmp_path / "corpus.txt",
        checkpoint_dir=tmp_path / "checkpoints",
        device="cpu",
        default_train_steps=20,  # the default is "auto"; a test keeps it short
    )
    assert settings.default_train_recipe == "fit"
    checkpoint = _train_default(settings)
    assert checkpoint.train_config["recipe"] == "fit"
    assert checkpoint.train_config["dropout"] > 0 and checkpoint.metrics["steps_run"] <= 20
    assert checkpoint.metrics["ngram_val_loss"] is not None  # the baseline is recorded
    assert settings.default_checkpoint.exists()


@pytest.mark.slow
async def test_the_method_is_part_of_the_same_settings_check_and_of_train_anyway(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, **QUICK) as h:
        admin = h.api.user(ADMIN_ID, "Admin")
        await retrain(h, admin, "/retrain fresh")
        await outcome(h)
        await _idle(h)
        question = await retrain(h, admin, "/retrain fresh")
        assert "already trained with the same settings" in (question.text or "")
        [data] = question.callback_data
        assert data.endswith(":fresh")  # "Train anyway" keeps what the admin asked
        since = h.api.mark(ADMIN_ID)
        await h.api.press_button(admin, question, data)
        [status] = await h.api.wait_for_messages(ADMIN_ID, 1, since=since)
        assert "Training on corpus" in (status.text or "")
        await _idle(h, runs=2)  # the status message comes before the run is queued
        async with h.services.storage.session_maker() as session:
            runs = (await session.scalars(select(TrainingRunRow).order_by(TrainingRunRow.id))).all()
        assert [r.settings["method"] for r in runs] == ["fresh", "fresh"]
        # The same text fine-tuned is other settings: no question, it trains.
        status = await retrain(h, admin, "/retrain finetune")
        assert "Training on corpus" in (status.text or ""), status.text


async def _idle(h: Harness, runs: int = 1) -> None:
    """Wait until ``runs`` runs exist and none is live."""
    manager = h.services.retrain
    assert manager is not None
    for _ in range(6000):
        async with h.services.storage.session_maker() as session:
            rows = (await session.scalars(select(TrainingRunRow))).all()
        if len(rows) >= runs and not manager.running and await manager.live_run() is None:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the training did not end")


# ------------------------------------------------- the default: a contest, judged by the run

# The e2e harness trains one candidate unless told otherwise; these runs are the contest.
CONTEST: dict[str, Any] = {**FAST_TRAINING, "retrain_method": "auto"}
# Another alphabet: the active Arabic model's weights are no head start.
LATIN_TEXT = "the quick brown fox jumps over the lazy dog and runs away into the woods.\n" * 12
# New sentences in the active model's letters and words: its weights are a head start.
KNOWN_WORDS_TEXT = (
    "في الصباح يذهب الولد إلى البحر ويقرأ كتابا عن النجوم والقمر.\n"
    "قالت البنت إن المدينة القديمة جميلة في المساء والطيور تطير.\n"
    "الحاسوب يكتب جملة كاملة في المدرسة والجدة تحمل حقيبة زرقاء.\n"
) * 6


async def contest(h: Harness, text: str) -> tuple[str, int | None, Checkpoint]:
    """Upload ``text`` with a plain /retrain; the outcome, the active version and the
    run's checkpoint."""
    admin = h.api.user(ADMIN_ID, "Admin")
    since = h.api.mark(admin.chat_id)
    await h.api.send_document(admin, "new.txt", text.encode(), caption="/retrain")
    [status] = await h.api.wait_for_messages(admin.chat_id, 1, since=since)
    assert "Training on corpus" in (status.text or ""), status.text
    told = await outcome(h)
    await _idle(h)
    active = await h.services.storage.active_model_version()
    async with h.services.storage.session_maker() as session:
        [run] = (await session.scalars(select(TrainingRunRow))).all()
    assert run.settings["method"] == "finetune" and run.settings["contest"] is True
    assert [m for m in h.api.messages_to(ADMIN_ID) if "Training run #" in (m.text or "")
            and "finished" in (m.text or "")] != []  # fmt: skip
    left = sorted(p.name for p in (h.workdir / "checkpoints").glob("run-*"))
    assert left == [f"run-{run.id}.pt"], left  # the losing candidate is gone
    return told, active.id if active else None, await new_checkpoint(h)


def _realism_reported(text: str) -> None:
    assert "What it writes at the default settings (temperature 1" in text, text
    assert "judged by a spelling dictionary" in text or "judged by the words of" in text
    assert "-gram baseline sampled the same way" in text


@pytest.mark.slow
async def test_fine_tune_is_chosen_only_when_it_wins_another_alphabet_trains_fresh(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, **CONTEST) as h:
        told, active, kept = await contest(h, LATIN_TEXT)
    assert "Training from scratch won by " in told and "Trained from scratch." in told, told
    assert "Fine-tuning won" not in told and "Fine-tuned from" not in told
    assert kept.vocab.itos == sorted(set(LATIN_TEXT))  # the fresh candidate was kept
    assert kept.metrics["choice"]["winner"] == "fresh"
    assert kept.metrics["choice"]["bits"]["base"] is None  # it cannot write the text
    # The fresh model knows too few of the active model's letters to go live by itself.
    assert "NOT activated" in told and active == 1
    _realism_reported(told)


@pytest.mark.slow
async def test_fine_tune_is_chosen_only_when_it_wins_known_words_fine_tune(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, **CONTEST) as h:
        told, active, kept = await contest(h, KNOWN_WORDS_TEXT)
    assert "Fine-tuning won by " in told and "Fine-tuned from version 1" in told, told
    choice = kept.metrics["choice"]
    assert choice["winner"] == "finetune"
    bits = choice["bits"]
    assert bits["finetune"] < min(bits["fresh"], bits["base"])
    assert f"by {choice['margin']:.3f} bits/char" in told
    assert "Version 2 is now active" in told and active == 2
    _realism_reported(told)
    # The realism figures are in the checkpoint, as the outcome read them.
    assert kept.metrics["realism"]["model"]["words"] > 0


def test_doing_nothing_wins_unless_a_candidate_is_strictly_better() -> None:
    from bot.training.judge import Verdict

    assert decide({"finetune": 1.25, "fresh": 1.75}, 2.5) == ("finetune", "finetune", 0.5)
    assert decide({"finetune": 1.2, "fresh": 0.5}, None)[:2] == ("fresh", "fresh")
    winner, kept, margin = decide({"finetune": 0.4, "fresh": 2.5}, 0.4)
    assert (winner, kept, margin) == ("base", "finetune", 0.0)  # a tie keeps the base
    choice = {"winner": "base", "kept": "finetune", "margin": 0.24,
              "bits": {"finetune": 0.399, "fresh": 2.462, "base": 0.158}}  # fmt: skip
    lines = quality_lines(None, {"choice": choice}, {"method": "finetune", "init_version": 1})
    assert lines[1] == (
        "Neither fine-tuning (0.399) nor training from scratch (2.462) beat version 1 as it "
        "is (0.158 bits/char, better by 0.240) on the held-out part of the new text, so "
        "version 1 stays active."
    )
    arabic = quality_lines("ar", {"choice": choice}, {"method": "finetune", "init_version": 1})
    assert "يبقى الإصدار" in arabic[1] and "0.158" in arabic[1]
    # The run's own contest keeps the active model: judged fit otherwise, not activated.
    fit = Verdict(new_val=0.1, old_val=0.2, coverage=1.0, shared_alphabet=1.0)
    assert fit.accept and not Verdict(**{**fit.__dict__, "base_won": True}).accept
