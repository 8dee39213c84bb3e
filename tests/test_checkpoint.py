from pathlib import Path

import pytest
import torch

from model.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from model.errors import CheckpointError
from model.sample import sample
from model.train import TrainResult


def test_round_trip_keeps_weights_vocab_and_metrics(
    trained_tiny: TrainResult, tmp_path: Path
) -> None:
    path = tmp_path / "m.pt"
    digest = save_checkpoint(Checkpoint.from_result(trained_tiny), path)
    loaded = load_checkpoint(path, "cpu")
    assert loaded.sha256 == digest
    assert loaded.vocab == trained_tiny.vocab
    assert loaded.metrics["corpus_chars"] == trained_tiny.corpus_chars
    assert loaded.metrics["val_loss"] == trained_tiny.val_loss
    assert loaded.train_config["seq_len"] == 32
    a = sample(trained_tiny.model, trained_tiny.vocab, "في", 50, 1.0, rng_seed=5).text
    b = sample(loaded.model, loaded.vocab, "في", 50, 1.0, rng_seed=5).text
    assert a == b


def test_save_is_atomic_and_leaves_no_temporary_files(
    trained_tiny: TrainResult, tmp_path: Path
) -> None:
    path = tmp_path / "sub" / "m.pt"
    save_checkpoint(Checkpoint.from_result(trained_tiny), path)
    save_checkpoint(Checkpoint.from_result(trained_tiny), path)
    assert [p.name for p in path.parent.iterdir()] == ["m.pt"]


def test_missing_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.pt")


def test_truncated_checkpoint_is_a_clear_error(tiny_checkpoint_path: Path, tmp_path: Path) -> None:
    bad = tmp_path / "cut.pt"
    bad.write_bytes(tiny_checkpoint_path.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(bad)


def test_random_bytes_are_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "junk.pt"
    bad.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(CheckpointError):
        load_checkpoint(bad)


def test_foreign_torch_file_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(CheckpointError, match="not a checkpoint of this project"):
        load_checkpoint(other)


def test_checkpoint_with_mismatched_weights_is_damaged(
    trained_tiny: TrainResult, tmp_path: Path
) -> None:
    payload = Checkpoint.from_result(trained_tiny).to_payload()
    payload["vocab"] = payload["vocab"][:-1]
    path = tmp_path / "bad.pt"
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="damaged"):
        load_checkpoint(path)


def test_loads_onto_the_cpu_when_cuda_is_asked_for_but_absent(tiny_checkpoint_path: Path) -> None:
    loaded = load_checkpoint(
        tiny_checkpoint_path, "cuda" if not torch.cuda.is_available() else "cpu"
    )
    assert loaded.model.embed.weight.device.type == "cpu"
