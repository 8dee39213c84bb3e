"""The generation engine on the CPU with the tiny fixture models.

The central promise: a request's text for a fixed RNG seed is the one model.sample gives,
whether it runs alone, among dozens of others, or across a hot swap.
"""

from __future__ import annotations

import asyncio
import copy
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import torch

import model.engine.batch as engine_module
import model.engine.buffers as engine_buffers
import model.engine.noise as engine_noise
import model.engine.requests as engine_requests
import model.product as model_product
from model.checkpoint import Checkpoint, load_checkpoint
from model.engine import EngineBusy, EngineStopped, GenerationEngine, GenerationResult
from model.engine.fair import FairQueue
from model.errors import ModelError, SamplingError, SeedError
from model.inference import StepWeights
from model.network import CharGenerator
from model.product import half_weights_available
from model.rng import gumbel_noise, request_key
from model.sample import sample
from model.train import TrainConfig, TrainResult, train

LATIN_TEXT = (
    "the quick brown fox jumps over the lazy dog while the cat sleeps in the sun.\n"
    "a small boat sails across the quiet lake and the birds sing in the trees.\n"
) * 6

PROBES = [  # seed, temperature, top_k, rng_seed
    ("في الصباح", 1.0, None, 1),
    ("البحر", 0.5, None, 2),
    ("قالت الجدة إن الصبر", 0.2, None, 3),
    ("في", 1.7, 5, 4),
    ("الحاسوب يتعلم", 0.9, 1, 5),
]


@pytest.fixture(scope="module")
def latin() -> TrainResult:
    config = TrainConfig(
        steps=40, seq_len=16, batch_size=8, hidden_size=32, embed_size=8, eval_every=20
    )
    return train(LATIN_TEXT, config, device="cpu")


@pytest.fixture
async def engine(trained_tiny: TrainResult) -> AsyncIterator[GenerationEngine]:
    eng = GenerationEngine(Checkpoint.from_result(trained_tiny), 1)
    await eng.start()
    yield eng
    await eng.stop(drain=False)


def expected(m: TrainResult, seed: str, length: int, temp: float, k: int | None, rng: int) -> str:
    return sample(m.model, m.vocab, seed, length, temp, top_k=k, rng_seed=rng).text


async def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.002)


def engine_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "generation-engine"]


# ------------------------------------------------------------------ same text as sample()


async def test_fixed_seed_gives_the_text_of_model_sample_alone(
    engine: GenerationEngine, trained_tiny: TrainResult
) -> None:
    for seed, temp, k, rng in PROBES:
        result = await engine.generate(seed, temp, 120, top_k=k, rng_seed=rng)
        assert isinstance(result, GenerationResult)
        assert result.text == expected(trained_tiny, seed, 120, temp, k, rng)
        assert result.text == result.seed.text + result.continuation
        assert (result.model_version, result.rng_seed) == (1, rng)
        assert 0 <= result.queued_s <= result.latency_s


