"""The reference recipe unchanged, the "fit" recipe, n-gram baselines, growth."""

from __future__ import annotations

import itertools
import json
import math
import random
import subprocess
from pathlib import Path

import pytest
import torch

from model.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from model.evaluation import compare
from model.grow import grow
from model.network import CharGenerator
from model.ngram import KneserNey, best_ngram
from model.recipe import (
    FINETUNE,
    LARGE_TEXT_REGULARISATION,
    SMALL_TEXT_REGULARISATION,
    auto_steps,
    learning_rate,
    recipe_overrides,
    regularisation,
)
from model.sample import sample
from model.scoring import evaluate, evaluate_stream
from model.split import split_text
from model.train import TrainConfig, TrainResult, train
from model.vocab import Vocabulary
from tests.conftest import TINY_TEXT
from tests.processes import run_module

# Recorded before the fit recipe existed (commit dee4530), reference flags, 40 steps on
# TINY_TEXT, CPU, one thread: (step, train loss, val loss). Any change to the reference
# path (optimiser, RNG draws, dropout calls, batch order) moves these by far more than
# the tolerance, which only absorbs float summation order on another CPU.
REFERENCE_CURVE = {
    0.0: [
        (1, 3.522988796234131, None),
        (10, 3.1551066504584417, None),
        (20, 2.6842035055160522, None),
        (30, 2.2275551080703737, None),
        (40, 1.7535153865814208, None),
    ],
    0.1: [
        (1, 3.5238699913024902, None),
        (10, 3.15285767449273, None),
        (20, 2.684589409828186, 2.5740554332733154),
        (30, 2.2511917114257813, None),
        (40, 1.7821489930152894, 1.596487283706665),
    ],
}

SMALL = {"seq_len": 16, "batch_size": 8, "hidden_size": 32, "embed_size": 8}


@pytest.mark.parametrize("val_fraction", [0.0, 0.1])
def test_reference_flags_reproduce_the_recorded_reference_curve(val_fraction: float) -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        config = TrainConfig(steps=40, val_fraction=val_fraction, eval_every=20, log_every=10)
        result = train(TINY_TEXT, config, device="cpu")
    finally:
        torch.set_num_threads(threads)
    got = [(h["step"], h["train_loss"], h["val_loss"]) for h in result.history]
    want = REFERENCE_CURVE[val_fraction]
    assert [g[0] for g in got] == [w[0] for w in want]
    for (_, train_got, val_got), (_, train_want, val_want) in zip(got, want, strict=True):
        assert train_got == pytest.approx(train_want, rel=1e-5, abs=1e-6)
        if val_want is None:
            assert val_got is None
        else:
            assert val_got == pytest.approx(val_want, rel=1e-5, abs=1e-6)
    assert result.stopped == "budget" and result.steps_run == 40


def _noise(n: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice("abcdefgh ") for _ in range(n))


def test_steps_auto_stops_early_on_a_tiny_text() -> None:
    # Random letters: nothing generalises, so validation stops improving once the
    # network starts memorising, and patience ends the run long before its budget.
    text = _noise(3000)
    config = TrainConfig(**{**recipe_overrides("fit"), **SMALL, "patience": 3})
    planned = auto_steps(len(split_text(text, 0.1)[0]), 8, 16)
    result = train(text, config, device="cpu")
    assert result.stopped == "early"
    assert result.steps_run < planned
    vals = [h["val_loss"] for h in result.history if h["val_loss"] is not None]
    assert result.val_loss == min(vals)  # the best weights were kept
    assert result.history[-1]["step"] == result.steps_run


def test_time_budget_shrinks_the_run_and_the_schedule_still_ends() -> None:
    config = TrainConfig(**{**recipe_overrides("fit"), **SMALL, "time_budget_s": 0.3})
    planned = auto_steps(len(split_text(TINY_TEXT, 0.1)[0]), 8, 16)
    seen: list[int] = []
    result = train(
        TINY_TEXT, config, device="cpu", on_progress=lambda p: seen.append(p.total_steps)
    )
    assert result.stopped == "time" and result.steps_run < planned
    assert seen[-1] == result.steps_run


def test_auto_steps_give_small_texts_many_passes_and_large_ones_few() -> None:
    per_step = 32 * 64
    small, large = auto_steps(3_000, 32, 64), auto_steps(9_000_000, 32, 64)
    assert small * per_step / 3_000 > 100  # passes over a small text
    assert large * per_step / 9_000_000 < small * per_step / 3_000 / 10
    assert auto_steps(100, 32, 64) >= 200


