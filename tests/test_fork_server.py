"""The warm fork server that starts the bot's ``python -m model`` children.

A child forked from it must be what ``python -m model ...`` would have been: the same
output, exit status and signals, the requester's environment without the token, its
own command line in ``ps``, and nothing of its siblings. A dead server costs a restart,
never a training.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import pytest

from model.fork_client import FORK_SERVER, ForkedProcess, ForkServer, fork_child, start_child
from tests.conftest import TINY_TEXT


def model_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "model", *args]


def long_training(corpus: Path, out: Path, *extra: str) -> list[str]:
    """A training that runs until it is killed, printing its progress as JSON lines."""
    return model_argv(
        "train", "--corpus", str(corpus), "--out", str(out), "--steps", "100000",
        "--seq-len", "16", "--batch-size", "8", "--hidden-size", "16", "--progress", "jsonl",
        *extra,
    )  # fmt: skip


def missing_checkpoint(tmp_path: Path) -> list[str]:
    """``model eval`` of a checkpoint that is not there: exit status 2 at once."""
    return ["model", "eval", "--checkpoint", str(tmp_path / "none.pt"), "--corpus", "x"]


def child_env(**extra: str) -> dict[str, str]:
    return {**os.environ, **extra}


async def finished(proc: ForkedProcess | asyncio.subprocess.Process) -> tuple[int, str, str]:
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None and out is not None and err is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text(TINY_TEXT, encoding="utf-8")
    return path


async def test_a_forked_training_writes_what_the_command_would(
    corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "m.pt"
    proc = await start_child(
        model_argv(
            "train", "--corpus", str(corpus), "--out", str(out), "--steps", "20",
            "--seq-len", "16", "--batch-size", "8", "--hidden-size", "16",
            "--eval-every", "10", "--progress", "jsonl", "--exit-with-parent",
        ),
        env=child_env(),
        threads=2,  # a pool of two in the child: the server's own stayed at one
    )  # fmt: skip
    assert isinstance(proc, ForkedProcess)
    code, stdout, stderr = await finished(proc)
    assert code == 0, stderr
    events = [json.loads(line) for line in stdout.splitlines()]
    assert events[0]["event"] == "start" and events[-1]["event"] == "done"
    assert out.exists()


async def test_a_mistake_is_its_exit_status_and_its_one_line(tmp_path: Path) -> None:
    proc = await start_child(
        [sys.executable, "-m", *missing_checkpoint(tmp_path)],
        env=child_env(),
        threads=1,
    )
    code, _, stderr = await finished(proc)
    assert code == 2
    assert stderr.startswith("error:") and "Traceback" not in stderr, stderr


async def test_a_child_is_its_own_command_without_the_token_and_starts_and_ends_as_python_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123:secret")  # the bot's, inherited by the server
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent.parent))  # tests.fork_probe
    FORK_SERVER.close()  # so the next request starts a server with it in its environment
    monkeypatch.chdir(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"} | {"MARK": "yes"}
    # tests/fork_probe.py prints what it finds (the server runs any module it is sent;
    # start_child sends only model's)
    proc = await fork_child(["tests.fork_probe", "--flag"], env=env, threads=2)
    code, stdout, stderr = await finished(proc)
    assert code == 0, stderr
    seen = json.loads(stdout)
    assert seen["mark"] == "yes" and seen["token"] is False
    assert seen["cwd"] == str(tmp_path)
    assert seen["session"] is True  # a Ctrl+C to the bot does not reach it
    assert seen["threads"] == 2  # the server imported torch with one
    assert seen["cmdline"].startswith(f"{sys.executable} -m tests.fork_probe --flag")
    # Started and ended as Python starts and ends a process.
    assert seen["sigpipe_ignored"] and seen["sigint_raises"] and seen["sigterm_default"]
    assert stderr.splitlines() == ["thread done", "atexit ran"]
    server = FORK_SERVER._proc
    assert server is not None
    assert b"BOT_TOKEN" not in Path(f"/proc/{server.pid}/environ").read_bytes()


async def test_an_uncaught_exception_is_a_traceback_and_status_1_after_threads_and_atexit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent.parent))  # tests.fork_probe
    FORK_SERVER.close()
    proc = await fork_child(["tests.fork_probe", "--raise"], env=child_env(), threads=1)
    code, _, stderr = await finished(proc)
    assert code == 1
    lines = stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):", stderr
    assert lines[-3:] == [
        "RuntimeError: the probe's uncaught exception", "thread done", "atexit ran"
    ], stderr  # fmt: skip


async def test_a_killed_child_is_reported_killed_and_never_signalled_again(
    corpus: Path, tmp_path: Path
) -> None:
    proc = await start_child(long_training(corpus, tmp_path / "m.pt"), env=child_env(), threads=1)
    assert proc.stdout is not None
    await asyncio.wait_for(proc.stdout.readline(), 60)  # it has started
    command = Path(f"/proc/{proc.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    assert " -m model train --corpus " in command, command  # what ps shows
    proc.kill()
    assert await asyncio.wait_for(proc.wait(), 30) == -signal.SIGKILL
    with pytest.raises(ProcessLookupError):  # never a signal to a pid reused since
        proc.send_signal(signal.SIGTERM)


async def test_a_childs_end_is_reported_while_a_sibling_forked_after_it_still_runs(
    corpus: Path, tmp_path: Path
) -> None:
    first = await start_child(long_training(corpus, tmp_path / "1.pt"), env=child_env(), threads=1)
    second = await start_child(long_training(corpus, tmp_path / "2.pt"), env=child_env(), threads=1)
    try:
        for proc in (first, second):
            assert proc.stdout is not None
            await asyncio.wait_for(proc.stdout.readline(), 60)  # both have started
        first.kill()
        # the second does not hold the first's status pipe open
        assert await asyncio.wait_for(first.wait(), 30) == -signal.SIGKILL
        assert second.returncode is None
    finally:
        second.kill()
        await second.wait()


async def test_a_dead_server_is_replaced_and_its_orphans_are_reported_killed(
    corpus: Path, tmp_path: Path
) -> None:
    orphan = await start_child(
        long_training(corpus, tmp_path / "o.pt", "--exit-with-parent"), env=child_env(), threads=1
    )
    assert orphan.stdout is not None
    await asyncio.wait_for(orphan.stdout.readline(), 60)
    server = FORK_SERVER._proc
    assert server is not None
    server.kill()
    # --exit-with-parent: the kernel kills the child with its parent
    assert await asyncio.wait_for(orphan.wait(), 30) == -signal.SIGKILL
    after = await start_child(
        [sys.executable, "-m", *missing_checkpoint(tmp_path)],
        env=child_env(),
        threads=1,
    )
    assert isinstance(after, ForkedProcess)
    assert (await finished(after))[0] == 2
    assert FORK_SERVER._proc is not None and FORK_SERVER._proc.pid != server.pid


async def test_an_idle_server_ends_and_the_next_child_starts_another(tmp_path: Path) -> None:
    server = ForkServer(idle_exit_s=1.0)
    mistake = missing_checkpoint(tmp_path)
    try:
        first = await fork_child(mistake, env=child_env(), threads=1, server=server)
        assert (await finished(first))[0] == 2
        idle = server._proc
        assert idle is not None
        assert await asyncio.to_thread(idle.wait, 30) == 0  # it ended by itself
        second = await fork_child(mistake, env=child_env(), threads=1, server=server)
        assert (await finished(second))[0] == 2
        assert server._proc is not None and server._proc.pid != idle.pid
    finally:
        server.close()


async def test_a_server_that_cannot_serve_here_is_not_started_again(tmp_path: Path) -> None:
    # as model.fork_server exits where importing initialised CUDA (a fork could not use it)
    server = ForkServer(command=[sys.executable, "-c", "raise SystemExit(3)"])
    mistake = missing_checkpoint(tmp_path)
    with pytest.raises(OSError):
        await fork_child(mistake, env=child_env(), threads=1, server=server)
    with pytest.raises(OSError, match="cannot serve on this host"):
        await fork_child(mistake, env=child_env(), threads=1, server=server)
    assert server._proc is None  # not started a third time


async def test_a_server_that_never_answers_is_killed_not_left_behind(tmp_path: Path) -> None:
    marker = f"never-answers-{os.getpid()}-{id(tmp_path)}"
    server = ForkServer(
        # deaf to SIGTERM and to the end of its socket
        command=[sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, "
                 f"signal.SIG_IGN); time.sleep(600)  # {marker}"],
        answer_timeout_s=1.0,
    )  # fmt: skip
    mistake = missing_checkpoint(tmp_path)
    with pytest.raises(TimeoutError):
        await fork_child(mistake, env=child_env(), threads=1, server=server)
    left = [
        p.name
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and marker.encode() in _read_or_empty(p / "cmdline")
    ]
    assert left == [] and server._proc is None


def _read_or_empty(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


async def test_a_command_outside_model_is_an_ordinary_subprocess() -> None:
    proc = await start_child([sys.executable, "-c", "print('plain')"], env=child_env(), threads=1)
    assert isinstance(proc, asyncio.subprocess.Process)
    assert await finished(proc) == (0, "plain\n", "")
