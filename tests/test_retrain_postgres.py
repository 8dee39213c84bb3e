"""Retraining on PostgreSQL when the bot's database connection is dropped mid-finishing.

The run's row is locked from another session at the moment the finishing steps want
to register the new version; the bot's waiting backend is then terminated (what a
PostgreSQL restart or failover does). The step is retried on a new connection and the
run ends once, with its version. Skipped unless ``TEST_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import TINY_TEXT
from tests.faults import assert_no_sql, outcome_messages
from tests.harness import ADMIN_ID, FAST_TRAINING, running_bot
from tests.postgres import fresh_postgres_database, needs_postgres
from tests.test_admin_e2e import NEW_TEXT, eventually, upload, write_version

pytestmark = needs_postgres


@pytest.mark.slow
async def test_a_dropped_connection_while_registering_is_retried(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with (
        fresh_postgres_database("test_retrain") as url,
        running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, database_url=url,
                    **FAST_TRAINING) as h,
    ):  # fmt: skip
        name = make_url(url).database
        other = create_async_engine(url)
        terminated: list[int] = []
        locked = asyncio.Event()

        async def drop_the_waiting_backend() -> None:
            async with other.connect() as holder:
                await holder.execute(text("SELECT id FROM training_runs WHERE id = 1 FOR UPDATE"))
                locked.set()
                while not terminated:
                    rows = (
                        await holder.execute(
                            text(
                                "SELECT pid FROM pg_stat_activity WHERE datname = :db AND "
                                "wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                            ),
                            {"db": name},
                        )
                    ).all()
                    for (pid,) in rows:
                        await holder.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
                        terminated.append(pid)
                    await asyncio.sleep(0.05)
                await holder.rollback()

        tasks: list[asyncio.Task[None]] = []

        async def hook(run_id: int, phase: str) -> None:
            if phase == "judged" and not tasks:
                tasks.append(asyncio.create_task(drop_the_waiting_backend()))
                await locked.wait()  # the row is locked before registration tries

        h.services.retrain.phase_hook = hook
        await upload(h, h.api.user(ADMIN_ID), NEW_TEXT.encode())
        texts = lambda: [m.text or "" for m in h.api.messages_to(ADMIN_ID)]  # noqa: E731
        await h.api.wait_for(lambda: outcome_messages(texts(), 1) or None, 180)
        await tasks[0]
        await other.dispose()
        assert terminated, "no backend was waiting for the row lock"
        [outcome] = outcome_messages(texts(), 1)
        assert "Version 2 is now active" in outcome, outcome
        assert_no_sql(texts())
        await eventually(lambda: not h.services.retrain.running, 60)
        assert await write_version(h, h.api.user(5060)) == 2
        run = await h.services.storage.get_training_run(1)
        assert run is not None and run.status.value == "succeeded" and run.model_version_id == 2