@pytest.mark.parametrize("half", [False, True], ids=["float32", "float16 weights"])
async def test_fixed_seed_gives_the_same_text_among_twenty_other_requests(
    trained_tiny: TrainResult, half: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if half:
        if not half_weights_available(torch.device("cpu")):
            pytest.skip("this torch build has no FBGEMM float16-weight product")
        monkeypatch.setattr(model_product, "HALF_WEIGHTS_FROM_BYTES", 0)  # the tiny model too
    async with GenerationEngine(Checkpoint.from_result(trained_tiny), 1) as engine:
        assert engine._current.weights.top.half is half
        others = [
            (
                "المدينة القديمة"[: 2 + i % 12],
                0.3 + 0.1 * i,
                40 + 17 * i,
                (i % 4) * 3 or None,
                100 + i,
            )
            for i in range(20)
        ]
        background = [
            asyncio.create_task(engine.generate(s, t, n, top_k=k, rng_seed=r))
            for s, t, n, k, r in others
        ]
        await wait_for(lambda: engine.active_requests > 0)
        probes = await asyncio.gather(
            *(engine.generate(s, t, 150, top_k=k, rng_seed=r) for s, t, k, r in PROBES)
        )
        assert engine.max_batch_seen > len(PROBES)
        for (seed, temp, k, rng), result in zip(PROBES, probes, strict=True):
            assert result.text == expected(trained_tiny, seed, 150, temp, k, rng)
        for (s, t, n, k, r), task in zip(others, background, strict=True):
            assert (await task).text == expected(trained_tiny, s, n, t, k, r)


@pytest.mark.parametrize("half", [True, False], ids=["float16 weights", "float32"])
async def test_the_step_gives_a_row_the_same_bits_in_any_batch(
    trained_tiny: TrainResult, half: bool
) -> None:
    if half and not half_weights_available(torch.device("cpu")):
        pytest.skip("this torch build has no FBGEMM float16-weight product")
    weights = StepWeights(trained_tiny.model, half=half)
    assert weights.top.half is half
    torch.manual_seed(0)
    ids = torch.randint(0, weights.vocab_size, (70, 12))
    finals: dict[int, torch.Tensor] = {}
    with torch.inference_mode():
        for batch in (1, 3, 8, 33, 70):
            rows = weights.padded_rows(batch)
            step = weights.bind(*weights.zero_state(rows))
            x = torch.zeros(rows, dtype=torch.long)
            for t in range(12):
                step.head()
                x[:batch] = ids[:batch, t]
                step.advance(x)
            finals[batch] = step.h[0, :batch].clone()
        for batch, h in finals.items():
            assert torch.equal(h, finals[70][:batch]), batch
        # ...and it is the LSTM: nn.LSTM agrees to float rounding, given the weights the
        # products use (W_hh rounded to float16 once, where the step does that).
        lstm = copy.deepcopy(trained_tiny.model.lstm)
        if half:
            w_hh = lstm.get_parameter("weight_hh_l0")
            w_hh.copy_(w_hh.half().float())
        out, _ = lstm(trained_tiny.model.embed(ids))
        assert torch.allclose(finals[70], out[:, -1], atol=1e-5)


def test_float16_weights_need_no_padding_for_a_lone_row(trained_tiny: TrainResult) -> None:
    if not half_weights_available(torch.device("cpu")):
        pytest.skip("this torch build has no FBGEMM float16-weight product")
    # The point of float16 weights on a CPU: a lone /write multiplies one row, not the
    # several rows float32 BLAS needs to give every batch size the same bits.
    assert StepWeights(trained_tiny.model, half=True).padded_rows(1) == 1


def test_weights_use_float16_only_where_the_matrix_is_big_enough_to_pay() -> None:
    if not half_weights_available(torch.device("cpu")):
        pytest.skip("this torch build has no FBGEMM float16-weight product")
    small = CharGenerator(40, embed_size=8, hidden_size=32)
    big = CharGenerator(40, embed_size=8, hidden_size=384)
    assert not StepWeights(small).top.half
    assert StepWeights(big).top.half


def test_the_engines_in_place_noise_is_bit_for_bit_model_rng() -> None:
    keys = torch.stack([request_key(s) for s in (0, 1, 2**62 + 7, 12345, 99, 2**40)])
    steps = torch.randint(-60, 10_000, (6, 9))  # negative: rows still priming
    hasher = engine_noise.NoiseHasher(8, 9, 43, torch.device("cpu"))
    out = torch.empty(6, 9, 43)
    hasher(keys, steps, out)
    assert torch.equal(out, gumbel_noise(keys.unsqueeze(1), steps, 43))


async def test_a_two_layer_model_matches_model_sample(trained_tiny: TrainResult) -> None:
    torch.manual_seed(3)
    vocab = trained_tiny.vocab
    model = CharGenerator(len(vocab), 8, 24, num_layers=2).eval()
    async with GenerationEngine(Checkpoint(model, vocab), "two-layer") as eng:
        result = await eng.generate("في الصباح", 1.0, 80, rng_seed=9)
    assert result.text == sample(model, vocab, "في الصباح", 80, 1.0, rng_seed=9).text


# ----------------------------------------------------------------------------- batching


async def test_sixty_four_concurrent_requests_are_answered_in_shared_steps(
    engine: GenerationEngine,
) -> None:
    lengths = [20 + (i * 37) % 300 for i in range(64)]
    results = await asyncio.gather(
        *(engine.generate("في الصباح", 0.5 + i % 5 * 0.3, n) for i, n in enumerate(lengths))
    )
    assert [len(r.continuation) for r in results] == lengths
    assert engine.max_batch_seen > 1
    assert engine.steps < sum(lengths)  # rows shared steps
    assert engine.completed == 64
    assert (engine.active_requests, engine.queue_depth) == (0, 0)


async def test_the_event_loop_keeps_ticking_while_the_engine_works(
    engine: GenerationEngine,
) -> None:
    lags: list[float] = []
    done = False

    async def ticker() -> None:
        while not done:
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - before - 0.01)

    tick = asyncio.create_task(ticker())
    await asyncio.gather(*(engine.generate("البحر", 1.0, 300) for _ in range(64)))
    done = True
    await tick
    assert lags and max(lags) < 0.5


