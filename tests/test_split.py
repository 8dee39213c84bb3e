"""Train / validation / test: the test part never influences anything training chooses."""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path

import pytest
import torch

from model.checkpoint import load_checkpoint
from model.recipe import SIZES, size_for
from model.sample import DEFAULT_TEMPERATURE
from model.split import part_sizes, split_parts, split_text
from model.train import TrainConfig, train
from tests.conftest import TINY_TEXT
from tests.processes import run_module


def test_three_parts_in_text_order_and_two_parts_as_before() -> None:
    text = "".join(chr(0x0627 + i % 20) for i in range(1000))
    train_text, val_text, test_text = split_parts(text, 0.05, 0.1)
    assert (len(train_text), len(val_text), len(test_text)) == (850, 50, 100)
    assert train_text + val_text + test_text == text
    assert part_sizes(1000, 0.1, 0.0) == (900, 100, 0)
    assert split_parts(text, 0.1)[:2] == split_text(text, 0.1)


def _with_test_part(tail: str) -> str:
    return TINY_TEXT + tail


CONFIG = TrainConfig(
    steps=60,
    seq_len=16,
    batch_size=8,
    hidden_size=24,
    embed_size=8,
    eval_every=10,
    log_every=10,
    val_fraction=0.1,
    test_fraction=0.2,
    mixture=True,
    patience=2,
)


def test_the_test_part_cannot_change_what_training_chooses() -> None:
    # the length of a tail that is exactly the test part of TINY_TEXT + tail
    n_test = next(k for k in range(1, 2000) if part_sizes(len(TINY_TEXT) + k, 0.1, 0.2)[2] == k)
    rng = random.Random(5)
    # Two texts that differ only in their test parts: one of them has characters the
    # rest of the text never uses, the other repeats the training text.
    strange = "".join(rng.choice("xyzقفغ ") for _ in range(n_test))
    a_text = _with_test_part(strange)
    b_text = _with_test_part(TINY_TEXT[:n_test])
    assert a_text[:-n_test] == b_text[:-n_test] and a_text[-n_test:] != b_text[-n_test:]
    a = train(a_text, CONFIG, device="cpu")
    b = train(b_text, CONFIG, device="cpu")
    assert a.vocab.itos == b.vocab.itos and "x" not in a.vocab.itos
    for key, value in a.model.state_dict().items():
        assert torch.equal(value, b.model.state_dict()[key]), key
    ignore = {"corpus_sha256", "corpus_chars", "elapsed_s", "history"}
    same = {k: v for k, v in a.metrics().items() if k not in ignore}
    assert same == {k: v for k, v in b.metrics().items() if k not in ignore}
    assert [h["val_loss"] for h in a.history] == [h["val_loss"] for h in b.history]
    assert a.mixture is not None and b.mixture is not None
    assert (a.mixture.order, a.mixture.weight, a.mixture.text) == (
        b.mixture.order,
        b.mixture.weight,
        b.mixture.text,
    )
    assert a.mixture.text not in a_text[-n_test:]


def test_a_test_part_needs_room() -> None:
    with pytest.raises(ValueError, match="test-fraction"):
        TrainConfig(val_fraction=0.5, test_fraction=0.45)


def test_the_network_grows_with_the_text_within_the_time_budget() -> None:
    assert size_for(20_000, 2_000)["hidden_size"] == 128
    assert "dropout" not in size_for(20_000, 2_000)  # the text-sized regularisation stays
    assert size_for(80_000, 4_000) == {
        "hidden_size": 256,
        "embed_size": 64,
        "dropout": 0.4,
        "weight_drop": 0.25,
    }
    assert size_for(130_000, 7_000)["hidden_size"] == 384
    assert size_for(5_000_000, 60_000)["hidden_size"] == 512

    def pace(hidden: int, embed: int) -> float:
        return hidden / 1000  # 0.384 s a step at 384, 0.256 at 256, 0.128 at 128

    # 7,000 steps: 384 needs 2,688 s, 256 1,792 s, 128 896 s; 70 % of the budget counts
    assert size_for(130_000, 7_000, 4_000, pace)["hidden_size"] == 384
    assert size_for(130_000, 7_000, 3_000, pace)["hidden_size"] == 256
    assert size_for(130_000, 7_000, 1_000, pace)["hidden_size"] == 128  # the smallest, always
    assert [s[1] for s in SIZES] == sorted(s[1] for s in SIZES)


def test_for_recipe_sizes_the_network_unless_sizes_are_given() -> None:
    sized = TrainConfig.for_recipe("fit", text_chars=150_000, device="cpu", time_budget_s=0.0)
    assert (sized.hidden_size, sized.embed_size, sized.dropout) == (384, 64, 0.45)
    given = TrainConfig.for_recipe("fit", text_chars=150_000, hidden_size=128, time_budget_s=0.0)
    assert given.hidden_size == 128 and given.dropout == 0.15
    explicit = TrainConfig.for_recipe("fit", text_chars=150_000, dropout=0.2, time_budget_s=0.0)
    assert (explicit.hidden_size, explicit.dropout, explicit.weight_drop) == (384, 0.2, 0.3)
    assert TrainConfig.for_recipe("reference", text_chars=150_000).hidden_size == 128


@pytest.mark.slow
def test_cli_eval_reports_the_test_part_the_mixture_and_realism(tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text(TINY_TEXT * 2, encoding="utf-8")
    out = tmp_path / "m.pt"
    flags = ["--steps", "40", "--hidden-size", "24", "--embed-size", "8", "--seq-len", "16"]
    flags += ["--batch-size", "8", "--val-fraction", "0.1", "--test-fraction", "0.15"]
    proc = _cli("train", "--corpus", str(corpus), "--out", str(out), "--recipe", "fit", *flags)
    assert proc.returncode == 0, proc.stderr
    checkpoint = load_checkpoint(out, "cpu")
    assert checkpoint.mixture is not None and checkpoint.train_config["test_fraction"] == 0.15
    assert checkpoint.metrics["command"].startswith("python -m model train --corpus")
    report = json.loads(
        _cli("eval", "--checkpoint", str(out), "--corpus", str(corpus), "--json").stdout
    )
    held = report["held_out"]
    n_test = part_sizes(len(TINY_TEXT) * 2, 0.1, 0.15)[2]
    assert held["part"] == "test" and held["chars"] + held["skipped_unknown"] == n_test
    assert set(held["ngram"]) == {"3", "4", "5", "6", "7"}
    assert held["mixture"] is not None and held["best_ngram_order"] in (3, 4, 5, 6, 7)
    realism = report["realism"]
    assert realism["settings"]["temperature"] == DEFAULT_TEMPERATURE
    assert realism["model"]["words"] >= 2500 and realism["ngram"]["words"] >= 2500
    plain = _cli("eval", "--checkpoint", str(out), "--corpus", str(corpus), "--no-realism")
    assert "test part" in plain.stdout and "served: LSTM" in plain.stdout
    assert "realism" not in plain.stdout


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_module("model", *args, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600)
