"""Training on a separate trainer process, on real PostgreSQL.

The bot (the real PTB application, in this process, polling the loopback Bot API) runs
with ``TRAINING=queue``; ``python -m bot.trainer`` runs as a real subprocess in its own
mount namespace, where tmpfs hides the bot's data directory and its own data directory
is invisible to the bot: like two hosts, they share nothing but PostgreSQL. The
trainer must fetch the corpus from the database, the bot must fetch the new checkpoint
from the database, and the admin's status message must show the trainer's progress.
Needs root (mount namespaces) and ``TEST_POSTGRES_URL``; skipped otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shlex
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.texts.worded import said
from tests.botapi import SentMessage
from tests.conftest import TINY_TEXT
from tests.faults import assert_no_sql, outcome_messages
from tests.harness import ADMIN_ID, FAST_TRAINING, Harness, running_bot
from tests.postgres import fresh_postgres_database, needs_postgres
from tests.processes import Process, stop
from tests.test_admin_e2e import NEW_TEXT, upload, write_version

pytestmark = [
    needs_postgres,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for a private mount namespace"),
]

REPO = Path(__file__).resolve().parents[1]
LEASE = {"training": "queue", "training_lease_s": 3.0}


class TrainerProcess:
    def __init__(self, process: Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:  # always drained, so a full pipe never blocks it
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            self.lines.append(raw.decode("utf-8", "replace").rstrip())

    async def stop(self) -> None:
        await stop(self.process)
        await asyncio.gather(self._reader, return_exceptions=True)


def trainer_env(url: str, work: Path, **settings: str) -> dict[str, str]:
    """A trainer's environment: the database, its own directories, a short lease, and
    never the bot token (a trainer has no use for it)."""
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    env.update(
        DATABASE_URL=url,
        CHECKPOINT_DIR=str(work / "checkpoints"),
        CORPUS_DIR=str(work / "corpora"),
        CORPUS_PATH=str(work / "no-corpus-here.txt"),
        DEVICE="cpu",
        LOG_LEVEL="INFO",
        TRAINING_LEASE_S="3",
        PYTHONPATH=str(REPO),
    )
    env.update(settings)
    return env


@contextlib.asynccontextmanager
async def trainer(
    url: str, work: Path, hidden: Path, host: str | None = None, **settings: str
) -> AsyncIterator[TrainerProcess]:
    """``python -m bot.trainer`` with its own CHECKPOINT_DIR/CORPUS_DIR, ``hidden`` masked;
    with ``host``, under that host name too (its pid then tells the bot nothing)."""
    work.mkdir(parents=True, exist_ok=True)
    env = trainer_env(url, work, **settings)
    # The trainer's files live on a tmpfs only its namespace sees; the bot's directory
    # is covered by an empty tmpfs, so nothing of the bot's disk reaches the trainer.
    script = (
        (f"hostname {shlex.quote(host)} && " if host else "")
        + f"mount -t tmpfs trainer {shlex.quote(str(work))} && "
        f"mount -t tmpfs hidden {shlex.quote(str(hidden))} && "
        f"exec {shlex.quote(sys.executable)} -m bot.trainer"
    )
    process = await asyncio.create_subprocess_exec(
        "unshare", "--mount", "--uts", "--propagation", "private", "sh", "-c", script,
        cwd=str(work), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    handle = TrainerProcess(process)
    try:
        yield handle
    finally:
        await handle.stop()


def admin_texts(h: Harness) -> list[str]:
    return [m.text or "" for m in h.api.messages_to(ADMIN_ID)]


async def one_outcome(h: Harness, run_id: int, timeout: float = 120) -> str:
    await h.api.wait_for(lambda: outcome_messages(admin_texts(h), run_id) or None, timeout)
    # A second outcome (a replica, a restart, a retry) would come right after the first.
    await asyncio.sleep(2)
    [outcome] = outcome_messages(admin_texts(h), run_id)
    return outcome


@pytest.mark.slow
async def test_a_retrain_is_trained_by_a_trainer_on_another_host_and_served_by_the_bot(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    bot_dir = tmp_path / "bot"
    async with (
        fresh_postgres_database("test_trainer") as url,
        running_bot(bot_dir, tiny_checkpoint_path, TINY_TEXT, database_url=url,
                    **LEASE, **FAST_TRAINING) as h,
        trainer(url, tmp_path / "trainer", bot_dir) as worker,
    ):  # fmt: skip
        admin = h.api.user(ADMIN_ID, "Admin")
        status: SentMessage = await upload(h, admin, NEW_TEXT.encode())
        outcome = await one_outcome(h, 1)
        assert "Version 2 is now active" in outcome, (outcome, worker.lines)
        assert "Sample from version 2" in outcome  # the details came through the database
        # The status message showed the trainer's progress, then the end.
        assert any("step 150/150" in e for e in status.edits), status.edits
        assert status.edits[-1] == "Training run #1: done.", status.edits
        assert_no_sql(admin_texts(h))

        # Trained there: its checkpoint is not on the bot's disk, the bot fetched it.
        version = await h.services.storage.get_model_version(2)
        assert version.checkpoint_path == str(tmp_path / "trainer" / "checkpoints" / "run-1.pt")
        assert not Path(version.checkpoint_path).exists()  # the trainer's tmpfs
        cached = bot_dir / "checkpoints" / "cache" / f"{version.checkpoint_sha256}.pt"
        assert hashlib.sha256(cached.read_bytes()).hexdigest() == version.checkpoint_sha256
        [models] = await h.ask(admin, "/models")
        assert "#2 ✅ active" in (models.text or ""), models.text
        assert await write_version(h, h.api.user(5070)) == 2
        assert any("fetched" in line for line in worker.lines), worker.lines  # the corpus

        # A damaged cached copy is detected by its SHA-256 and fetched again.
        cached.write_bytes(b"\x80\x02 not the checkpoint")
        await h.ask(admin, "/use 1")
        [back] = await h.ask(admin, "/use 2")
        assert back.text == "Version 2 is now active.", back.text
        assert await write_version(h, h.api.user(5071)) == 2
        assert hashlib.sha256(cached.read_bytes()).hexdigest() == version.checkpoint_sha256


@pytest.mark.slow
async def test_cancel_and_kill_9_reach_a_trainer_and_a_retrain_works_after(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    bot_dir = tmp_path / "bot"
    slow = {**FAST_TRAINING, "retrain_steps": 200_000}
    async with (
        fresh_postgres_database("test_trainer") as url,
        running_bot(bot_dir, tiny_checkpoint_path, TINY_TEXT, database_url=url,
                    **LEASE, **slow) as h,
    ):  # fmt: skip
        admin = h.api.user(ADMIN_ID, "Admin")
        storage = h.services.storage
        async with trainer(url, tmp_path / "trainer", bot_dir) as worker:
            # /retrain cancel on the bot reaches the trainer through the run's row.
            status = await upload(h, admin, NEW_TEXT.encode())
            await h.api.wait_for(lambda: any("step " in e for e in status.edits) or None, 120)
            await h.ask(admin, "/retrain cancel")
            assert "was cancelled" in await one_outcome(h, 1)
            await h.api.wait_for(
                lambda: any("run 1 ended: cancelled" in line for line in worker.lines) or None,
                60, "the trainer to stop run 1",
            )  # fmt: skip
            assert worker.process.returncode is None  # the trainer itself goes on

            # kill -9 of the trainer mid-job: the run fails, once.
            status = await upload(h, admin, NEW_TEXT.encode())
            await h.api.wait_for(lambda: any("step " in e for e in status.edits) or None, 120)
            worker.process.kill()  # SIGKILL: no clean-up of any kind
            await worker.process.wait()
            outcome = await one_outcome(h, 2, 60)
        assert "failed" in outcome and "Version 1 keeps serving" in outcome, outcome
        run = await storage.get_training_run(2)
        assert run is not None and run.status.value == "failed" and run.finished

        # A new trainer and a new /retrain (the recipe is the bot's: fast now).
        await h.restart(retrain_steps=150)
        async with trainer(url, tmp_path / "trainer2", bot_dir) as worker:
            await upload(h, admin, NEW_TEXT.encode())
            outcome = await one_outcome(h, 3)
            assert "Version 2 is now active" in outcome, (outcome, worker.lines)
        assert await write_version(h, h.api.user(5072)) == 2
        assert [len(outcome_messages(admin_texts(h), r)) for r in (1, 2, 3)] == [1, 1, 1]


@pytest.mark.slow
async def test_a_trainer_killed_on_another_host_is_noticed_by_its_silent_heartbeat(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    """The lease is ten minutes: only the trainer's heartbeat row can tell it died."""
    bot_dir = tmp_path / "bot"
    slow = {**FAST_TRAINING, "retrain_steps": 200_000}
    long_lease = {"training": "queue", "training_lease_s": 600.0}
    async with (
        fresh_postgres_database("test_trainer") as url,
        running_bot(bot_dir, tiny_checkpoint_path, TINY_TEXT, database_url=url,
                    **long_lease, **slow) as h,
    ):  # fmt: skip
        admin = h.api.user(ADMIN_ID, "Admin")
        storage = h.services.storage
        async with trainer(
            url, tmp_path / "trainer", bot_dir, host="elsewhere",
            TRAINING_LEASE_S="600", TRAINER_HEARTBEAT_S="1",
        ) as worker:  # fmt: skip
            status = await upload(h, admin, NEW_TEXT.encode())
            await h.api.wait_for(lambda: any("step " in e for e in status.edits) or None, 120)
            running = await storage.get_training_run(1)
            assert running is not None and (running.owner or "").startswith("trainer@elsewhere:")
            worker.process.kill()  # SIGKILL: no clean-up, no goodbye
            await worker.process.wait()
            outcome = await one_outcome(h, 1, 60)
        assert "failed" in outcome and "Version 1 keeps serving" in outcome, outcome
        run = await storage.get_training_run(1)
        assert run is not None and run.status.value == "failed"
        assert said(None, run.error or "") == "its trainer stopped sending signs of life"
        # failed while its lease still had minutes to run: the silence told, not the lease
        assert run.finished_at is not None and run.lease_expires_at is not None
        assert (run.lease_expires_at - run.finished_at).total_seconds() > 300

        # The dead trainer's picked job no longer holds the queue's one training slot: a
        # new trainer takes the next /retrain at once, not when a lease would run out.
        await h.restart(retrain_steps=150)
        async with trainer(
            url, tmp_path / "trainer2", bot_dir, host="elsewhere-too",
            TRAINING_LEASE_S="600", TRAINER_HEARTBEAT_S="1",
        ) as worker:  # fmt: skip
            await upload(h, admin, NEW_TEXT.encode())
            outcome = await one_outcome(h, 2, 90)
            assert "Version 2 is now active" in outcome, (outcome, worker.lines)
        assert [len(outcome_messages(admin_texts(h), r)) for r in (1, 2)] == [1, 1]