async def test_zero_length_is_answered_at_once(engine: GenerationEngine) -> None:
    result = await engine.generate("في", 1.0, 0, rng_seed=1)
    assert result.continuation == "" and result.text == "في"
    assert engine.steps == 0


# ---------------------------------------------------------------- queue and validation


async def test_a_full_queue_refuses_at_once_with_engine_busy(trained_tiny: TrainResult) -> None:
    eng = GenerationEngine(Checkpoint.from_result(trained_tiny), 1, max_batch=1, max_queue=1)
    await eng.start()
    running = asyncio.create_task(eng.generate("في", 1.0, 10_000))
    await wait_for(lambda: eng.active_requests == 1)
    queued = asyncio.create_task(eng.generate("في", 1.0, 10))
    await wait_for(lambda: eng.queue_depth == 1)
    started = time.perf_counter()
    with pytest.raises(EngineBusy, match="busy, try again in a moment"):
        await eng.generate("في", 1.0, 10)
    assert time.perf_counter() - started < 0.1
    assert isinstance(EngineBusy(), ModelError)
    await eng.stop(drain=False)
    for task in (running, queued):
        with pytest.raises(EngineStopped):
            await task


@pytest.mark.parametrize(
    ("seed", "temperature", "error"),
    [
        ("", 1.0, SeedError),
        ("   ", 1.0, SeedError),
        ("xyz QW", 1.0, SeedError),
        ("في", 0.0, SamplingError),
        ("في", -1.0, SamplingError),
        ("في", float("nan"), SamplingError),
    ],
)
async def test_bad_input_is_refused_in_the_caller_without_queueing(
    engine: GenerationEngine, seed: str, temperature: float, error: type[Exception]
) -> None:
    with pytest.raises(error):
        await engine.generate(seed, temperature, 50)
    assert (engine.queue_depth, engine.active_requests, engine.steps) == (0, 0, 0)


async def test_bad_length_and_top_k_are_refused(engine: GenerationEngine) -> None:
    with pytest.raises(SamplingError):
        await engine.generate("في", 1.0, -1)
    with pytest.raises(SamplingError):
        await engine.generate("في", 1.0, 10, top_k=-2)


async def test_encode_seed_reports_what_the_current_model_sees(engine: GenerationEngine) -> None:
    encoded = engine.encode_seed("في Q الصباح")
    assert encoded.dropped == ["Q"]
    with pytest.raises(SeedError):
        engine.encode_seed("xyz")


# ------------------------------------------------------------------------------ hot swap


async def test_hot_swap_new_requests_use_the_new_model_running_ones_finish_on_theirs(
    engine: GenerationEngine, trained_tiny: TrainResult, latin: TrainResult
) -> None:
    old_jobs = [("في الصباح", 0.8, 2500, i) for i in range(4)]
    old = [asyncio.create_task(engine.generate(s, t, n, rng_seed=r)) for s, t, n, r in old_jobs]
    await wait_for(lambda: engine.active_requests == len(old))
    await engine.swap(Checkpoint.from_result(latin), 2)
    assert engine.version == 2 and engine.vocab == latin.vocab
    with pytest.raises(SeedError):  # the new alphabet has no Arabic letters
        await engine.generate("في الصباح", 1.0, 10)
    new = await asyncio.gather(
        *(engine.generate("the quick", 0.7, 200, rng_seed=50 + i) for i in range(3))
    )
    assert not all(task.done() for task in old), "the old rows should still be running"
    for i, result in enumerate(new):
        assert result.model_version == 2
        assert result.text == expected(latin, "the quick", 200, 0.7, None, 50 + i)
    for (s, t, n, r), task in zip(old_jobs, old, strict=True):
        result = await task
        assert result.model_version == 1
        assert result.text == expected(trained_tiny, s, n, t, None, r)
    await wait_for(lambda: len(engine._groups) == 1)  # the retired model's rows are gone


async def test_a_swap_to_an_unusable_checkpoint_keeps_the_current_model(
    engine: GenerationEngine, latin: TrainResult
) -> None:
    broken = Checkpoint(CharGenerator(len(latin.vocab) + 3), latin.vocab)
    with pytest.raises(ModelError):
        await engine.swap(broken, 3)
    assert engine.version == 1
    assert len((await engine.generate("في", 1.0, 10)).continuation) == 10