def test_one_cycle_schedule_warms_up_then_decays() -> None:
    rates = [learning_rate(1.0, "onecycle", s, 100) for s in range(1, 101)]
    assert rates[0] < rates[4] == pytest.approx(1.0)
    assert rates[-1] < 0.05 and all(a >= b for a, b in itertools.pairwise(rates[4:]))
    assert learning_rate(3e-3, "constant", 50, 100) == 3e-3


def test_fit_recipe_beats_the_reference_on_held_out_text() -> None:
    # The default corpus' first 5,000 characters, the same 500 steps each: the reference
    # recipe memorises the text, the fit recipe generalises better to its tail.
    text = Path("data/arabic_text.txt").read_text(encoding="utf-8")[:5000]
    base = {"seq_len": 32, "batch_size": 16, "hidden_size": 64, "embed_size": 16}
    reference = train(text, TrainConfig(steps=500, eval_every=25, **base), device="cpu")
    fit = train(
        text,
        TrainConfig.for_recipe("fit", 500, eval_every=25, time_budget_s=0.0, **base),
        device="cpu",
    )
    assert fit.val_stream_loss is not None and reference.val_stream_loss is not None
    assert fit.val_stream_loss < reference.val_stream_loss
    # and it does not overfit by its last step, where the reference has (by 0.05 bits)
    assert reference.last_val_loss is not None and reference.val_loss is not None
    assert fit.last_val_loss is not None and fit.val_loss is not None
    ref_gap = reference.last_val_loss - reference.val_loss
    assert ref_gap > 0.02 and fit.last_val_loss - fit.val_loss < ref_gap / 4


# ---------------------------------------------------------------- n-gram baseline


def test_kneser_ney_matches_a_hand_computed_value() -> None:
    # Train "abab", order 2. Bigram counts ab:2, ba:1, so D2 = n1/(n1+2 n2) = 1/3.
    # Continuation counts of unigrams: a:1 (after b), b:1 (after a); n1=2, n2=0 gives
    # D1 = 1, clamped to 0.95. P1(x) = max(1-0.95, 0)/2 + 0.95 * 2/2 * 1/|V|, |V| = 2: 0.5.
    # P(b|a) = (2 - 1/3)/2 + (1/3)(1/2)(0.5) = 11/12; P(a|b) = (1 - 1/3)/1 + (1/3)(1)(0.5) = 5/6.
    model = KneserNey("abab", 2)
    assert model.prob("a", "b") == pytest.approx(11 / 12)
    assert model.prob("b", "a") == pytest.approx(5 / 6)
    assert model.prob("a", "a") == pytest.approx(1 / 12)
    want = -(math.log(11 / 12) + math.log(5 / 6)) / 2
    assert model.cross_entropy("aba") == pytest.approx(want)


def test_kneser_ney_is_a_distribution_and_gives_unseen_characters_a_share() -> None:
    model = KneserNey("the cat sat on the mat. the rat ran.", 4, alphabet="xyz")
    alphabet = set("the cat sat on the mat. the rat ran.") | set("xyz")
    for context in ("the", "at", "zzz", ""):
        assert sum(model.prob(context, c) for c in alphabet) == pytest.approx(1.0)
    assert model.prob("the", "x") > 0


def test_best_order_is_chosen_on_the_training_part_alone() -> None:
    head, tail = split_text(Path("data/arabic_text.txt").read_text(encoding="utf-8"), 0.1)
    chosen = best_ngram(head, tail)
    assert chosen.order in (3, 4, 5, 6)
    # the tail never influenced the choice: a different tail gets the same order
    assert best_ngram(head, tail[::-1]).order == chosen.order
    assert chosen.bits_per_char < 3.2  # far below the unigram's 4.5 on this corpus


def test_stream_evaluation_carries_the_state(trained_tiny: TrainResult) -> None:
    ids = torch.tensor(trained_tiny.vocab.encode(TINY_TEXT[:600]))
    one = evaluate_stream(trained_tiny.model, ids)
    pieces = evaluate_stream(trained_tiny.model, ids, streams=20)
    blocks = evaluate_stream(trained_tiny.model, ids, block=7)
    assert blocks == pytest.approx(one, rel=1e-5)  # the state crosses block boundaries
    assert one < pieces  # 20 cold starts cost more than one


