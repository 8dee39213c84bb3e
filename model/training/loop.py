"""The training loop: the reference loop (random windows, Adam, cross-entropy) plus a
held-out tail.

The reference had no validation and its ~0.11 training loss was memorisation; here the
last ``val_fraction`` of the text is never trained on and its loss is what is reported
(and, with ``test_fraction``, a test part after it is looked at by nothing here).

What the fit recipe adds (:class:`model.training.config.TrainConfig`) happens here, each
only when its field leaves the reference value, so the reference flags still give the
reference curve bit for bit: dropout, AdamW, the learning-rate schedule, early stopping
and the wall-clock cap, validation as streams, an average of the weights, and
fine-tuning from a trained model whose vocabulary grows to the new text's (``init``),
optionally mixing in windows of the previous text (``replay``). Every run ends by
measuring the kept weights on the validation tail both ways (continuous stream and
windows) next to the unigram and Kneser-Ney n-gram baselines (:mod:`model.ngram`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from model.device import pick_device
from model.grow import grow
from model.mixture import fit_mixture
from model.network import CharGenerator
from model.ngram import best_ngram
from model.recipe import learning_rate
from model.scoring import (
    STREAM_CHARS,
    STREAM_EVAL_CHARS,
    evaluate,
    evaluate_stream,
    unigram_loss,
)
from model.split import check_corpus_length, split_parts
from model.text import normalize_text, sha256_text
from model.training.config import TrainConfig, planned_steps
from model.training.result import Progress, TrainResult
from model.vocab import Vocabulary

Init = tuple[CharGenerator, Vocabulary]


def _validate(
    model: CharGenerator, val_ids: torch.Tensor, config: TrainConfig, max_chars: int
) -> float:
    if config.eval_stream:
        streams = max(1, math.ceil(min(val_ids.numel() - 1, max_chars) / STREAM_CHARS))
        return evaluate_stream(model, val_ids, streams, max_chars)
    return evaluate(model, val_ids, config.seq_len, config.max_val_windows)


def _start_model(
    text: str, config: TrainConfig, init: Init | None, replay_text: str | None
) -> tuple[CharGenerator, Vocabulary, Init | None]:
    if init is None:
        vocab = Vocabulary.from_text(text)
        model = CharGenerator(
            len(vocab),
            config.embed_size,
            config.hidden_size,
            config.num_layers,
            config.dropout,
            config.weight_drop,
        )
        return model, vocab, None
    old_model, old_vocab = init
    vocab = old_vocab.extended(text + (replay_text or ""))
    return (
        grow(old_model, old_vocab, vocab, config.seed, config.dropout, config.weight_drop),
        vocab,
        init,
    )


def train(
    text: str,
    config: TrainConfig | None = None,
    device: str | torch.device | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    init: Init | None = None,
    replay_text: str | None = None,
) -> TrainResult:
    """Train a CharGenerator on ``text``; raises CorpusError for unusable text.

    With ``init`` (a trained model and its vocabulary) training starts from those
    weights, the vocabulary grown by the characters of ``text`` it lacks (the network's
    sizes are then the init model's). ``replay_text`` (the previous corpus) supplies
    ``config.replay_fraction`` of each batch, so fine-tuning does not forget it.
    """
    config = config or TrainConfig()
    text = normalize_text(text)
    check_corpus_length(text, config.seq_len, config.val_fraction, config.test_fraction)
    dev = device if isinstance(device, torch.device) else pick_device(device)
    replay_text = normalize_text(replay_text) if replay_text else None
    # The test part is cut off here and never looked at again in this function: not
    # by the vocabulary, the validation, the best step or the baseline.
    train_text, val_text, test_text = split_parts(text, config.val_fraction, config.test_fraction)
    seen = text[: len(text) - len(test_text)]

    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    model, vocab, start = _start_model(seen, config, init, replay_text)
    model = model.to(dev)
    train_ids = torch.tensor(vocab.encode(train_text), dtype=torch.long)
    val_ids = (
        torch.tensor(vocab.encode(val_text), dtype=torch.long, device=dev) if val_text else None
    )
    replay_ids = None
    replay_rows = round(config.batch_size * config.replay_fraction)
    if replay_text and replay_rows > 0 and len(replay_text) > config.seq_len + 1:
        replay_ids = torch.tensor(vocab.encode(replay_text), dtype=torch.long)
    if config.weight_decay > 0:
        optimizer: torch.optim.Optimizer = torch.optim.AdamW(
            model.parameters(), lr=config.lr, weight_decay=config.weight_decay
        )
    else:  # the reference optimiser, exactly
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    offsets = torch.arange(config.seq_len + 1)
    n_starts = train_ids.numel() - config.seq_len

    total = planned_steps(config, len(text), finetune=init is not None)
    eval_every = max(10, total // 40) if config.auto_steps else config.eval_every
    planned = total
    max_val_chars = config.max_val_windows * config.seq_len

    average = None
    if config.ema > 0:
        average = {k: v.detach().clone() for k, v in model.state_dict().items()}
    history: list[dict[str, float | int | None]] = []
    first_loss = math.nan
    running, running_n = 0.0, 0
    val_loss: float | None = None
    best: tuple[float, int, dict[str, torch.Tensor]] | None = None
    since_best = 0
    stopped = "budget"
    train_loss = math.nan
    started = time.perf_counter()
    model.train()
    step = 0
    shown = 0.0  # the share of the run last reported (step / total)
    while step < total:
        step += 1
        if should_stop is not None and should_stop():
            raise InterruptedError("training was stopped")
        if config.schedule != "constant":
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(config.lr, config.schedule, step, total)
        starts = torch.randint(0, n_starts, (config.batch_size,), generator=gen)
        batch = train_ids[starts.unsqueeze(1) + offsets]
        if replay_ids is not None:
            others = torch.randint(
                0, replay_ids.numel() - config.seq_len, (replay_rows,), generator=gen
            )
            batch[:replay_rows] = replay_ids[others.unsqueeze(1) + offsets]
        batch = batch.to(dev, non_blocking=True)
        logits, _ = model(batch[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        if config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        if average is not None:
            decay = min(config.ema, (1 + step) / (10 + step))  # short memory at first
            with torch.no_grad():
                for key, value in model.state_dict().items():
                    average[key].lerp_(value, 1.0 - decay)

        value = loss.item()
        if step == 1:
            first_loss = value
        running += value
        running_n += 1
        elapsed = time.perf_counter() - started
        if config.time_budget_s > 0 and step < total and (step >= 20 or elapsed > 2.0):
            # Fit the plan into the wall-clock budget at the average pace so far, so the
            # schedule still ends in time; re-estimated at every step, so a slow start
            # (a busy machine) does not cut the run for good. Never beyond the plan.
            fits = max(step, int(config.time_budget_s / (elapsed / step)))
            if shown > 0:  # but never so far that the share of the run reported goes back
                fits = min(fits, max(step, int(step / shown)))
            total = min(planned, fits)
            stopped = "time" if total < planned else "budget"
        is_eval = val_ids is not None and (step % eval_every == 0 or step == total)
        if step % config.log_every == 0 or step == total or step == 1 or is_eval:
            train_loss = running / running_n
            running, running_n = 0.0, 0
            val_now = None
            if is_eval and val_ids is not None:
                live = None
                if average is not None:  # judge (and keep) the averaged weights
                    live = {k: v.detach().clone() for k, v in model.state_dict().items()}
                    model.load_state_dict(average)
                val_now = _validate(model, val_ids, config, max_val_chars)
                val_loss = val_now
                if config.keep_best and (best is None or val_now < best[0]):
                    weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
                    best = (val_now, step, weights)
                    since_best = 0
                else:
                    since_best += 1
                if live is not None:
                    model.load_state_dict(live)
                model.train()
            if config.patience and since_best >= config.patience and step < total:
                total = planned = step
                stopped = "early"
            elapsed = time.perf_counter() - started
            eta = elapsed / step * (total - step)
            history.append({"step": step, "train_loss": train_loss, "val_loss": val_now})
            shown = step / total
            if on_progress is not None:
                on_progress(Progress(step, total, train_loss, val_now, elapsed, eta))

    last_val = val_loss
    best_step = None
    if best is not None:
        val_loss, best_step, weights = best
        model.load_state_dict(weights)
    model.eval()
    result = TrainResult(
        model=model,
        vocab=vocab,
        config=config,
        train_loss=train_loss,
        val_loss=val_loss,
        first_loss=first_loss,
        corpus_sha256=sha256_text(text),
        corpus_chars=len(text),
        elapsed_s=time.perf_counter() - started,
        history=history,
        unigram_val_loss=unigram_loss(train_text, val_text) if val_text else None,
        best_step=best_step,
        last_val_loss=last_val,
        steps_run=step,
        stopped=stopped,
        finetuned_from_chars=None if start is None else len(start[1]),
        added_chars="" if start is None else "".join(vocab.itos[len(start[1]) :]),
    )
    if val_ids is not None and val_ids.numel() >= 2:
        result.val_stream_loss = evaluate_stream(model, val_ids, max_chars=STREAM_EVAL_CHARS)
        result.val_window_loss = evaluate(model, val_ids, config.seq_len, config.max_val_windows)
        baseline = best_ngram(train_text, val_text)
        result.ngram_val_loss, result.ngram_order = baseline.loss, baseline.order
        if config.mixture:
            result.mixture = fit_mixture(model, vocab, train_text, val_text)
    return result
