"""A real Prometheus (Debian's package, ``.ci/prometheus.sh``) scraping a running bot and
its trainer, on real PostgreSQL.

The bot runs in this process (polling the loopback Bot API, ``TRAINING=queue``), the
trainer as ``python -m bot.trainer``; each serves ``/metrics`` on a ``HEALTH_PORT`` of its
own, and Prometheus scrapes both every second with a configuration shaped like
docker/monitoring/prometheus.yml. A query through Prometheus's HTTP API sees both
targets up and the generation counter rise by exactly the burst's size.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import TINY_TEXT
from tests.harness import running_bot
from tests.postgres import fresh_postgres_database, needs_postgres
from tests.processes import start_module, stop
from tests.test_operability_e2e import SEED, free_port

PROMETHEUS = shutil.which("prometheus") or (
    "/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None
)
ROOT = Path(__file__).resolve().parents[1]
BURST = 20
DELIVERED = 'sum(bot_generations_total{job="bot",outcome="delivered"})'

pytestmark = [
    needs_postgres,
    pytest.mark.skipif(
        PROMETHEUS is None, reason="prometheus is not installed (bash .ci/prometheus.sh)"
    ),
]


@asynccontextmanager
async def trainer(url: str, work: Path, port: int) -> AsyncIterator[asyncio.subprocess.Process]:
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    env.update(
        DATABASE_URL=url, TRAINING="queue", DEVICE="cpu", PYTHONPATH=str(ROOT),
        CHECKPOINT_DIR=str(work / "trainer"), CORPUS_DIR=str(work / "trainer-corpora"),
        HEALTH_PORT=str(port), LOG_LEVEL="INFO",
    )  # fmt: skip
    with (work / "trainer.log").open("wb") as log:
        process = await start_module("bot.trainer", cwd=work, env=env, stdout=log, stderr=log)
    try:
        yield process
    finally:
        await stop(process)


@asynccontextmanager
async def prometheus(work: Path, targets: dict[str, int]) -> AsyncIterator[str]:
    """Prometheus scraping ``job -> port`` every second; yields its HTTP API's URL."""
    jobs = "".join(
        f"  - job_name: {job}\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
        for job, port in targets.items()
    )
    config = work / "prometheus.yml"
    config.write_text(f"global:\n  scrape_interval: 1s\nscrape_configs:\n{jobs}")
    port = free_port()
    assert PROMETHEUS is not None
    with (work / "prometheus.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={work / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}", stdout=log, stderr=log,
        )  # fmt: skip
    try:
        yield f"http://127.0.0.1:{port}/api/v1/query"
    finally:
        await stop(process)


async def query(session: aiohttp.ClientSession, api: str, promql: str) -> dict[str, float]:
    """Instant query: each series' job (or "") -> value; empty while Prometheus starts."""
    try:
        async with session.get(api, params={"query": promql}) as response:
            body = await response.json()
    except (aiohttp.ClientError, ValueError):
        return {}
    if body.get("status") != "success":
        return {}
    return {r["metric"].get("job", ""): float(r["value"][1]) for r in body["data"]["result"]}


async def until(check: object, timeout: float, what: str, work: Path) -> dict[str, float]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await check()  # type: ignore[operator]
        if found:
            return found  # type: ignore[no-any-return]
        if asyncio.get_running_loop().time() > deadline:
            logs = (work / "prometheus.log").read_text(errors="replace")[-2000:]
            raise AssertionError(f"timed out waiting for {what}\n{logs}")
        await asyncio.sleep(0.5)


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_prometheus_scrapes_the_bot_and_its_trainer_and_sees_a_burst(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    bot_port, trainer_port = free_port(), free_port()
    async with (
        fresh_postgres_database("test_prometheus") as url,
        running_bot(
            tmp_path, tiny_checkpoint_path, TINY_TEXT,
            database_url=url, training="queue", health_port=bot_port,
        ) as h,
        trainer(url, tmp_path, trainer_port),
        prometheus(tmp_path, {"bot": bot_port, "trainer": trainer_port}) as api,
        aiohttp.ClientSession() as session,
    ):  # fmt: skip

        async def both_up() -> dict[str, float]:
            up = await query(session, api, "up")
            return up if up.get("bot") == 1 and up.get("trainer") == 1 else {}

        await until(both_up, 120, "both targets up", tmp_path)
        ready = await query(session, api, "bot_ready")
        assert ready == {"bot": 1.0, "trainer": 1.0}
        before = (await until(lambda: query(session, api, DELIVERED), 30, "a value", tmp_path))[""]

        users = [h.api.user(900 + i) for i in range(BURST)]
        replies = await asyncio.gather(*(h.ask(u, f"/write {SEED}") for u in users))
        assert [len(r) for r in replies] == [1] * BURST  # every user answered exactly once

        async def risen() -> dict[str, float]:
            now = await query(session, api, DELIVERED)
            return now if now.get("", before) >= before + BURST else {}

        after = (await until(risen, 60, "the burst in Prometheus", tmp_path))[""]
        assert after - before == BURST
        # The trainer's own series: its process metrics and its (idle) training gauge.
        progress = await query(session, api, "bot_training_progress_ratio")
        assert progress.get("trainer") == 0.0
