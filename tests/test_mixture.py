"""The LSTM mixed with the Kneser-Ney n-gram per character, in evaluation and in serving."""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from model.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from model.engine import GenerationEngine
from model.errors import CheckpointError
from model.mixture import (
    GEOMETRIC,
    LINEAR,
    TINY,
    Mixture,
    ServingTables,
    best_weight,
    fit_geometric,
    fit_mixture,
    geometric_loss,
    geometric_scores,
    lstm_log_probs,
    lstm_target_probs,
    mixed_log_probs,
    mixture_loss,
    ngram_states,
    ngram_target_probs,
)
from model.ngram import KneserNey, NgramTables
from model.sample import DEFAULT_MIN_P, DEFAULT_TEMPERATURE, sample
from model.split import split_text
from model.train import TrainResult


def tables_for(text: str, order: int) -> tuple[KneserNey, NgramTables, list[str]]:
    itos = sorted(set(text) | {"#"})  # "#": in the vocabulary, never in the text
    kn = KneserNey(text, order, itos)
    return kn, NgramTables(kn, itos), itos


@pytest.mark.parametrize("order", [1, 2, 3, 5, 7])
def test_the_tables_give_kneser_ney_for_every_history(tiny_text: str, order: int) -> None:
    head, tail = split_text(tiny_text, 0.2)
    kn, tables, itos = tables_for(head, order)
    assert torch.allclose(
        tables.dist.double().sum(dim=1), torch.ones(tables.num_states, dtype=torch.float64)
    )
    state = 0
    probe = tail[:200] + "#" + tail[200:260]
    for i, ch in enumerate(probe):
        expected = [kn.prob(probe[:i], c) for c in itos]
        assert torch.allclose(
            tables.dist[state].double(), torch.tensor(expected, dtype=torch.float64), rtol=1e-5
        )
        state = int(tables.next_state[state, itos.index(ch)])


def test_the_kneser_ney_context_at_the_start_of_a_text_is_used_whole() -> None:
    kn = KneserNey("abcabcabd" * 3, 5)
    # A 2-character context at the start: the whole of it, as a longer text would.
    assert kn.prob("ab", "c") == kn.prob("xab"[1:], "c")
    assert kn.prob("ab", "c") != kn.prob("b", "c")


def test_the_mixture_is_a_distribution_and_each_row_gets_the_same_bits_in_any_batch() -> None:
    gen = torch.Generator().manual_seed(3)
    vocab = 43
    logits = torch.randn(70, vocab, generator=gen) * 4
    ngram = torch.softmax(torch.randn(70, vocab, generator=gen), dim=-1)
    weight = 0.7
    share = ngram * (1 - weight)
    full = mixed_log_probs(logits, share, weight)
    assert torch.allclose(full.double().exp().sum(dim=1), torch.ones(70, dtype=torch.float64))
    expected = torch.log(weight * torch.softmax(logits.double(), -1) + share.double())
    assert torch.allclose(full.double(), expected, atol=1e-5)
    for batch in (1, 2, 3, 7, 8, 16, 33, 64):
        assert torch.equal(mixed_log_probs(logits[:batch], share[:batch], weight), full[:batch])
    assert torch.equal(mixed_log_probs(logits[5:6], share[5:6], weight), full[5:6])


def test_the_geometric_scores_are_the_product_of_experts_and_each_row_gets_the_same_bits() -> None:
    gen = torch.Generator().manual_seed(4)
    logits = torch.randn(70, 43, generator=gen) * 4
    ngram = torch.softmax(torch.randn(70, 43, generator=gen), dim=-1)
    a, b = 0.56, 0.31
    share = ngram.log() * b
    full = geometric_scores(logits, share, a)
    product = torch.softmax(logits.double(), -1) ** a * ngram.double() ** b
    expected = product / product.sum(dim=1, keepdim=True)
    assert torch.allclose(torch.softmax(full.double(), -1), expected, atol=1e-6)
    for batch in (1, 2, 3, 7, 8, 16, 33, 64):
        assert torch.equal(geometric_scores(logits[:batch], share[:batch], a), full[:batch])
    assert torch.equal(geometric_scores(logits[5:6], share[5:6], a), full[5:6])


def test_the_geometric_exponents_are_recovered_from_data_drawn_with_them() -> None:
    gen = torch.Generator().manual_seed(5)
    n, vocab = 20_000, 12
    lstm = torch.log_softmax(torch.randn(n, vocab, generator=gen, dtype=torch.float64) * 2, -1)
    ngram = torch.log_softmax(torch.randn(n, vocab, generator=gen, dtype=torch.float64) * 2, -1)
    truth = torch.softmax(0.6 * lstm + 0.4 * ngram, -1)
    targets = torch.multinomial(truth, 1, generator=gen).squeeze(1)
    a, b, loss = fit_geometric(lstm, ngram, targets)
    assert a == pytest.approx(0.6, abs=0.05) and b == pytest.approx(0.4, abs=0.05)
    assert loss == pytest.approx(float(geometric_loss(lstm, ngram, targets, a, b)))
    assert loss <= float(geometric_loss(lstm, ngram, targets, 0.6, 0.4)) + 1e-9


