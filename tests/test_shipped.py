"""The shipped default model: served only when its bytes and its corpus are the recorded ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.checkpoint import Checkpoint, save_checkpoint
from model.shipped import SHIPPED_MODEL, checksum_path, load_shipped, write_checksum
from model.text import read_corpus
from model.train import TrainResult


@pytest.fixture
def shipped(trained_tiny: TrainResult, tmp_path: Path) -> Path:
    path = tmp_path / "default-model.pt"
    save_checkpoint(Checkpoint.from_result(trained_tiny), path)
    write_checksum(path)
    return path


def test_the_recorded_file_on_its_corpus_is_served(shipped: Path, tiny_text: str) -> None:
    result = load_shipped(shipped, tiny_text, "cpu")
    assert isinstance(result, Checkpoint)
    assert result.path == shipped
    assert checksum_path(shipped).read_text().split() == [result.sha256, shipped.name]
    # the corpus as a file would give it (CRLF, a BOM-less copy) is the same corpus
    assert isinstance(load_shipped(shipped, tiny_text.replace("\n", "\r\n"), "cpu"), Checkpoint)


def test_a_missing_file_is_one_line(tmp_path: Path, tiny_text: str) -> None:
    reason = load_shipped(tmp_path / "absent.pt", tiny_text)
    assert reason == f"no shipped model at {tmp_path / 'absent.pt'}"


def test_a_missing_checksum_is_one_line(shipped: Path, tiny_text: str) -> None:
    checksum_path(shipped).unlink()
    reason = load_shipped(shipped, tiny_text)
    assert isinstance(reason, str) and "checksum file" in reason and "\n" not in reason


def test_a_damaged_file_is_refused_before_it_is_loaded(shipped: Path, tiny_text: str) -> None:
    data = bytearray(shipped.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shipped.write_bytes(bytes(data))
    reason = load_shipped(shipped, tiny_text)
    assert isinstance(reason, str) and "is damaged" in reason and "\n" not in reason


def test_a_file_that_matches_its_checksum_but_is_no_checkpoint_is_refused(
    tmp_path: Path, tiny_text: str
) -> None:
    path = tmp_path / "default-model.pt"
    path.write_bytes(b"not a checkpoint")
    write_checksum(path)
    reason = load_shipped(path, tiny_text)
    assert isinstance(reason, str) and reason.startswith("the shipped model cannot be loaded")


def test_a_model_of_another_corpus_is_refused(shipped: Path, tiny_text: str) -> None:
    reason = load_shipped(shipped, tiny_text + "نص آخر\n")
    assert isinstance(reason, str) and "another corpus" in reason and "\n" not in reason


def test_the_repository_ships_a_model_of_the_default_corpus() -> None:
    if not SHIPPED_MODEL.exists():
        pytest.skip("no data/default-model.pt in this checkout")
    corpus = read_corpus(SHIPPED_MODEL.parent / "arabic_text.txt")
    result = load_shipped(SHIPPED_MODEL, corpus, "cpu")
    assert isinstance(result, Checkpoint), result
    assert result.mixture is not None
    assert result.metrics["command"].startswith("python -m model train")


def test_a_shipped_model_is_readable_by_other_users(tmp_path: Path) -> None:
    """The image runs the bot as an unprivileged user: a model saved owner-only (atomic
    writes go through mkstemp) must become world-readable once it is shipped."""
    path = tmp_path / "m.pt"
    path.write_bytes(b"weights")
    path.chmod(0o600)
    write_checksum(path)
    assert path.stat().st_mode & 0o777 == 0o644
    assert checksum_path(path).stat().st_mode & 0o777 == 0o644
