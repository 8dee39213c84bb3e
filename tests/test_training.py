import math

import pytest
import torch

from model.errors import CorpusError
from model.scoring import evaluate
from model.split import min_corpus_chars, split_text
from model.train import Progress, TrainConfig, train

FAST = TrainConfig(steps=20, seq_len=16, batch_size=8, hidden_size=32, embed_size=8, eval_every=10)


def test_text_too_short_for_one_window_is_refused_with_the_needed_length() -> None:
    need = min_corpus_chars(FAST.seq_len, FAST.val_fraction)
    with pytest.raises(CorpusError, match=f"too short.*at least {need}"):
        train("x" * (need - 1), FAST)


def test_shortest_accepted_text_trains() -> None:
    need = min_corpus_chars(FAST.seq_len, FAST.val_fraction)
    result = train(("abcdefg" * 20)[:need], FAST)
    assert result.val_loss is not None


def test_validation_split_is_the_tail_of_the_text() -> None:
    head, tail = split_text("a" * 90 + "b" * 10, 0.1)
    assert head == "a" * 90 and tail == "b" * 10


def test_first_loss_is_near_log_vocab_size(tiny_text: str) -> None:
    result = train(tiny_text, FAST)
    assert abs(result.first_loss - math.log(len(result.vocab))) < 0.3


def test_progress_reports_steps_losses_and_eta(tiny_text: str) -> None:
    seen: list[Progress] = []
    train(tiny_text, FAST, on_progress=seen.append)
    assert seen[-1].step == FAST.steps and seen[-1].eta_s == 0
    assert [p.step for p in seen if p.val_loss is not None] == [10, 20]
    assert all(math.isfinite(p.train_loss) for p in seen)


def test_same_seed_gives_identical_weights(tiny_text: str) -> None:
    a = train(tiny_text, FAST).model.state_dict()
    b = train(tiny_text, FAST).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_training_lowers_the_validation_loss_below_the_unigram_baseline(trained_tiny) -> None:  # type: ignore[no-untyped-def]
    assert trained_tiny.val_loss is not None and trained_tiny.unigram_val_loss is not None
    assert trained_tiny.val_loss < trained_tiny.unigram_val_loss


def test_should_stop_interrupts_training(tiny_text: str) -> None:
    with pytest.raises(InterruptedError):
        train(tiny_text, FAST, should_stop=lambda: True)


@pytest.mark.parametrize(
    "field,value", [("steps", 0), ("lr", -1.0), ("val_fraction", 0.95), ("seq_len", 0)]
)
def test_invalid_settings_are_refused(field: str, value: float) -> None:
    with pytest.raises(ValueError):
        TrainConfig(**{field: value})


def test_the_best_validation_weights_are_kept_not_the_last(tiny_text: str) -> None:
    config = TrainConfig(
        steps=60, seq_len=16, batch_size=8, hidden_size=32, embed_size=8, eval_every=10, lr=0.05
    )
    result = train(tiny_text, config)
    vals = [h["val_loss"] for h in result.history if h["val_loss"] is not None]
    assert result.val_loss == min(vals)
    assert result.best_step in {h["step"] for h in result.history}
    ids = torch.tensor(result.vocab.encode(split_text(tiny_text, 0.1)[1]))
    assert evaluate(result.model, ids, 16) == pytest.approx(min(vals))
