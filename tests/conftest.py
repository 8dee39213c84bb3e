"""Shared fixtures: small real models trained in seconds, so tests stay fast on 2 cores."""

from __future__ import annotations

import fcntl
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import torch

from model.checkpoint import Checkpoint, save_checkpoint
from model.gc_policy import freeze_start_up_objects
from model.train import TrainConfig, TrainResult, train

if TYPE_CHECKING:
    from tests.botapi import FakeUser
    from tests.harness import Harness

if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs three workers on two cores: torch's default of one thread per core
    # in each of them oversubscribes the CPU (a 7 s training test took 78 s in the suite).
    torch.set_num_threads(1)
    # The same for the processes the tests start (bots, trainers, `python -m model`),
    # which inherit the environment: their OpenMP threads would spin on cores the other
    # workers need (a 6 s CLI training test took 28 s in the suite).
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` (8 s or more each on 2 cores) run first. xdist hands the
    first quarter of the list out round robin and the rest on demand: long tests at the
    front spread over the workers, short ones fill the gaps at the end. In file order a
    40 s test could start last and leave the other workers idle for its whole length
    (the last minute of the suite ran at 45 % of the CPU)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_collection_finish(session: pytest.Session) -> None:
    """What collection imported (torch, telegram, every test module) lives as long as
    the worker: freeze it, so that the collector's full scans during the tests walk
    only what the tests make (see model/gc_policy.py)."""
    freeze_start_up_objects()


TINY_TEXT = (
    "في الصباح يذهب الولد إلى المدرسة ويحمل كتبه في حقيبة زرقاء.\n"
    "البحر هادئ اليوم والسماء صافية والطيور تطير فوق الماء.\n"
    "قالت الجدة إن الصبر مفتاح الفرج وإن العمل يصنع الأمل.\n"
    "في المدينة القديمة شوارع ضيقة ومقاه صغيرة وأضواء دافئة.\n"
    "الحاسوب يتعلم الحروف واحدا بعد واحد حتى يكتب جملة كاملة.\n"
) * 4

TINY_CONFIG = TrainConfig(
    steps=300,
    seq_len=32,
    batch_size=16,
    hidden_size=64,
    embed_size=16,
    eval_every=100,
    log_every=50,
)


@pytest.fixture(scope="session")
def tiny_text() -> str:
    return TINY_TEXT


@pytest.fixture(scope="session")
def trained_tiny(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    """The tiny model, trained once per test run: under xdist the first worker trains it
    and the others load what it saved (each worker would otherwise train its own)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    saved = shared / "trained_tiny.pt"
    with (shared / "trained_tiny.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if saved.exists():
            result: TrainResult = torch.load(saved, weights_only=False)
            return result
        result = train(TINY_TEXT, TINY_CONFIG, device="cpu")
        torch.save(result, saved.with_suffix(".tmp"))
        saved.with_suffix(".tmp").replace(saved)
        return result


@pytest.fixture(scope="session")
def tiny_checkpoint_path(
    trained_tiny: TrainResult, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    save_checkpoint(Checkpoint.from_result(trained_tiny), path)
    return path


@pytest.fixture
async def harness(
    request: pytest.FixtureRequest, tmp_path: Path, tiny_checkpoint_path: Path
) -> AsyncIterator[Harness]:
    """The real bot on a fresh data directory, talking to its own loopback Bot API.

    A test module that needs other settings for every test names them once, as a dict
    called ``HARNESS_SETTINGS`` at its top.
    """
    from tests.harness import running_bot  # it imports TINY_TEXT from here

    overrides: dict[str, Any] = getattr(request.module, "HARNESS_SETTINGS", {})
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, **overrides) as h:
        yield h


@pytest.fixture
def admin(harness: Harness) -> FakeUser:
    """A user whose id is in ADMIN_IDS."""
    from tests.harness import ADMIN_ID

    return harness.api.user(ADMIN_ID, "Admin")
