"""Cluster mode end to end: two replicas behind nginx, one trainer, nothing shared but PostgreSQL.

An admin's ``/retrain`` with a new text reaches one replica through nginx, goes on the job
queue, is trained by ``python -m bot.trainer`` in its own mount namespace (it sees
neither the replicas' files nor they its own), and the version it registers is served by
both replicas within seconds (their heartbeat rows say which version each one serves),
with exactly one outcome message and one status message driven to its end.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.storage import Storage
from bot.storage.schema import GenerationRow
from tests.botapi import FakeBotApi
from tests.cluster import NGINX, running_cluster, wait_until
from tests.conftest import TINY_TEXT
from tests.faults import assert_no_sql, outcome_messages
from tests.harness import TEST_TOKEN, prepare_workdir
from tests.postgres import fresh_postgres_database, needs_postgres
from tests.test_admin_e2e import NEW_TEXT
from tests.test_trainer_e2e import trainer

ADMIN = 5000
SEED = "في الصباح"

pytestmark = [
    needs_postgres,
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed (bash .ci/nginx.sh)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for the trainer's mount namespace"),
]


@pytest.mark.slow
async def test_a_retrain_at_one_replica_is_trained_by_the_trainer_and_served_by_both(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    bots = tmp_path / "bots"
    bots.mkdir()
    prepare_workdir(bots, tiny_checkpoint_path, TINY_TEXT)
    env = {
        "ADMIN_IDS": str(ADMIN),
        "RATE_LIMIT": "false",
        "USER_MAX_PENDING": "0",
        "USER_RATE_PER_MINUTE": "0",
        "VERSION_CHECK_S": "600",  # the new version must arrive by NOTIFY
        "TRAINING": "queue",
        "TRAINING_LEASE_S": "3",
        "RETRAIN_RECIPE": "reference",
        "RETRAIN_STEPS": "150",
        "RETRAIN_SEQ_LEN": "32",
        "RETRAIN_BATCH_SIZE": "16",
        "RETRAIN_HIDDEN_SIZE": "48",
        "RETRAIN_EMBED_SIZE": "16",
        "PROGRESS_EDIT_INTERVAL_S": "0",
    }
    async with (
        fresh_postgres_database("test_cluster_training") as url,
        FakeBotApi(TEST_TOKEN) as api,
        running_cluster(bots, api, url, replicas=2, env=env) as cluster,
        trainer(url, tmp_path / "trainer", bots) as worker,
    ):
        admin = api.user(ADMIN)
        # Through nginx: whichever replica takes it queues the run.
        await api.send_document(admin, "corpus.txt", NEW_TEXT.encode(), caption="/retrain fresh")

        def texts() -> list[str]:
            return [m.text or "" for m in api.messages_to(ADMIN)]

        await api.wait_for(lambda: outcome_messages(texts(), 1) or None, 180)
        await asyncio.sleep(2.0)  # a second outcome, from the other replica, would come now
        [outcome] = outcome_messages(texts(), 1)
        assert "Version 2 is now active" in outcome, (outcome, worker.lines)
        assert_no_sql(texts())
        [status] = [m for m in api.messages_to(ADMIN) if m.edits]
        assert status.edits[-1] == "Training run #1: done.", status.edits

        async def both_serve_2() -> bool:
            return set((await cluster.replica_versions()).values()) == {2}

        await wait_until(both_serve_2, 10, "both replicas serving version 2")
        # Each replica writes with version 2, whichever nginx picks.
        users = [api.user(7100 + i) for i in range(6)]
        for user in users:
            await api.send_text(user, f"/write {SEED}")
        await wait_until(lambda: _answered(api, [u.id for u in users]), 60, "the /write replies")
        assert await _versions_written(url, [u.id for u in users]) == {2}
    for replica in cluster.replicas:
        assert TEST_TOKEN not in replica.text()
        assert "Traceback" not in replica.text()
    assert not any(TEST_TOKEN in line for line in worker.lines)


async def _versions_written(url: str, users: list[int]) -> set[int | None]:
    storage = await Storage.open(url, migrate=False)
    try:
        async with storage.session_maker() as session:
            rows = await session.scalars(
                select(GenerationRow.model_version_id).where(GenerationRow.user_id.in_(users))
            )
            return set(rows.all())
    finally:
        await storage.close()


async def _answered(api: FakeBotApi, users: list[int]) -> bool:
    return all(api.messages_to(u) for u in users)
