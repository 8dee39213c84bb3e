"""A run's start and end as files and rows see them: the admin is told "starting…" only
once the run is in the database, and a killed run leaves no temporary file behind.

With several replicas, "/retrain cancel" sent on seeing "starting…" may reach another
replica than the one starting the run, and that replica knows the run only from the
database: so the run must be recorded before it is announced, and the status message
attached to it afterwards. The fake Bot API checks the database at the very moment the
announcement arrives.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.botapi.objects import JsonDict
from tests.conftest import TINY_TEXT
from tests.faults import outcome_messages
from tests.harness import ADMIN_ID, FAST_TRAINING, running_bot
from tests.test_admin_e2e import NEW_TEXT, upload
from tests.test_trainer_e2e import admin_texts


@pytest.mark.slow
async def test_a_run_is_recorded_before_starting_is_announced_and_its_message_attached(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, **FAST_TRAINING) as h:
        live_when_announced: list[Any] = []
        name, send = h.api._methods["sendmessage"]

        async def checking_send(params: Any) -> JsonDict:
            if "starting…" in str(params.text("text")):
                live_when_announced.append(await h.services.storage.live_training_run())
            return await send(params)

        h.api._methods["sendmessage"] = (name, checking_send)
        admin = h.api.user(ADMIN_ID, "Admin")
        status = await upload(h, admin, NEW_TEXT.encode())
        assert "starting…" in (status.text or "")
        [run] = live_when_announced
        assert run is not None, "the admin saw 'starting…' before the run existed"
        # The progress and the end are edits of that message: it was attached.
        await h.api.wait_for(lambda: (status.edits and "done" in status.edits[-1]) or None, 120)
        recorded = await h.services.storage.get_training_run(run.id)
        assert recorded is not None and recorded.status_message_id == status.message_id


async def test_a_killed_runs_temporary_file_goes_when_the_run_is_marked_failed(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    slow = {**FAST_TRAINING, "retrain_steps": 1_000_000}
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, **slow) as h:
        admin = h.api.user(ADMIN_ID, "Admin")
        status = await upload(h, admin, NEW_TEXT.encode())
        await h.api.wait_for(lambda: any("step " in e for e in status.edits) or None, 120)
        job = h.services.retrain.current
        assert job is not None and job.process is not None and job.process.pid is not None
        # What a training child killed while writing its checkpoint leaves beside it.
        leftover = tmp_path / "checkpoints" / f".run-{job.run_id}.pt.k1ll3d.tmp"
        leftover.write_bytes(b"half a checkpoint")
        os.kill(job.process.pid, signal.SIGKILL)
        await h.api.wait_for(lambda: outcome_messages(admin_texts(h), job.run_id) or None, 60)
        [outcome] = outcome_messages(admin_texts(h), job.run_id)
        assert "failed" in outcome, outcome
        assert not leftover.exists()