async def test_a_swap_before_start_is_used_from_the_start(
    trained_tiny: TrainResult, latin: TrainResult
) -> None:
    eng = GenerationEngine(Checkpoint.from_result(trained_tiny), 1)
    await eng.swap(Checkpoint.from_result(latin), 2)
    async with eng:
        result = await eng.generate("the", 0.5, 40, rng_seed=3)
    assert result.model_version == 2
    assert result.text == expected(latin, "the", 40, 0.5, None, 3)


# ---------------------------------------------------------------------- stop and cancel


async def test_stop_with_drain_finishes_what_is_running(trained_tiny: TrainResult) -> None:
    before = set(engine_threads())
    eng = GenerationEngine(Checkpoint.from_result(trained_tiny), 1)
    await eng.start()
    (worker,) = set(engine_threads()) - before
    tasks = [asyncio.create_task(eng.generate("البحر", 1.0, 200 + i)) for i in range(8)]
    await asyncio.sleep(0)
    await eng.stop(drain=True, timeout=30)
    results = [await t for t in tasks]
    assert [len(r.continuation) for r in results] == [200 + i for i in range(8)]
    with pytest.raises(EngineStopped):
        await eng.generate("البحر", 1.0, 10)
    assert not worker.is_alive()
    assert set(engine_threads()) <= before


async def test_stop_without_drain_fails_the_waiting_callers(trained_tiny: TrainResult) -> None:
    before = set(engine_threads())
    eng = GenerationEngine(Checkpoint.from_result(trained_tiny), 1, max_batch=2)
    await eng.start()
    tasks = [asyncio.create_task(eng.generate("في", 1.0, 10_000)) for _ in range(4)]
    await wait_for(lambda: eng.active_requests == 2)
    await eng.stop(drain=False)
    for task in tasks:
        with pytest.raises(EngineStopped):
            await task
    assert set(engine_threads()) <= before


async def test_drain_that_runs_out_of_time_cancels_the_rest(trained_tiny: TrainResult) -> None:
    before = set(engine_threads())
    eng = GenerationEngine(Checkpoint.from_result(trained_tiny), 1)
    await eng.start()
    short = asyncio.create_task(eng.generate("في", 1.0, 5))
    long = asyncio.create_task(eng.generate("في", 1.0, 10_000))
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    await eng.stop(drain=True, timeout=0.05)
    assert time.perf_counter() - started < 2
    assert len((await short).continuation) == 5
    with pytest.raises(EngineStopped):
        await long
    assert set(engine_threads()) <= before


async def test_async_with_starts_and_stops(trained_tiny: TrainResult) -> None:
    before = set(engine_threads())
    async with GenerationEngine(Checkpoint.from_result(trained_tiny), "v") as eng:
        result = await eng.generate("في", 1.0, 30, rng_seed=1)
        assert result.model_version == "v"
        assert len(set(engine_threads()) - before) == 1
    assert set(engine_threads()) <= before
    with pytest.raises(EngineStopped):
        await eng.generate("في", 1.0, 30)


async def test_generate_before_start_is_engine_stopped(trained_tiny: TrainResult) -> None:
    eng = GenerationEngine(Checkpoint.from_result(trained_tiny), 1)
    with pytest.raises(EngineStopped):
        await eng.generate("في", 1.0, 30)


