"""Two real ``python -m bot`` replicas behind a real nginx, on real PostgreSQL.

The loopback Bot API server posts webhooks through nginx running the repository's own
config (tests/cluster.py); nginx's access log says which replica took each update.

One test walks through the phases on one cluster, since starting two replicas (torch
imports on 2 cores) is most of its cost: a fresh database shared by two replicas
starting at once; 50 users' /write answered exactly once, spread over both; a wrong
secret refused through nginx; the rate limit held across replicas; ``/use`` on B
reaching A; ``/block`` on A reaching B; kill -9 of A during a 100-user burst, after
which every user has exactly one text.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text

from bot.storage import Storage
from tests.botapi import SECRET_HEADER, FakeBotApi
from tests.cluster import NGINX, SECRET, Cluster, running_cluster, upstreams, wait_until
from tests.conftest import TINY_TEXT
from tests.harness import TEST_TOKEN, prepare_workdir
from tests.postgres import fresh_postgres_database, needs_postgres
from tests.test_inbox_e2e import kill_outside_a_send

ADMIN = 5000
SEED = "في الصباح"
BURST = 100  # users writing at once when a replica is killed

pytestmark = [
    needs_postgres,
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed (bash .ci/nginx.sh)"),
]


@asynccontextmanager
async def two_replicas(tmp_path: Path, tiny_checkpoint_path: Path) -> AsyncIterator[Cluster]:
    prepare_workdir(tmp_path, tiny_checkpoint_path, TINY_TEXT)
    # A first start: no model yet. Both replicas start at once; one trains it.
    (tmp_path / "checkpoints" / "default.pt").unlink()
    env = {
        "DEFAULT_TRAIN_STEPS": "5",
        "ADMIN_IDS": str(ADMIN),
        "RATE_LIMIT": "false",
        "USER_MAX_PENDING": "0",
        "USER_RATE_PER_MINUTE": "3",
        # No periodic help: a version change must arrive by LISTEN/NOTIFY.
        "VERSION_CHECK_S": "600",
        # The killed replica's claims are taken over when this runs out: the shortest
        # lease the setting allows, so the test waits 3 s rather than the default 15.
        "INBOX_LEASE_S": "3",
    }
    async with (
        fresh_postgres_database("test_cluster_e2e") as url,
        FakeBotApi(TEST_TOKEN) as api,
    ):
        api.webhook_concurrency = 8  # Telegram posts over several connections at once
        async with running_cluster(tmp_path, api, url, replicas=2, env=env) as cluster:
            yield cluster


def texts_to(api: FakeBotApi, user_id: int, prefix: str) -> list[str]:
    return [
        m.raw_text or "" for m in api.messages_to(user_id) if (m.raw_text or "").startswith(prefix)
    ]


# Two bot processes (torch imports, a first training) plus six phases: well over the
# suite's default per-test timeout on a loaded 2-core machine.
@pytest.mark.slow
@pytest.mark.timeout(480)
async def test_two_replicas_behind_nginx_share_users_versions_limits_and_survive_a_kill(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with two_replicas(tmp_path, tiny_checkpoint_path) as cluster:
        api, (a, b) = cluster.api, cluster.replicas
        # Two replicas started at once on a fresh database: one trained and registered
        # the default model, the other waited for it and loaded that same version.
        versions = await cluster.replica_versions()
        assert len(versions) == 2 and set(versions.values()) == {1}, versions
        trained = [r.name for r in cluster.replicas if "training the default model" in r.text()]
        assert len(trained) == 1, trained

        # 1. /write from 50 users: every one answered exactly once, over both replicas.
        users = [api.user(7000 + i) for i in range(50)]
        for user in users:
            await api.send_text(user, f"/write {SEED}")

        async def all_answered() -> bool:
            return all(texts_to(api, u.id, SEED) for u in users)

        await wait_until(all_answered, 120, "50 replies")
        await asyncio.sleep(1.0)  # a duplicate would arrive now
        for user in users:
            assert len(api.messages_to(user.id)) == 1, api.describe(user.id)
        spread = upstreams(tmp_path)
        assert set(spread) == {f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"}, spread
        assert min(spread.values()) >= 10, spread
        stored = await cluster.generations()
        assert {u.id: texts_to(api, u.id, SEED)[0] for u in users} == {
            u.id: stored[u.id] for u in users
        }

        # 2. A wrong or missing secret is refused through nginx, and nothing is handled.
        stranger = api.user(7999)
        update = {
            "update_id": 1,
            "message": {
                "message_id": 1, "date": 1_700_000_000, "text": "/write البحر",
                "chat": {"id": stranger.id, "type": "private"}, "from": stranger.to_dict(),
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        }  # fmt: skip
        assert api.webhook is not None
        async with aiohttp.ClientSession() as http:
            for headers in ({SECRET_HEADER: "wrong"}, {}):
                for _ in range(2):  # whichever replica nginx picks
                    async with http.post(api.webhook.url, json=update, headers=headers) as r:
                        assert r.status == 403
        await asyncio.sleep(0.5)
        assert api.messages_to(stranger.id) == []

        # 3. The rate limit (3 a minute) holds across replicas: 6 /write spread over both
        # give 3 texts and one "try again" (per replica, it would give 6).
        flooder = api.user(7500)
        for _ in range(6):
            await api.send_text(flooder, f"/write {SEED}")

        async def flood_handled() -> bool:
            return not api.pending_updates and len(api.messages_to(flooder.id)) >= 4

        await wait_until(flood_handled, 60, "the flood handled")
        await asyncio.sleep(1.0)
        replies = [m.raw_text or "" for m in api.messages_to(flooder.id)]
        assert len(texts_to(api, flooder.id, SEED)) == 3, replies
        assert len(replies) == 4, replies

        # 4. /use on replica B (posted straight to its port) reaches A through NOTIFY.
        await register_copy_of_default(cluster)
        admin = api.user(ADMIN)
        assert await api.send_text_to(b.url, admin, "/use 2", SECRET) == 200
        [done] = await api.wait_for_messages(ADMIN, 1, timeout=30)
        assert "Version 2 is now active" in (done.text or "")

        async def both_serve_2() -> bool:
            return set((await cluster.replica_versions()).values()) == {2}

        await wait_until(both_serve_2, 10, "both replicas serving version 2")
        since = api.mark(ADMIN)
        await api.send_text(admin, "/models")
        [listing] = await api.wait_for_messages(ADMIN, 1, timeout=30, since=since)
        assert (listing.text or "").count(": version #2, seen") == 2, listing.text

        # 4b. /block on A (straight to its port) stops the user on B as well, by NOTIFY.
        troll = api.user(7800)
        since = api.mark(ADMIN)
        assert await api.send_text_to(a.url, admin, f"/block {troll.id} spam", SECRET) == 200
        await api.wait_for_messages(ADMIN, 1, timeout=30, since=since)
        await asyncio.sleep(3.0)  # propagation is meant to take well under 2 s
        assert await api.send_text_to(b.url, troll, f"/write {SEED}", SECRET) == 200
        await asyncio.sleep(3.0)
        assert texts_to(api, troll.id, SEED) == []  # at most the one polite notice
        assert len(api.messages_to(troll.id)) <= 1

        # 5. kill -9 of A in the middle of a 100-user burst: within 60 s every user has
        # exactly one text, the one stored, and nothing is left undelivered or unhandled
        # (B took over A's claims: texts stored and not sent are sent, texts handed to
        # Telegram are not sent again, updates not yet handled are handled).
        burst = [api.user(7600 + i) for i in range(BURST)]
        started = asyncio.get_running_loop().time()
        for user in burst:
            await api.send_text(user, f"/write {SEED}")

        def burst_answered() -> int:
            return sum(bool(texts_to(api, u.id, SEED)) for u in burst)

        await api.wait_for(lambda: burst_answered() >= 20 or None, 60, "20 replies")
        assert a.proc is not None

        async def replies_started(query: str) -> set[int]:
            storage = await Storage.open(cluster.database_url, migrate=False)
            try:
                async with storage.session_maker() as session:
                    return {int(u) for u in (await session.scalars(text(query))).all()}
            finally:
                await storage.close()

        await kill_outside_a_send(a.proc, api, burst, replies_started)
        assert burst_answered() < BURST, "the burst ended before the kill"
        left = 60 - (asyncio.get_running_loop().time() - started)
        await api.wait_for(lambda: burst_answered() == BURST or None, left, "every burst user")

        async def settled() -> bool:
            open_updates = await cluster.scalar(
                "SELECT count(*) FROM updates WHERE done_at IS NULL"
            )
            return not api.pending_updates and open_updates == 0

        await wait_until(settled, 30, "every update handled")
        await asyncio.sleep(1.0)  # a duplicate would arrive now
        stored = await cluster.generations()
        for user in burst:
            got = [m.raw_text or "" for m in api.messages_to(user.id)]
            assert got == [stored[user.id]], (user.id, got)
        undelivered = "SELECT count(*) FROM generations WHERE NOT delivered"
        assert await cluster.scalar(undelivered) == 0
    for replica in cluster.replicas:
        assert TEST_TOKEN not in replica.text()
        assert "Traceback" not in replica.text() or replica is a  # A died by SIGKILL


async def register_copy_of_default(cluster: Cluster) -> None:
    """Version 2: the default checkpoint under another name (a rollback target)."""
    source = cluster.workdir / "checkpoints" / "default.pt"
    copy = cluster.workdir / "checkpoints" / "v2.pt"
    shutil.copy(source, copy)
    storage = await Storage.open(cluster.database_url, migrate=False)
    try:
        default = await storage.get_model_version(1)
        assert default is not None
        version = await storage.register_model_version(
            checkpoint_path=str(copy),
            checkpoint_sha256=hashlib.sha256(copy.read_bytes()).hexdigest(),
            corpus_sha256=default.corpus_sha256,
            corpus_chars=default.corpus_chars,
            vocab_size=default.vocab_size,
            steps=default.steps,
            note="rollback target",
            activate=False,
        )
        assert version.id == 2
    finally:
        await storage.close()
