"""``python -m model train --progress jsonl`` as a child process, read line by line.

Training runs in its own process so the serving process keeps its event loop and its
cores: a crash, an out-of-memory kill or a full disk there cannot take the bot down.
The child gets ``--exit-with-parent`` and a stdin pipe that only this process holds, so
it stops within moments when the bot dies, even by SIGKILL (see ``model.cli``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bot.texts.worded import Worded
from model.fork_client import ForkedProcess, start_child

log = logging.getLogger(__name__)

EXIT_CANCELLED = 3  # model.cli.EXIT_CANCELLED


@dataclass(frozen=True)
class TrainingArgs:
    corpus: Path
    out: Path
    steps: int | str  # a number, or "auto"
    seq_len: int
    batch_size: int
    lr: float | None  # None: the recipe's own
    val_fraction: float
    embed_size: int
    hidden_size: int
    device: str
    eval_every: int
    log_every: int
    threads: int = 1
    # the recipe, its wall-clock cap, and fine-tuning (bot/training/plan.py)
    recipe: str = "reference"
    time_budget_s: float = 0.0
    init: Path | None = None
    replay: Path | None = None
    plan: dict[str, Any] = field(default_factory=dict)

    def settings(self) -> dict[str, Any]:
        """The settings that define what is trained (for duplicate detection and records)."""
        return {
            "steps": self.steps,
            "seq_len": self.seq_len,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "val_fraction": self.val_fraction,
            "embed_size": self.embed_size,
            "hidden_size": self.hidden_size,
            "recipe": self.recipe,
            **self.plan,
        }

    def argv(self) -> list[str]:
        return [
            sys.executable, "-m", "model", "train",
            "--corpus", str(self.corpus), "--out", str(self.out),
            "--steps", str(self.steps), "--seq-len", str(self.seq_len),
            "--batch-size", str(self.batch_size),
            *(["--lr", repr(self.lr)] if self.lr is not None else []),
            "--val-fraction", repr(self.val_fraction),
            "--embed-size", str(self.embed_size), "--hidden-size", str(self.hidden_size),
            "--eval-every", str(self.eval_every), "--log-every", str(self.log_every),
            "--device", self.device, "--progress", "jsonl", "--exit-with-parent",
            "--recipe", self.recipe, "--time-budget", repr(self.time_budget_s),
        ] + (["--init", str(self.init)] if self.init else []) + (
            ["--init-sha256", str(self.plan["init_sha256"])]
            if self.init and self.plan.get("init_sha256") else []
        ) + (
            ["--replay-corpus", str(self.replay)] if self.replay else []
        )  # fmt: skip


@dataclass(frozen=True)
class AppraisalArgs:
    """``python -m model.appraise``: judge the candidates (and the active model, doing
    nothing) on the new text's held-out tail, write the winner to ``out`` with its
    choice and realism figures in its metrics (see that module)."""

    corpus: Path
    out: Path
    candidates: dict[str, Path]
    base: Path | None
    val_fraction: float
    realism_words: int
    temperature: float
    length: int
    device: str
    threads: int = 1

    def argv(self) -> list[str]:
        return [
            sys.executable, "-m", "model.appraise",
            "--corpus", str(self.corpus), "--out", str(self.out),
            "--val-fraction", repr(self.val_fraction),
            *[f"--candidate={name}={path}" for name, path in self.candidates.items()],
            *(["--base", str(self.base)] if self.base else []),
            "--realism-words", str(self.realism_words),
            "--temperature", repr(self.temperature), "--length", str(self.length),
            "--device", self.device, "--exit-with-parent",
        ]  # fmt: skip


class Command(Protocol):
    """A child this module can run: its command line and its share of the cores."""

    @property
    def threads(self) -> int: ...

    def argv(self) -> list[str]: ...


@dataclass
class TrainingOutcome:
    status: str  # "succeeded", "failed" or "cancelled"
    done: dict[str, Any] | None = None  # the final "done" event
    error: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)


class TrainingProcess:
    def __init__(self, args: Command) -> None:
        self.args = args
        self._proc: ForkedProcess | asyncio.subprocess.Process | None = None
        self._cancelled = False
        self._stderr_tail: list[str] = []

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def start(self) -> None:
        env = dict(os.environ)
        # Leave the other cores to the engine that keeps serving /write meanwhile.
        threads = str(max(1, self.args.threads))
        env.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads, PYTHONUNBUFFERED="1")
        env.pop("BOT_TOKEN", None)  # the child has no business with the secret
        # Forked from a server that has torch imported (model/fork_client.py), in
        # its own session (a Ctrl+C to the bot must not kill training half-way), with a
        # stdin pipe never written to: its end of file is how the child learns the bot
        # is gone.
        self._proc = await start_child(self.args.argv(), env=env, threads=int(threads))
        log.info("training process %d started", self._proc.pid)

    async def _read_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        async for raw in self._proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                self._stderr_tail = [*self._stderr_tail[-19:], line]

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """Each JSON event the child prints; non-JSON lines are logged and skipped."""
        assert self._proc is not None and self._proc.stdout is not None
        async for raw in self._proc.stdout:
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                log.warning("training process printed a non-JSON line: %.200s", line)
                continue
            if isinstance(event, dict):
                yield event

    async def run(self, on_event: Any = None) -> TrainingOutcome:
        """Drive the child to its end, passing each event to ``on_event`` (async)."""
        assert self._proc is not None
        stderr_task = asyncio.create_task(self._read_stderr())
        outcome = TrainingOutcome(status="failed")
        try:
            async for event in self.events():
                kind = event.get("event")
                if kind == "progress":
                    outcome.history.append(event)
                elif kind == "done":
                    outcome.done = event
                if on_event is not None:
                    await on_event(event)
            code = await self._proc.wait()
        finally:
            await asyncio.gather(stderr_task, return_exceptions=True)
        if self._cancelled or code == EXIT_CANCELLED:
            outcome.status = "cancelled"
        elif code == 0 and outcome.done is not None:
            outcome.status = "succeeded"
        else:
            outcome.error = self._failure_reason(code)
        return outcome

    def _failure_reason(self, code: int) -> str:
        """The run's stored cause (bot.texts.worded): a key where the bot words it; the
        child's own "error:" line (model/'s English sentence) as it is."""
        if code < 0:
            name = next((s.name for s in signal.Signals if s.value == -code), str(-code))
            log.warning("the training process was killed by %s", name)
            return Worded("run_killed", signal=-code).stored()
        for line in reversed(self._stderr_tail):
            if line.startswith("error:"):
                return line.removeprefix("error:").strip()
        last = self._stderr_tail[-1] if self._stderr_tail else "no output"
        log.warning("the training process exited with status %d: %.300s", code, last)
        return Worded("run_exited", status=code).stored()

    async def cancel(self, grace_s: float = 10.0) -> None:
        """SIGTERM (the child stops between steps, writing nothing), then SIGKILL."""
        self._cancelled = True
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), grace_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    def kill(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
