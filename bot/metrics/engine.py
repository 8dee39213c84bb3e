"""The generation engine's own counters, read when Prometheus scrapes.

The engine already counts its steps, finished requests and characters, and knows its
queue depth and the rows in its batch (for /stats); a collector reads them at scrape
time instead of counting a second time on the hot path, so they cost nothing per
generation. ``rate(bot_engine_steps_total[1m])`` is the engine's steps per second, and
``bot_engine_chars_total`` over ``bot_engine_steps_total`` its mean batch size.

One engine per process (the wiring calls :func:`watch` when it starts one and
:func:`forget` when it stops); in tests several bots may run in one process one after
another, and the last one started is the one shown.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector

from model.engine import GenerationEngine

_engine: GenerationEngine | None = None


def watch(engine: GenerationEngine) -> None:
    global _engine
    _engine = engine


def forget(engine: GenerationEngine) -> None:
    global _engine
    if _engine is engine:
        _engine = None


class EngineCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        engine = _engine
        if engine is None:
            return
        yield GaugeMetricFamily(
            "bot_engine_queue_depth", "Requests waiting to join the batch.", engine.queue_depth
        )
        yield GaugeMetricFamily(
            "bot_engine_batch_rows", "Requests in the batch now.", engine.active_requests
        )
        yield GaugeMetricFamily(
            "bot_engine_batch_rows_max", "The largest batch seen since start.",
            engine.max_batch_seen,
        )  # fmt: skip
        yield CounterMetricFamily(
            "bot_engine_steps", "Batched LSTM steps taken (rate: steps/s).", engine.steps
        )
        yield CounterMetricFamily(
            "bot_engine_completed", "Requests the engine finished.", engine.completed
        )
        yield CounterMetricFamily(
            "bot_engine_chars", "Characters the engine generated.", engine.chars_generated
        )
        yield CounterMetricFamily(
            "bot_engine_refused_busy", "Requests refused at once, the queue being full.",
            engine.refused_busy + engine.evicted,
        )  # fmt: skip
        version = engine.version
        yield GaugeMetricFamily(
            "bot_model_version",
            "The model version this replica serves to new requests (its database id).",
            float(version) if isinstance(version, int) else -1.0,
        )


REGISTRY.register(EngineCollector())