def test_the_weight_is_chosen_by_the_loss() -> None:
    p_lstm = torch.tensor([0.5, 0.5, 0.01], dtype=torch.float64)
    p_kn = torch.tensor([0.1, 0.1, 0.9], dtype=torch.float64)
    weight, loss = best_weight(p_lstm, p_kn, grid=(0.0, 0.5, 1.0))
    assert weight == 0.5
    assert loss == pytest.approx(mixture_loss(p_lstm, p_kn, 0.5))
    assert loss < min(mixture_loss(p_lstm, p_kn, 0.0), mixture_loss(p_lstm, p_kn, 1.0))


def fitted(trained: TrainResult, text: str) -> Mixture:
    head, tail = split_text(text, 0.1)
    return fit_mixture(trained.model, trained.vocab, head, tail, orders=(3, 4))


def test_fit_mixture_is_no_worse_than_the_lstm_alone_on_validation(
    trained_tiny: TrainResult, tiny_text: str
) -> None:
    mixture = fitted(trained_tiny, tiny_text)
    head, tail = split_text(tiny_text, 0.1)
    ids = [trained_tiny.vocab.stoi[c] for c in tail]
    p_lstm = lstm_target_probs(trained_tiny.model, torch.tensor(ids))
    tables = mixture.tables(trained_tiny.vocab)
    p_kn = ngram_target_probs(tables, ids)
    assert mixture.order in (3, 4)
    if mixture.form == GEOMETRIC:
        logp = lstm_log_probs(trained_tiny.model, torch.tensor(ids))
        ngram_logp = tables.dist.double().clamp_min(TINY).log()[ngram_states(tables, ids)]
        targets = torch.tensor(ids[1:])
        loss = geometric_loss(logp, ngram_logp, targets, mixture.weight, mixture.ngram_exponent)
        assert mixture.validation_loss == pytest.approx(float(loss))
    else:
        assert mixture.validation_loss == pytest.approx(mixture_loss(p_lstm, p_kn, mixture.weight))
    # no worse than the LSTM alone, nor than the best linear weight of its order
    assert mixture.validation_loss is not None
    assert mixture.validation_loss <= mixture_loss(p_lstm, p_kn, 1.0) + 1e-12
    assert mixture.validation_loss <= best_weight(p_lstm, p_kn)[1] + 1e-12
    assert mixture.text == head


def test_the_mixture_travels_in_the_checkpoint(
    trained_tiny: TrainResult, tiny_text: str, tmp_path: Path
) -> None:
    checkpoint = Checkpoint.from_result(trained_tiny)
    checkpoint.mixture = fitted(trained_tiny, tiny_text)
    save_checkpoint(checkpoint, tmp_path / "m.pt")
    loaded = load_checkpoint(tmp_path / "m.pt", "cpu")
    assert loaded.mixture is not None
    assert loaded.mixture.to_payload() == checkpoint.mixture.to_payload()
    a = loaded.mixture.tables(loaded.vocab)
    b = checkpoint.mixture.tables(trained_tiny.vocab)
    assert torch.equal(a.dist, b.dist) and torch.equal(a.next_state, b.next_state)
    # a checkpoint from before the geometric form loads as a linear mixture
    old = {k: v for k, v in checkpoint.mixture.to_payload().items() if k in ("order", "text")}
    before = Mixture.from_payload({**old, "weight": 0.7})
    assert before is not None and (before.form, before.weight) == (LINEAR, 0.7)
    # a checkpoint without one loads as before
    save_checkpoint(Checkpoint.from_result(trained_tiny), tmp_path / "plain.pt")
    assert load_checkpoint(tmp_path / "plain.pt", "cpu").mixture is None


def test_a_damaged_mixture_is_a_checkpoint_error(trained_tiny: TrainResult, tmp_path: Path) -> None:
    payload = Checkpoint.from_result(trained_tiny).to_payload()
    payload["mixture"] = {"order": 0, "weight": 2.0, "text": ""}
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="mixture"):
        load_checkpoint(tmp_path / "bad.pt", "cpu")
    text = "abc" * 10
    for bad in (
        {"order": 3, "weight": 0.5, "text": text, "form": "harmonic"},
        {"order": 3, "weight": 0.5, "text": text, "form": GEOMETRIC, "ngram_exponent": -1},
        {"order": 3, "weight": 1.5, "text": text, "form": LINEAR},
    ):
        with pytest.raises(CheckpointError, match="mixture"):
            Mixture.from_payload(bad)
    ok = Mixture.from_payload({"order": 3, "weight": 1.5, "text": text, "form": GEOMETRIC})
    assert ok is not None and ok.form == GEOMETRIC