def test_every_training_reports_the_model_and_its_baselines(trained_tiny: TrainResult) -> None:
    r = trained_tiny
    assert r.val_stream_loss is not None and r.ngram_val_loss is not None
    assert r.ngram_order in (3, 4, 5, 6)
    m = r.metrics()
    assert m["val_stream_loss"] == r.val_stream_loss and m["ngram_val_loss"] == r.ngram_val_loss
    c = compare(r.model, r.vocab, TINY_TEXT, 0.1, r.config.seq_len)
    assert c.stream == pytest.approx(r.val_stream_loss, rel=1e-5)
    assert c.ngram == pytest.approx(r.ngram_val_loss)


# ---------------------------------------------------------------- vocabulary growth


def test_growth_keeps_old_rows_bit_identical_and_appends_new_characters(
    trained_tiny: TrainResult,
) -> None:
    old_vocab = trained_tiny.vocab
    new_vocab = old_vocab.extended("hello world, Zoë!")
    assert new_vocab.itos[: len(old_vocab)] == old_vocab.itos
    added = new_vocab.itos[len(old_vocab) :]
    assert added == sorted(set("hello world, Zoë!") - set(old_vocab.itos))
    grown = grow(trained_tiny.model, old_vocab, new_vocab, seed=1)
    before, after = trained_tiny.model.state_dict(), grown.state_dict()
    n = len(old_vocab)
    assert torch.equal(after["embed.weight"][:n], before["embed.weight"])
    assert torch.equal(after["fc.weight"][:n], before["fc.weight"])
    assert torch.equal(after["fc.bias"][:n], before["fc.bias"])
    for key in (k for k in before if k.startswith("lstm.")):
        assert torch.equal(after[key], before[key])
    assert after["embed.weight"].shape[0] == len(new_vocab)
    # Before training, the grown model writes like the old one on old characters.
    seed_ids = torch.tensor([old_vocab.encode("في الصباح")])
    old_logits, _ = trained_tiny.model(seed_ids)
    new_logits, _ = grown.eval()(seed_ids)
    # The weights are bit-identical (above); the logits only to rounding, because a wider
    # output matrix may take another BLAS kernel (it did under pytest-xdist).
    assert torch.allclose(new_logits[..., :n], old_logits, rtol=0, atol=1e-5)


def test_fine_tuning_grows_the_vocabulary_and_writes_new_characters(
    trained_tiny: TrainResult, tmp_path: Path
) -> None:
    latin = "the quick brown fox jumps over the lazy dog. " * 30
    config = TrainConfig(steps=150, eval_every=50, seq_len=32, batch_size=16, lr=1e-2)
    result = train(latin, config, device="cpu", init=(trained_tiny.model, trained_tiny.vocab))
    assert result.vocab.itos[: len(trained_tiny.vocab)] == trained_tiny.vocab.itos
    assert result.added_chars and set(result.added_chars) <= set(latin)
    assert result.metrics()["finetuned"] is True
    assert result.model.config.hidden_size == trained_tiny.model.config.hidden_size
    # The grown, unsorted vocabulary survives a checkpoint round trip.
    path = tmp_path / "grown.pt"
    save_checkpoint(Checkpoint.from_result(result), path)
    loaded = load_checkpoint(path, "cpu")
    assert loaded.vocab.itos == result.vocab.itos
    text = sample(loaded.model, loaded.vocab, "the ", 80, 0.5, None, 3).text
    assert set(text[4:]) & set(result.added_chars)  # it writes characters it did not know


def test_a_vocabulary_with_repeated_characters_is_refused() -> None:
    with pytest.raises(ValueError):
        Vocabulary.from_list(["a", "b", "a"])


# ---------------------------------------------------------------- the CLI


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_module("model", *args, timeout=300)


SMALL_FLAGS = ("--seq-len", "16", "--batch-size", "8", "--hidden-size", "32", "--embed-size", "8")


