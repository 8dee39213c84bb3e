"""Shared fixtures: small real models trained in seconds, so tests stay fast on 2 cores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from model.checkpoint import Checkpoint, save_checkpoint
from model.train import TrainConfig, TrainResult, train

if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs three workers on two cores: torch's default of one thread per core
    # in each of them oversubscribes the CPU (a 7 s training test took 78 s in the suite).
    torch.set_num_threads(1)

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
def trained_tiny() -> TrainResult:
    return train(TINY_TEXT, TINY_CONFIG, device="cpu")


@pytest.fixture(scope="session")
def tiny_checkpoint_path(
    trained_tiny: TrainResult, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    save_checkpoint(Checkpoint.from_result(trained_tiny), path)
    return path