def test_sampling_with_the_mixture_differs_from_the_lstm_alone(
    trained_tiny: TrainResult, tiny_text: str
) -> None:
    mixture = fitted(trained_tiny, tiny_text)
    mixture.weight = 0.5  # a visible share, whatever validation chose
    m, v = trained_tiny.model, trained_tiny.vocab
    texts = {sample(m, v, "في", 200, 1.0, rng_seed=s, mixture=mixture).text for s in range(3)}
    alone = {sample(m, v, "في", 200, 1.0, rng_seed=s).text for s in range(3)}
    assert texts != alone


def test_the_serving_tables_start_state_reads_the_seed(
    trained_tiny: TrainResult, tiny_text: str
) -> None:
    mixture = fitted(trained_tiny, tiny_text)
    mixture.form, mixture.weight = LINEAR, 0.6
    serving = ServingTables(mixture, trained_tiny.vocab, torch.device("cpu"))
    tables = mixture.tables(trained_tiny.vocab)
    seed = "في الصباح"
    assert serving.start_state(trained_tiny.vocab.encode(seed)) == tables.state_of(seed)
    assert torch.allclose(
        serving.share.sum(dim=1), torch.full((tables.num_states,), 1 - mixture.weight)
    )
    mixture.form, mixture.ngram_exponent = GEOMETRIC, 0.25
    geometric = ServingTables(mixture, trained_tiny.vocab, torch.device("cpu"))
    assert torch.allclose(geometric.share, tables.dist.log() * 0.25, atol=1e-5)


PROBES = [
    ("في الصباح", 0.8, None, 0.0, 1),
    ("البحر", 1.2, 5, 0.05, 2),
    ("قالت", 0.5, None, 0.1, 3),
]


@pytest.mark.parametrize("form", [LINEAR, GEOMETRIC])
async def test_the_engine_samples_the_mixture_as_model_sample_alone_and_in_a_batch(
    trained_tiny: TrainResult, tiny_text: str, form: str
) -> None:
    mixture = fitted(trained_tiny, tiny_text)
    mixture.form, mixture.weight, mixture.ngram_exponent = form, 0.6, 0.4
    checkpoint = Checkpoint.from_result(trained_tiny)
    checkpoint.mixture = mixture
    m, v = trained_tiny.model, trained_tiny.vocab

    def expected(seed: str, temp: float, k: int | None, min_p: float, rng: int, n: int) -> str:
        return sample(m, v, seed, n, temp, k, rng, mixture=mixture, min_p=min_p).text

    async with GenerationEngine(checkpoint, 1, max_batch=64) as engine:
        for seed, temp, k, min_p, rng in PROBES:
            alone = await engine.generate(seed, temp, 90, top_k=k, rng_seed=rng, min_p=min_p)
            assert alone.text == expected(seed, temp, k, min_p, rng, 90)
        others = [
            asyncio.create_task(
                engine.generate("المدينة"[: 1 + i % 6], 0.9, 30 + 7 * i, rng_seed=50 + i)
            )
            for i in range(20)
        ]
        probes = await asyncio.gather(
            *(engine.generate(s, t, 120, top_k=k, rng_seed=r, min_p=p) for s, t, k, p, r in PROBES)
        )
        for (seed, temp, k, min_p, rng), result in zip(PROBES, probes, strict=True):
            assert result.text == expected(seed, temp, k, min_p, rng, 120)
        for i, task in enumerate(others):
            assert (await task).text == expected(
                "المدينة"[: 1 + i % 6], 0.9, None, DEFAULT_MIN_P, 50 + i, 30 + 7 * i
            )
        assert engine.max_batch_seen > 3


def test_min_p_keeps_only_characters_near_the_best(trained_tiny: TrainResult) -> None:
    m, v = trained_tiny.model, trained_tiny.vocab
    # min-p close to 1 leaves only the most likely character: greedy, whatever the noise
    a = sample(m, v, "البحر", 60, 1.5, rng_seed=1, min_p=0.999).continuation
    b = sample(m, v, "البحر", 60, 1.5, rng_seed=2, min_p=0.999).continuation
    assert a == b
    assert math.isfinite(len(a))


async def test_cli_generate_samples_as_the_engine_does_at_the_default_settings(
    trained_tiny: TrainResult, tiny_text: str, tmp_path: Path
) -> None:
    checkpoint = Checkpoint.from_result(trained_tiny)
    checkpoint.mixture = fitted(trained_tiny, tiny_text)
    checkpoint.mixture.weight = 0.6
    save_checkpoint(checkpoint, tmp_path / "m.pt")
    args = ["--checkpoint", str(tmp_path / "m.pt"), "--seed", "في الصباح", "--rng-seed", "7"]
    proc = subprocess.run(
        [sys.executable, "-m", "model", "generate", *args, "--length", "150", "--device", "cpu"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    loaded = load_checkpoint(tmp_path / "m.pt", "cpu")
    async with GenerationEngine(loaded, 1) as engine:
        served = await engine.generate("في الصباح", DEFAULT_TEMPERATURE, 150, rng_seed=7)
    assert proc.stdout.rstrip("\n") == served.text