def _cli_train_fit(corpus: Path, out: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """``python -m model train --recipe fit`` on a small network."""
    return _cli(
        "train", "--corpus", str(corpus), "--out", str(out), "--recipe", "fit", *SMALL_FLAGS,
        *flags,
    )  # fmt: skip


@pytest.mark.slow
def test_cli_fit_recipe_with_steps_auto_reports_bits_and_the_baseline(tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text(_noise(2500), encoding="utf-8")
    out = tmp_path / "m.pt"
    proc = _cli_train_fit(corpus, out, "--steps", "auto", "--patience", "2", "--progress", "jsonl")
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    done = events[-1]
    assert done["event"] == "done" and done["recipe"] == "fit"
    assert done["stopped"] == "early"
    assert done["val_bits_per_char"] == pytest.approx(done["val_stream_loss"] / math.log(2))
    assert done["ngram_bits_per_char"] == pytest.approx(done["ngram_val_loss"] / math.log(2))
    progress = [e for e in events if e["event"] == "progress"]
    assert progress[-1]["step"] == progress[-1]["total_steps"] == done["steps_run"]
    # the start event announces the budget sized from the text, not the --steps default
    assert events[0]["event"] == "start"
    assert events[0]["steps"] == progress[0]["total_steps"] > done["steps_run"]

    # realism (samples judged by a dictionary) is the eval tests' subject in test_split.py
    plain = _cli("eval", "--checkpoint", str(out), "--corpus", str(corpus), "--no-realism")
    assert plain.returncode == 0, plain.stderr
    assert "one continuous stream" in plain.stdout and "Kneser-Ney" in plain.stdout
    # random letters: the n-gram and the network both sit near log2(9); whichever wins,
    # the report says which way
    assert ("below the n-gram baseline" in plain.stdout) or ("NOT below" in plain.stdout)
    as_json = _cli(
        "eval", "--checkpoint", str(out), "--corpus", str(corpus), "--json", "--no-realism"
    )
    report = json.loads(as_json.stdout)
    bits = report["validation"]["bits_per_char"]
    assert set(bits) == {"stream", "window", "unigram", "ngram"}
    assert bits["stream"] == pytest.approx(done["val_bits_per_char"], rel=1e-4)


def test_cli_fine_tunes_from_a_checkpoint_with_new_characters(
    tiny_checkpoint_path: Path, tmp_path: Path
) -> None:
    corpus = tmp_path / "latin.txt"
    corpus.write_text("the quick brown fox jumps over the lazy dog. " * 20, encoding="utf-8")
    old = tmp_path / "old.txt"
    old.write_text(TINY_TEXT, encoding="utf-8")
    out = tmp_path / "ft.pt"
    proc = _cli(
        "train", "--corpus", str(corpus), "--out", str(out), "--init", str(tiny_checkpoint_path),
        "--replay-corpus", str(old), "--steps", "30", "--seq-len", "16", "--batch-size", "8",
        "--progress", "none",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "bits/char" in proc.stdout and "baseline" in proc.stdout
    grown = load_checkpoint(out, "cpu")
    base = load_checkpoint(tiny_checkpoint_path, "cpu")
    assert grown.vocab.itos[: len(base.vocab)] == base.vocab.itos
    assert grown.metrics["finetuned"] and grown.metrics["added_chars"]
    assert (
        grown.train_config["replay_fraction"] == 0.25 and grown.train_config["lr"] == FINETUNE["lr"]
    )


def test_cli_refuses_a_bad_steps_value_in_one_line(tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text(TINY_TEXT, encoding="utf-8")
    proc = _cli(
        "train", "--corpus", str(corpus), "--out", str(tmp_path / "m.pt"), "--steps", "lots"
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "--steps" in proc.stderr


def test_weight_averaging_keeps_the_averaged_weights_it_validated() -> None:
    config = TrainConfig(steps=60, eval_every=20, ema=0.9, **SMALL)
    result = train(TINY_TEXT, config, device="cpu")
    plain = train(TINY_TEXT, TrainConfig(steps=60, eval_every=20, **SMALL), device="cpu")
    ids = torch.tensor(result.vocab.encode(split_text(TINY_TEXT, 0.1)[1]))
    assert evaluate(result.model, ids, SMALL["seq_len"]) == pytest.approx(result.val_loss)
    assert result.val_loss != plain.val_loss  # the average is not the last weights


def test_cli_refuses_an_init_checkpoint_that_is_not_the_planned_one(
    tiny_checkpoint_path: Path, tmp_path: Path
) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text(TINY_TEXT, encoding="utf-8")
    out = tmp_path / "m.pt"
    proc = _cli(
        "train", "--corpus", str(corpus), "--out", str(out), "--init", str(tiny_checkpoint_path),
        "--init-sha256", "0" * 64, "--steps", "5",
    )  # fmt: skip
    assert proc.returncode == 2 and "SHA-256 changed" in proc.stderr
    assert "Traceback" not in proc.stderr and not out.exists()


def test_weight_drop_masks_recurrent_weights_only_while_training() -> None:
    torch.manual_seed(0)
    model = CharGenerator(12, 8, 16, weight_drop=0.5)
    plain = CharGenerator(12, 8, 16)
    plain.load_state_dict(model.state_dict())  # no extra weights: checkpoints are unchanged
    x = torch.randint(0, 12, (3, 10))
    before = model.lstm.weight_hh_l0.detach().clone()
    model.train()
    first, _ = model(x)
    second, _ = model(x)
    assert not torch.allclose(first, second)  # a fresh mask per forward pass
    first.sum().backward()
    grad = model.lstm.weight_hh_l0.grad
    assert grad is not None and float(grad.abs().sum()) > 0  # the raw weights still learn
    assert torch.equal(model.lstm.weight_hh_l0.detach(), before)  # the mask is not stored
    model.eval()
    plain.eval()
    with torch.no_grad():
        assert torch.equal(model(x)[0], plain(x)[0])  # generation never sees the mask


@pytest.mark.slow
def test_weight_drop_trains_through_the_cli_and_is_recorded(tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text(TINY_TEXT, encoding="utf-8")
    out = tmp_path / "m.pt"
    proc = _cli_train_fit(
        corpus, out, "--steps", "30", "--weight-drop", "0.4", "--progress", "none"
    )
    assert proc.returncode == 0, proc.stderr
    checkpoint = load_checkpoint(out)
    assert checkpoint.train_config["weight_drop"] == 0.4
    bad = _cli("train", "--corpus", str(corpus), "--out", str(out), "--weight-drop", "1.5")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "weight-drop" in bad.stderr


def test_time_budget_reestimates_never_move_the_reported_progress_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A busy machine, then a free one: the first 40 clock readings are 50 ms apart, the
    # rest 1 ms. The faster pace lets the run plan more steps again, but the share of
    # the run reported (what the admin's progress bar shows) must never go back.
    readings = itertools.count()

    def clock() -> float:
        n = next(readings)
        return 0.05 * min(n, 40) + 0.001 * max(0, n - 40)

    monkeypatch.setattr("model.training.loop.time.perf_counter", clock)
    config = TrainConfig(**{**recipe_overrides("fit"), **SMALL, "time_budget_s": 3.0})
    seen: list[tuple[int, int]] = []
    result = train(
        TINY_TEXT, config, device="cpu", on_progress=lambda p: seen.append((p.step, p.total_steps))
    )
    shares = [step / total for step, total in seen]
    assert all(a <= b for a, b in itertools.pairwise(shares)), seen
    totals = [total for _, total in seen]
    lowest = totals.index(min(totals))
    assert max(totals[lowest:]) > totals[lowest]  # the plan grew back once the pace improved
    assert seen[-1] == (result.steps_run, result.steps_run)


def test_fit_regularisation_eases_as_the_text_grows() -> None:
    sizes = [1_000, 25_000, 40_000, 70_000, 100_000, 130_000, 5_000_000]
    values = [regularisation(n) for n in sizes]
    assert values[0] == values[1] == SMALL_TEXT_REGULARISATION
    assert values[-2] == values[-1] == LARGE_TEXT_REGULARISATION
    for key in ("dropout", "weight_drop"):
        assert all(a[key] > b[key] for a, b in itertools.pairwise(values[1:-1]))
    assert recipe_overrides("fit")["dropout"] == SMALL_TEXT_REGULARISATION["dropout"]
    assert recipe_overrides("reference", 10_000_000) == {}


@pytest.mark.slow
def test_cli_fit_recipe_regularises_for_the_corpus_and_explicit_flags_win(
    tmp_path: Path,
) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text(TINY_TEXT, encoding="utf-8")
    args = ("--steps", "5", "--progress", "none")
    assert _cli_train_fit(corpus, tmp_path / "a.pt", *args).returncode == 0
    small = load_checkpoint(tmp_path / "a.pt").train_config
    assert small["weight_drop"] == SMALL_TEXT_REGULARISATION["weight_drop"]
    assert small["dropout"] == SMALL_TEXT_REGULARISATION["dropout"]
    explicit_flags = ("--dropout", "0.1", "--weight-drop", "0")
    proc = _cli_train_fit(corpus, tmp_path / "b.pt", *args, *explicit_flags)
    assert proc.returncode == 0, proc.stderr
    explicit = load_checkpoint(tmp_path / "b.pt").train_config
    assert (explicit["dropout"], explicit["weight_drop"]) == (0.1, 0.0)
    # the default corpus (147,000 characters) is a large text: the recipe eases off
    default_corpus = Path("data/arabic_text.txt")
    proc = _cli_train_fit(
        default_corpus, tmp_path / "c.pt", "--steps", "1", "--progress", "none", "--no-mixture"
    )
    assert proc.returncode == 0, proc.stderr
    large = load_checkpoint(tmp_path / "c.pt").train_config
    assert (large["dropout"], large["weight_drop"]) == (
        LARGE_TEXT_REGULARISATION["dropout"],
        LARGE_TEXT_REGULARISATION["weight_drop"],
    )
