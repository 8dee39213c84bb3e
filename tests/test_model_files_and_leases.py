"""Model files kept in the database, and runs that belong to a live process.

Storage rules on SQLite and PostgreSQL; then, through the Bot API: a version whose
file is not on this host is fetched by SHA-256 (and a damaged cached copy fetched
again, at start-up too), and a restart leaves alone a run that another process still drives, failing
it only once that process stops renewing its lease. And the settings checks.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.settings.config import ConfigError, load_settings
from bot.storage import Storage, TrainingStatus
from bot.storage.schema import TrainingRunRow, utcnow
from tests.conftest import TINY_TEXT
from tests.faults import outcome_messages
from tests.harness import ADMIN_ID, TEST_TOKEN, register_copy, running_bot
from tests.test_admin_e2e import write_version
from tests.test_storage import SETTINGS, add_corpus, database_url, storage  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
ELSEWHERE = "trainer@another-host:4242:abcd:ef01"


# ----------------------------------------------------------------------------- storage


async def test_only_blobs_nothing_refers_to_are_deleted(storage: Storage) -> None:  # noqa: F811
    kept = await storage.put_blob(b"a checkpoint a version names")
    corpus = await storage.put_blob(b"a corpus")
    gone = await storage.put_blob(b"debris")
    assert await storage.put_blob(b"debris") == gone  # once per content
    await storage.register_model_version(
        checkpoint_path="elsewhere/run-1.pt", checkpoint_sha256=kept, corpus_sha256="0" * 64,
        corpus_chars=1, vocab_size=1, steps=1,
    )  # fmt: skip
    await add_corpus(storage, corpus)
    # Within the grace period nothing goes (a row may be about to name it).
    assert await storage.delete_unreferenced_blobs(utcnow() - timedelta(minutes=10)) == 0
    assert await storage.delete_unreferenced_blobs(utcnow() + timedelta(seconds=1)) == 1
    assert await storage.get_blob(kept) == b"a checkpoint a version names"
    assert await storage.get_blob(corpus) == b"a corpus"
    assert await storage.get_blob(gone) is None


async def test_only_runs_whose_lease_ran_out_are_failed(storage: Storage) -> None:  # noqa: F811
    corpus_id = await add_corpus(storage)
    run = await storage.queue_training_run(1, corpus_id, SETTINGS, "k", owner=ELSEWHERE, lease_s=60)
    assert await storage.fail_abandoned_runs("gone") == []  # alive elsewhere
    assert await storage.renew_lease(run.id, "someone else", 60) is not None
    assert (await storage.get_training_run(run.id)).owner == ELSEWHERE  # type: ignore[union-attr]
    assert await storage.fail_abandoned_runs("gone", [ELSEWHERE]) == [run.id]  # known dead
    again = await storage.queue_training_run(1, corpus_id, SETTINGS, "k", owner="x", lease_s=-1)
    assert await storage.fail_abandoned_runs("gone") == [again.id]  # lease ran out
    failed = await storage.get_training_run(again.id)
    assert failed is not None and failed.status is TrainingStatus.FAILED and failed.error == "gone"


async def test_one_editor_at_a_time_until_its_lease_runs_out(storage: Storage) -> None:  # noqa: F811
    corpus_id = await add_corpus(storage)
    run = await storage.queue_training_run(1, corpus_id, SETTINGS, "k")
    assert await storage.claim_editor(run.id, "replica-a", 60)
    assert not await storage.claim_editor(run.id, "replica-b", 60)
    assert await storage.claim_editor(run.id, "replica-a", -1)  # renewed (here: to expire)
    assert await storage.claim_editor(run.id, "replica-b", 60)  # a's lease ran out


# ---------------------------------------------------------------- through the Bot API


async def test_a_version_whose_file_is_not_here_is_fetched_and_a_damaged_copy_refetched(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT) as h:
        admin = h.api.user(ADMIN_ID, "Admin")
        elsewhere = tmp_path / "another-host" / "run-7.pt"
        version_id = await register_copy(
            h.services.storage, tiny_checkpoint_path, elsewhere, note="copy", store_blob=True
        )
        sha = hashlib.sha256(elsewhere.read_bytes()).hexdigest()
        elsewhere.unlink()  # "on another host": not on this one
        [reply] = await h.ask(admin, f"/use {version_id}")
        assert reply.raw_text == f"Version {version_id} is now active.", reply.raw_text
        assert h.services.engine.version == version_id
        cached = tmp_path / "checkpoints" / "cache" / f"{sha}.pt"
        assert hashlib.sha256(cached.read_bytes()).hexdigest() == sha

        cached.write_bytes(cached.read_bytes()[:100])  # damaged (truncated) cache
        await h.ask(admin, "/use 1")
        [reply] = await h.ask(admin, f"/use {version_id}")
        assert reply.raw_text == f"Version {version_id} is now active.", reply.raw_text
        assert h.services.engine.version == version_id
        assert hashlib.sha256(cached.read_bytes()).hexdigest() == sha

        # A start on a host with none of its files (an empty cache) fetches it too.
        cached.unlink()
        await h.restart()
        assert h.services.engine.version == version_id
        assert await write_version(h, h.api.user(5080)) == version_id
        assert hashlib.sha256(cached.read_bytes()).hexdigest() == sha


async def test_a_restart_leaves_a_run_another_process_drives_until_its_lease_runs_out(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT) as h:
        admin = h.api.user(ADMIN_ID, "Admin")
        storage = h.services.storage
        corpus = await storage.latest_corpus()
        run = await storage.queue_training_run(
            ADMIN_ID, corpus.id, SETTINGS, "k", chat_id=admin.chat_id, owner=ELSEWHERE,
            lease_s=600,
        )  # fmt: skip
        await storage.transition_training_run(run.id, {TrainingStatus.QUEUED}, "running")
        await h.restart()
        storage = h.services.storage
        [reply] = await h.ask(admin, "/retrain")
        assert f"run #{run.id} (running)" in (reply.raw_text or ""), reply.raw_text
        live = await storage.get_training_run(run.id)
        assert live is not None and live.status is TrainingStatus.RUNNING

        async with storage.session_maker() as session, session.begin():  # it stopped renewing
            await session.execute(
                update(TrainingRunRow)
                .where(TrainingRunRow.id == run.id)
                .values(lease_expires_at=utcnow() - timedelta(seconds=1))
            )
        await h.ask(admin, "/retrain cancel", count=2)  # the outcome, then the reply
        texts = [m.raw_text or "" for m in h.api.messages_to(admin.chat_id)]
        [outcome] = outcome_messages(texts, run.id)
        assert "failed" in outcome and "Version 1 keeps serving" in outcome, outcome
        assert (await storage.get_training_run(run.id)).status is TrainingStatus.FAILED  # type: ignore[union-attr]


# ------------------------------------------------------------------------------ settings


def test_queue_mode_needs_postgresql_in_one_line() -> None:
    with pytest.raises(ConfigError, match=r"^TRAINING=queue needs DATABASE_URL"):
        load_settings(_env_file=None, bot_token=TEST_TOKEN, training="queue")
    with pytest.raises(ConfigError, match=r"^TRAINING is malformed: must be local or queue"):
        load_settings(_env_file=None, bot_token=TEST_TOKEN, training="cluster")


def test_the_trainer_refuses_sqlite_in_one_line_and_never_needs_the_token(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    env.update(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}", PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, "-m", "bot.trainer"], cwd=tmp_path, env=env, capture_output=True,
        text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith("error: DATABASE_URL must be PostgreSQL"), done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
