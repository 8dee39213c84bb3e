"""The first start serves the shipped default model, or says in one line why not and
trains as before. The real bot over HTTP against the loopback Bot API, SQLite on disk."""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.runner import RunningBot
from model.shipped import write_checksum
from tests.botapi import FakeBotApi
from tests.conftest import TINY_TEXT
from tests.harness import TEST_TOKEN, make_settings

OTHER_TEXT = "نص آخر لم يتدرب عليه النموذج المشحون، فلا يصلح له.\n" * 20


@asynccontextmanager
async def first_start(workdir: Path, shipped: Path, corpus: str) -> AsyncIterator[RunningBot]:
    """A bot on an empty data directory (no checkpoint, no database)."""
    workdir.mkdir()
    (workdir / "corpus.txt").write_text(corpus, encoding="utf-8")
    async with FakeBotApi(TEST_TOKEN) as api:
        settings = make_settings(api, workdir, shipped_model=shipped, default_train_steps=5)
        bot = RunningBot(settings)
        await bot.start()
        try:
            yield bot
        finally:
            await bot.stop()


def shipped_copy(tmp_path: Path, source: Path) -> Path:
    path = tmp_path / "ship" / "default-model.pt"
    path.parent.mkdir()
    shutil.copyfile(source, path)
    write_checksum(path)
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def first_start_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "bot.ops.bootstrap" and "shipped model" in r.getMessage()
    ]


@pytest.mark.slow
async def test_a_fitting_shipped_model_is_served_as_version_1_without_training(
    tmp_path: Path, tiny_checkpoint_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shipped = shipped_copy(tmp_path, tiny_checkpoint_path)
    caplog.set_level(logging.INFO)
    async with first_start(tmp_path / "data", shipped, TINY_TEXT) as bot:
        storage = bot.application.bot_data["services"].storage
        [version] = await storage.list_model_versions()
        assert (version.id, version.is_active, version.checkpoint_sha256) == (1, True, sha(shipped))
    assert not any("training the default model" in r.getMessage() for r in caplog.records)
    assert first_start_lines(caplog) == [f"serving the shipped model {shipped} ({sha(shipped)})"]


@pytest.mark.parametrize("fault", ["missing", "damaged", "other corpus"])
async def test_an_unusable_shipped_model_is_one_line_and_the_default_is_trained(
    fault: str, tmp_path: Path, tiny_checkpoint_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shipped = shipped_copy(tmp_path, tiny_checkpoint_path)
    corpus = TINY_TEXT
    if fault == "missing":
        shipped.unlink()
    elif fault == "damaged":
        shipped.write_bytes(shipped.read_bytes()[:-10])
    else:
        corpus = OTHER_TEXT
    caplog.set_level(logging.INFO)
    async with first_start(tmp_path / "data", shipped, corpus) as bot:
        storage = bot.application.bot_data["services"].storage
        [version] = await storage.list_model_versions()
        assert version.id == 1 and version.is_active
        assert version.checkpoint_sha256 != sha(tiny_checkpoint_path)
    [line] = first_start_lines(caplog)
    expected = {
        "missing": "no shipped model",
        "damaged": "is damaged",
        "other corpus": "another corpus",
    }
    assert line.startswith("not serving the shipped model: ") and expected[fault] in line
    assert line.endswith("; training the default model")
