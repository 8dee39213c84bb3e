"""The CLI as a user runs it: a real subprocess, one clear line on mistakes, no traceback."""

import json
import subprocess
import sys
from pathlib import Path

import pytest


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "model", *args], capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, tiny_text: str) -> Path:
    path = tmp_path_factory.mktemp("cli") / "corpus.txt"
    path.write_text(tiny_text, encoding="utf-8")
    return path


def test_train_with_jsonl_progress_writes_a_checkpoint(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.pt"
    proc = run_cli(
        "train", "--corpus", str(corpus), "--out", str(out), "--steps", "30", "--seq-len", "16",
        "--batch-size", "8", "--hidden-size", "32", "--eval-every", "10", "--progress", "jsonl",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert events[0]["event"] == "start" and events[-1]["event"] == "done"
    progress = [e for e in events if e["event"] == "progress"]
    assert progress[-1]["step"] == 30
    assert all("train_loss" in e for e in progress)
    assert [e["step"] for e in progress if e["val_loss"] is not None] == [10, 20, 30]
    assert out.exists() and events[-1]["sha256"]


def test_generate_prints_seed_and_continuation(tiny_checkpoint_path: Path) -> None:
    args = ("generate", "--checkpoint", str(tiny_checkpoint_path), "--seed", "في الصباح")
    first = run_cli(*args, "--length", "40", "--rng-seed", "3", "--temperature", "0.8")
    second = run_cli(*args, "--length", "40", "--rng-seed", "3", "--temperature", "0.8")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("في الصباح")
    assert len(first.stdout.rstrip("\n")) == len("في الصباح") + 40
    assert first.stdout == second.stdout


def test_eval_reports_loss_and_bits_per_char(tiny_checkpoint_path: Path, corpus: Path) -> None:
    proc = run_cli(
        "eval", "--checkpoint", str(tiny_checkpoint_path), "--corpus", str(corpus), "--json"
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["bits_per_char"] == pytest.approx(report["loss"] / 0.6931471805599453)


@pytest.mark.parametrize(
    "case,expect",
    [
        ("missing_corpus", "corpus file not found"),
        ("bad_utf8", "not valid UTF-8"),
        ("too_short", "too short"),
        ("missing_checkpoint", "checkpoint not found"),
        ("corrupt_checkpoint", "not a readable checkpoint"),
        ("unknown_seed", "none of the seed's characters are known"),
        ("zero_temperature", "must be a positive number"),
    ],
)
@pytest.mark.slow
def test_user_mistakes_are_one_clear_line_without_traceback(
    case: str, expect: str, tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    ckpt = str(tiny_checkpoint_path)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\x00abc")
    short = tmp_path / "short.txt"
    short.write_text("قصير", encoding="utf-8")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint")
    out = str(tmp_path / "o.pt")
    args = {
        "missing_corpus": ("train", "--corpus", str(tmp_path / "none.txt"), "--out", out),
        "bad_utf8": ("train", "--corpus", str(bad), "--out", out),
        "too_short": ("train", "--corpus", str(short), "--out", out),
        "missing_checkpoint": ("generate", "--checkpoint", str(tmp_path / "x.pt"), "--seed", "في"),
        "corrupt_checkpoint": ("generate", "--checkpoint", str(corrupt), "--seed", "في"),
        "unknown_seed": ("generate", "--checkpoint", ckpt, "--seed", "hello"),
        "zero_temperature": (
            "generate",
            "--checkpoint",
            ckpt,
            "--seed",
            "في",
            "--temperature",
            "0",
        ),
    }[case]
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert expect in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not Path(out).exists()
