"""Retraining under faults: locked or full database, read-only disk, cancels that race the
finishing steps. Each fault ends with the same checks: the database is sound, every
version's file exists, no run is live without a driver, the admin got exactly one
outcome message without SQL in it, /write is answered and the next /retrain starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.storage import TrainingStatus
from tests.conftest import TINY_TEXT
from tests.faults import (
    WriteLock,
    assert_consistent,
    assert_no_sql,
    db_rows,
    fill,
    outcome_messages,
    remount,
    tmpfs,
)
from tests.harness import ADMIN_ID, Harness, running_bot
from tests.test_admin_e2e import (
    FAST_TRAINING,
    NEW_TEXT,
    eventually,
    upload,
    write_version,
)

# Longer than the SQLite busy timeout these tests give the bot (BUSY_S), so that writes
# fail and the retries are what waits the lock out.
BUSY_S = 5.0
LOCK_S = 7.0
LOCKABLE = {**FAST_TRAINING, "sqlite_busy_timeout_s": BUSY_S}
OTHER_TEXT = NEW_TEXT.replace("الشمس", "القمر") + "نص آخر للتدريب التالي.\n"


def admin_texts(h: Harness) -> list[str]:
    return [m.text or m.caption or "" for m in h.api.messages_to(ADMIN_ID)]


async def the_outcome(h: Harness, run_id: int) -> str:
    await h.api.wait_for(lambda: outcome_messages(admin_texts(h), run_id) or None, 120)
    return outcome_messages(admin_texts(h), run_id)[0]


async def settled(h: Harness) -> None:
    """This bot drives no run any more (it finished, whatever the outcome)."""
    await eventually(lambda: not h.services.retrain.running, 120)


async def after_fault(h: Harness, run_id: int, serving: int) -> None:
    """The checks every fault test ends with."""
    await settled(h)
    assert_consistent(h.workdir / "bot.db")
    texts = admin_texts(h)
    assert len(outcome_messages(texts, run_id)) == 1, texts
    assert_no_sql(texts)
    assert await write_version(h, h.api.user(5050)) == serving
    # The next /retrain starts (and is cancelled again at once, to stay fast).
    status = await upload(h, h.api.user(ADMIN_ID), OTHER_TEXT.encode())
    assert "Training on corpus" in (status.text or ""), status.text
    await eventually(lambda: h.services.retrain.running, 60)
    [cancelled] = await h.ask(h.api.user(ADMIN_ID), "/retrain cancel")
    assert "was cancelled" in (cancelled.text or ""), cancelled.text
    await settled(h)
    assert_consistent(h.workdir / "bot.db")


def lock_at(h: Harness, phase: str, seconds: float = LOCK_S) -> list[WriteLock]:
    """Hold the write lock for ``seconds`` from the moment the run reaches ``phase``."""
    locks: list[WriteLock] = []

    async def hook(run_id: int, reached: str) -> None:
        if reached == phase and not locks:
            locks.append(await WriteLock(h.workdir / "bot.db", seconds).start())

    h.services.retrain.phase_hook = hook
    return locks


# Just before registration, and just after it (where the old code deleted the file).
@pytest.mark.slow
@pytest.mark.parametrize("phase", ["judged", "registered"])
async def test_a_locked_database_during_the_finishing_steps_is_waited_out(
    tmp_path: Path, tiny_checkpoint_path: Path, phase: str
) -> None:
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, **LOCKABLE) as h:
        # SQLITE_BUSY_TIMEOUT_S reaches the bot's connections: the lock outlasts it.
        async with h.services.storage.session_maker() as session:
            busy_ms = (await session.execute(text("PRAGMA busy_timeout"))).scalar_one()
        assert busy_ms == BUSY_S * 1000 < LOCK_S * 1000
        locks = lock_at(h, phase)
        await upload(h, h.api.user(ADMIN_ID), NEW_TEXT.encode())
        outcome = await the_outcome(h, 1)
        assert locks, "the phase was never reached"
        assert "Version 2 is now active" in outcome, outcome
        [(status, version)] = db_rows(
            h.workdir / "bot.db", "SELECT status, model_version_id FROM training_runs"
        )
        assert (status, version) == ("succeeded", 2)
        assert h.services.engine.version == 2
        assert len(db_rows(h.workdir / "bot.db", "SELECT id FROM model_versions")) == 2
        await after_fault(h, 1, serving=2)
        await locks[0].wait_released()


@pytest.mark.slow
async def test_a_restart_after_a_lost_database_write_finishes_the_run_once(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    """The bot stops while the database is locked just after registration: the next
    start finds the run ``finishing`` and completes it, without a duplicate version."""
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, **LOCKABLE) as h:
        locks = lock_at(h, "registered", seconds=12.0)
        await upload(h, h.api.user(ADMIN_ID), NEW_TEXT.encode())
        await eventually(lambda: bool(locks), 120)
        await h.restart()  # the finishing task is stopped mid-retry
        await locks[0].wait_released()
        outcome = await the_outcome(h, 1)
        assert "Version 2 is now active" in outcome, outcome
        rows = db_rows(h.workdir / "bot.db", "SELECT status, model_version_id FROM training_runs")
        assert rows == [("succeeded", 2)]
        assert len(db_rows(h.workdir / "bot.db", "SELECT id FROM model_versions")) == 2
        await after_fault(h, 1, serving=2)


@pytest.mark.slow
async def test_a_full_database_disk_after_registration_is_waited_out(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    work = tmp_path / "work"
    with tmpfs(work, "48m"):
        async with running_bot(work, tiny_checkpoint_path, TINY_TEXT, **FAST_TRAINING) as h:
            filled: list[Path] = []

            async def hook(run_id: int, reached: str) -> None:
                if reached == "registered":
                    filled.append(await asyncio.to_thread(fill, work))
                    loop = asyncio.get_running_loop()
                    loop.call_later(3.0, filled[0].unlink)

            h.services.retrain.phase_hook = hook
            await upload(h, h.api.user(ADMIN_ID), NEW_TEXT.encode())
            outcome = await the_outcome(h, 1)
            assert filled and "Version 2 is now active" in outcome, outcome
            edits = [e for m in h.api.messages_to(ADMIN_ID) for e in m.edits]
            assert any("waiting for the database (the disk" in e for e in edits), edits[-3:]
            await after_fault(h, 1, serving=2)


@asynccontextmanager
async def checkpoints_turned_read_only(
    workdir: Path, checkpoint: Path, overrides: dict[str, Any]
) -> AsyncIterator[Harness]:
    """A bot whose first run has trained a while when its checkpoint directory (a tmpfs)
    turns read-only; the block remounts it writable before its last checks."""
    checkpoints = workdir / "checkpoints"
    with tmpfs(checkpoints, "32m"):
        async with running_bot(workdir, checkpoint, TINY_TEXT, **overrides) as h:
            await upload(h, h.api.user(ADMIN_ID), NEW_TEXT.encode())
            job = await wait_for_job(h)
            await eventually(lambda: job.last is not None, 60)
            remount(checkpoints, "ro")
            yield h


async def test_a_read_only_checkpoint_directory_mid_training_is_reported(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with checkpoints_turned_read_only(tmp_path, tiny_checkpoint_path, FAST_TRAINING) as h:
        outcome = await the_outcome(h, 1)
        assert "failed" in outcome and "read-only" in outcome.lower(), outcome
        assert "Version 1 keeps serving" in outcome
        remount(h.workdir / "checkpoints", "rw")
        await after_fault(h, 1, serving=1)


async def test_a_cancel_with_a_read_only_checkpoint_directory_is_a_cancel(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    overrides: dict[str, Any] = {**FAST_TRAINING, "retrain_steps": 1_000_000}
    async with checkpoints_turned_read_only(tmp_path, tiny_checkpoint_path, overrides) as h:
        [reply] = await h.ask(h.api.user(ADMIN_ID), "/retrain cancel")
        assert "Training run #1 was cancelled" in (reply.text or ""), reply.text
        await settled(h)
        [(status,)] = db_rows(h.workdir / "bot.db", "SELECT status FROM training_runs")
        assert status == "cancelled"
        remount(h.workdir / "checkpoints", "rw")
        await after_fault(h, 1, serving=1)


@pytest.mark.slow
async def test_a_cancel_during_the_finishing_steps_says_it_came_too_late(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, **FAST_TRAINING) as h:
        storage = h.services.storage
        real = storage.transition_training_run
        attempts: list[Any] = []

        async def spy(run_id: int, expected: Any, new: Any, **values: Any) -> Any:
            result = await real(run_id, expected, new, **values)
            if TrainingStatus(new) is TrainingStatus.CANCELLED:
                attempts.append(result)
            return result

        storage.transition_training_run = spy

        async def hook(run_id: int, reached: str) -> None:
            if reached == "judged":
                await h.api.send_text(h.api.user(ADMIN_ID), "/retrain cancel")
                await eventually(lambda: bool(attempts), 60)  # the cancel lost the race

        h.services.retrain.phase_hook = hook
        await upload(h, h.api.user(ADMIN_ID), NEW_TEXT.encode())
        reply = await h.api.wait_for(
            lambda: next((t for t in admin_texts(h) if t.startswith("Too late")), None), 120
        )
        assert attempts == [None]
        assert "Too late to cancel training run #1" in reply
        assert "Version 2 is now active" in reply, reply
        assert h.services.engine.version == 2
        await after_fault(h, 1, serving=2)


async def wait_for_job(h: Harness) -> Any:
    await eventually(lambda: h.services.retrain.current is not None)
    return h.services.retrain.current
