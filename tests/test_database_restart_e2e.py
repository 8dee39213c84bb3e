"""PostgreSQL restarted under load: the bot and a trainer outlive it.

A private PostgreSQL server (tests/private_postgres.py: restarting the shared one would
break other tests) serves the real bot (polling the loopback Bot API, in this process,
``TRAINING=queue``) and ``python -m bot.trainer`` as a real subprocess. While users
write, the server is restarted with ``pg_ctl restart -m fast`` (every session ended at
once, as a failover does), three times. Afterwards the trainer is still running, a
/retrain is taken up at once, and no user was told "something went wrong".
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import TINY_TEXT
from tests.faults import outcome_messages
from tests.harness import ADMIN_ID, FAST_TRAINING, Harness, running_bot
from tests.private_postgres import needs_private_postgres, private_postgres
from tests.processes import start_module
from tests.test_admin_e2e import NEW_TEXT, upload
from tests.test_trainer_e2e import TrainerProcess, admin_texts, one_outcome, trainer_env

pytestmark = needs_private_postgres

REPO = Path(__file__).resolve().parents[1]
RESTARTS = 3
USERS_PER_ROUND = 12
APOLOGY = "something went wrong"
TAKEN_WITHIN_S = 10.0


@contextlib.asynccontextmanager
async def trainer(url: str, work: Path) -> AsyncIterator[TrainerProcess]:
    work.mkdir(parents=True, exist_ok=True)
    env = trainer_env(url, work)
    process = await start_module("bot.trainer", cwd=work, env=env, stderr=asyncio.subprocess.STDOUT)
    handle = TrainerProcess(process)
    try:
        yield handle
    finally:
        await handle.stop()


async def wait_for_line(worker: TrainerProcess, needle: str, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not any(needle in line for line in worker.lines):
        assert worker.process.returncode is None, "\n".join(worker.lines)
        assert asyncio.get_running_loop().time() < deadline, (needle, worker.lines)
        await asyncio.sleep(0.2)


def answers(h: Harness, marks: dict[int, int]) -> list[int]:
    """How many messages each chat got since its mark."""
    return [len(h.api.messages_to(chat)) - since for chat, since in marks.items()]


def all_answered(h: Harness, marks: dict[int, int]) -> bool:
    return 0 not in answers(h, marks)


def every_text(h: Harness) -> list[str]:
    return [m.text or "" for m in h.api.all_sent]


@pytest.mark.slow
async def test_the_bot_and_a_trainer_outlive_three_postgres_restarts_under_load(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with (
        private_postgres() as pg,
        running_bot(tmp_path / "bot", tiny_checkpoint_path, TINY_TEXT, database_url=pg.url,
                    training="queue", training_lease_s=3.0, **FAST_TRAINING) as h,
        trainer(pg.url, tmp_path / "trainer") as worker,
    ):  # fmt: skip
        await wait_for_line(worker, "waiting for training jobs")
        for round_ in range(RESTARTS):
            users = [h.api.user(7000 + 100 * round_ + i) for i in range(USERS_PER_ROUND)]
            marks = {u.chat_id: h.api.mark(u.chat_id) for u in users}
            # Half the users write just before the restart, half while it happens.
            for user in users[: USERS_PER_ROUND // 2]:
                await h.api.send_text(user, "/write في الصباح")
            restart = asyncio.create_task(pg.arestart())
            for user in users[USERS_PER_ROUND // 2 :]:
                await h.api.send_text(user, "/write البحر")
                await asyncio.sleep(0.05)
            await restart
            await h.api.wait_for(functools.partial(all_answered, h, marks), 90, "every answer")
            await asyncio.sleep(1)  # a second answer would come right after the first
            assert answers(h, marks) == [1] * USERS_PER_ROUND
            assert worker.process.returncode is None, "\n".join(worker.lines)

        # Every user answered, none with an apology; the trainer lives and takes a job.
        assert not [t for t in every_text(h) if APOLOGY in t.lower()], every_text(h)
        assert worker.process.returncode is None, "\n".join(worker.lines)
        admin = h.api.user(ADMIN_ID, "Admin")
        await upload(h, admin, NEW_TEXT.encode())
        # The one bound the target sets: a trainer that lost its queue connection for
        # good would leave the job waiting for TRAINER_WAIT_S (minutes).
        await wait_for_line(worker, "training run 1", timeout=TAKEN_WITHIN_S)
        # One line per outage on the trainer's side, not a traceback per failed query.
        assert "Traceback" not in "\n".join(worker.lines), "\n".join(worker.lines[-60:])
        lost = [line for line in worker.lines if "reconnecting" in line]
        assert len(lost) <= RESTARTS, worker.lines


@pytest.mark.slow
async def test_a_training_cut_by_a_postgres_restart_ends_once_and_its_job_is_not_left_picked(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with (
        private_postgres() as pg,
        running_bot(tmp_path / "bot", tiny_checkpoint_path, TINY_TEXT, database_url=pg.url,
                    training="queue", training_lease_s=3.0,
                    **{**FAST_TRAINING, "retrain_steps": 400}) as h,
        trainer(pg.url, tmp_path / "trainer") as worker,
    ):  # fmt: skip
        await wait_for_line(worker, "waiting for training jobs")
        admin = h.api.user(ADMIN_ID, "Admin")
        status = await upload(h, admin, NEW_TEXT.encode())
        await h.api.wait_for(lambda: any("step " in e for e in status.edits) or None, 120)
        await pg.arestart()  # the job is "picked" on the connection this ends
        assert "Version 2 is now active" in await one_outcome(h, 1)

        # The job that connection had picked is finished by the next one, not left
        # "picked" for ever; and the trainer takes the next job.
        async def picked() -> int:
            async with h.services.storage.session_maker() as session:
                count = await session.scalar(
                    text("SELECT count(*) FROM pgqueuer.pgqueuer WHERE status = 'picked'")
                )
            return int(count or 0)

        deadline = asyncio.get_running_loop().time() + 60
        while await picked():
            assert asyncio.get_running_loop().time() < deadline, worker.lines
            await asyncio.sleep(0.5)
        await upload(h, admin, NEW_TEXT.encode() + b"\n" + NEW_TEXT.encode())
        await wait_for_line(worker, "training run 2", timeout=TAKEN_WITHIN_S)
        assert "Training run #2 finished." in await one_outcome(h, 2)
        assert [len(outcome_messages(admin_texts(h), r)) for r in (1, 2)] == [1, 1]
        assert worker.process.returncode is None
        assert "Traceback" not in "\n".join(worker.lines), "\n".join(worker.lines[-60:])