async def test_a_caller_that_gives_up_does_not_break_the_worker(
    engine: GenerationEngine, trained_tiny: TrainResult
) -> None:
    task = asyncio.create_task(engine.generate("في", 1.0, 10_000))
    await wait_for(lambda: engine.active_requests == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await wait_for(lambda: engine.active_requests == 0)  # its row was dropped
    result = await engine.generate("البحر", 0.6, 100, rng_seed=8)
    assert result.text == expected(trained_tiny, "البحر", 100, 0.6, None, 8)


async def test_a_caller_that_times_out_does_not_disturb_the_others(
    engine: GenerationEngine, trained_tiny: TrainResult
) -> None:
    others = [asyncio.create_task(engine.generate("في", 0.9, 300, rng_seed=i)) for i in range(6)]
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(engine.generate("في", 1.0, 10_000), timeout=0.05)
    for i, task in enumerate(others):
        assert (await task).text == expected(trained_tiny, "في", 300, 0.9, None, i)


async def test_a_failing_step_fails_its_requests_and_the_engine_keeps_serving(
    engine: GenerationEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: engine_module.Group) -> None:
        raise RuntimeError("out of memory (simulated)")

    with monkeypatch.context() as patch:
        patch.setattr(engine_module.Group, "step", broken)
        with pytest.raises(ModelError, match="generation failed"):
            await engine.generate("في", 1.0, 20)
    assert engine.active_requests == 0
    assert len((await engine.generate("في", 1.0, 20)).continuation) == 20


# -------------------------------------------------------------------------------- device


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the fallback on a CPU-only host")
async def test_a_cuda_checkpoint_on_a_cpu_host_runs_on_the_cpu(
    tiny_checkpoint_path: Path, trained_tiny: TrainResult
) -> None:
    checkpoint = load_checkpoint(tiny_checkpoint_path, "cuda")
    async with GenerationEngine(checkpoint, 7, use_cuda_graphs=True) as eng:
        assert eng.device.type == "cpu"
        result = await eng.generate("البحر", 0.8, 60, rng_seed=4)
    assert result.text == expected(trained_tiny, "البحر", 60, 0.8, None, 4)


# ----------------------------------------------------------- the CUDA-graph step, on CPU


class _EagerGraph:
    """Stands in for a captured CUDA graph: replay runs the captured body eagerly."""

    def __init__(self, group: engine_module.Group, rows: int) -> None:
        self.group, self.rows = group, rows

    def replay(self) -> None:
        self.group._graph_body(self.rows)


async def _mixed_requests(eng: GenerationEngine, model: TrainResult) -> None:
    jobs = [
        ("المدينة القديمة"[: 2 + i % 10], 0.4 + 0.15 * (i % 7), 30 + 23 * i, (i % 3) * 4 or None, i)
        for i in range(20)
    ]
    results = await asyncio.gather(
        *(eng.generate(s, t, n, top_k=k, rng_seed=r) for s, t, n, k, r in jobs)
    )
    for (s, t, n, k, r), result in zip(jobs, results, strict=True):
        assert result.text == expected(model, s, n, t, k, r)


async def test_the_graph_step_gives_the_text_of_model_sample(
    trained_tiny: TrainResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a CUDA graph replays (device step counter, noise hashed per step, ring writes
    # by scatter, seed priming by gather, top-k always on, batch padded to a bucket) run
    # eagerly on the CPU.
    captured: list[int] = []

    def capture(group: engine_module.Group, rows: int) -> _EagerGraph:
        captured.append(rows)
        graph = group.graphs[rows] = _EagerGraph(group, rows)
        return graph

    monkeypatch.setattr(engine_buffers, "graphs_available", lambda device: True)
    monkeypatch.setattr(engine_module.Group, "_capture", capture)
    async with GenerationEngine(Checkpoint.from_result(trained_tiny), 1, max_batch=64) as eng:
        await _mixed_requests(eng, trained_tiny)
        group = next(iter(eng._groups.values()))
        assert group.use_graphs and not group.graphs_broken
        assert set(captured) <= set(group.buckets) and len(captured) > 1
        assert group.buckets[-1] == 64


async def test_a_failed_graph_capture_falls_back_to_the_eager_step(
    trained_tiny: TrainResult, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # On this CPU-only host the real capture fails at its first CUDA call.
    monkeypatch.setattr(engine_buffers, "graphs_available", lambda device: True)
    async with GenerationEngine(Checkpoint.from_result(trained_tiny), 1, max_batch=64) as eng:
        await _mixed_requests(eng, trained_tiny)
        group = next(iter(eng._groups.values()))
        assert group.graphs_broken and not group.graphs
    assert "CUDA graph capture failed" in caplog.text


# ------------------------------------------------------------------------ fair admission


def _queued(key: object) -> engine_requests.Request:
    loop = asyncio.new_event_loop()
    try:
        future: asyncio.Future[GenerationResult] = loop.create_future()
    finally:
        loop.close()
    return engine_requests.Request(None, None, 1.0, 1, 0, 0, future, key)  # type: ignore[arg-type]


def test_the_fair_queue_serves_keys_round_robin() -> None:
    queue = FairQueue()
    flood = [_queued("flooder") for _ in range(5)]
    for r in flood:
        queue.push(r)
    other = _queued("other")
    queue.push(other)
    late = _queued("late")
    queue.push(late)
    order = [queue.pop() for _ in range(len(queue))]
    # One of the flooder's, then each other key's first, then the flooder's backlog.
    assert order == [flood[0], other, late, *flood[1:]]
    anonymous = [_queued(None) for _ in range(3)]
    for r in anonymous:
        queue.push(r)
    assert [queue.pop() for _ in range(3)] == anonymous  # no key: first in, first out


def test_a_full_fair_queue_gives_up_the_heaviest_keys_newest() -> None:
    queue = FairQueue()
    heavy = [_queued("heavy") for _ in range(3)]
    for r in heavy:
        queue.push(r)
    assert queue.evict_for("light") is heavy[2]  # 3 waiting against 0
    queue.push(_queued("light"))
    # 2 against 1: giving one up would only swap who is heavier, so the newcomer is refused.
    assert queue.evict_for("light") is None
    assert [queue.pop() for _ in range(len(queue))][::2] == heavy[:2]


async def test_a_users_backlog_delays_another_users_request_by_one_round(
    trained_tiny: TrainResult,
) -> None:
    eng = GenerationEngine(Checkpoint.from_result(trained_tiny), 1, max_batch=1, max_queue=100)
    await eng.start()
    finished: list[str] = []

    async def one(key: str, length: int) -> None:
        await eng.generate("في", 1.0, length, key=key)
        finished.append(key)

    try:
        blocker = asyncio.create_task(one("blocker", 2_000))
        await wait_for(lambda: eng.active_requests == 1)
        flood = [asyncio.create_task(one("flooder", 5)) for _ in range(20)]
        await wait_for(lambda: eng.queue_depth == 20)
        others = [asyncio.create_task(one(f"user{i}", 5)) for i in range(3)]
        await asyncio.gather(blocker, *flood, *others)
    finally:
        await eng.stop(drain=False)
    # After the blocker: one flooder's request per round, then each user's first.
    assert finished[:5] == ["blocker", "flooder", "user0", "user1", "user2"]
    assert finished[5:] == ["flooder"] * 19


async def test_a_full_queue_refuses_the_flooders_newest_request_not_a_light_user(
    trained_tiny: TrainResult,
) -> None:
    eng = GenerationEngine(Checkpoint.from_result(trained_tiny), 1, max_batch=1, max_queue=3)
    await eng.start()
    try:
        running = asyncio.create_task(eng.generate("في", 1.0, 10_000, key="someone"))
        await wait_for(lambda: eng.active_requests == 1)
        flood = [asyncio.create_task(eng.generate("في", 1.0, 5, key="flooder")) for _ in range(3)]
        await wait_for(lambda: eng.queue_depth == 3)
        with pytest.raises(EngineBusy):  # the flooder's fourth: the queue is full
            await eng.generate("في", 1.0, 5, key="flooder")
        light = asyncio.create_task(eng.generate("في", 1.0, 5, key="light"))
        with pytest.raises(EngineBusy):  # the flooder's newest made room for it
            await flood[2]
        assert eng.queue_depth_by_key() == {"flooder": 2, "light": 1}
        second = asyncio.create_task(eng.generate("في", 1.0, 5, key="second"))
        with pytest.raises(EngineBusy):
            await flood[1]
        # Now every key has one waiting: a tie refuses the newcomer.
        with pytest.raises(EngineBusy):
            await eng.generate("في", 1.0, 5, key="third")
        assert eng.evicted == 2
        assert eng.queue_depth_by_key() == {"flooder": 1, "light": 1, "second": 1}
    finally:
        await eng.stop(drain=False)
    for task in (running, flood[0], light, second):
        with pytest.raises(EngineStopped):
            await task


async def test_a_caller_that_gives_up_while_waiting_leaves_the_queue(
    trained_tiny: TrainResult,
) -> None:
    eng = GenerationEngine(Checkpoint.from_result(trained_tiny), 1, max_batch=1, max_queue=5)
    await eng.start()
    try:
        running = asyncio.create_task(eng.generate("في", 1.0, 10_000, key="a"))
        await wait_for(lambda: eng.active_requests == 1)
        waiting = asyncio.create_task(eng.generate("في", 1.0, 5, key="b"))
        await wait_for(lambda: eng.queue_depth == 1)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert eng.queue_depth == 0 and eng.queue_depth_by_key() == {}
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        assert len((await eng.generate("في", 1.0, 5, key="c")).continuation) == 5
    finally:
        await eng.stop(drain=False)
