"""Start ``python -m model ...`` children through the warm fork server.

``model/fork_server.py`` has torch and its optimiser's compiler stack imported once, so
a training or appraisal process forked from it starts working at once instead of
spending 2-4 s of CPU on imports (every retraining starts two or three of them, on the
cores that serve users meanwhile). One server per bot process, started at the first
child; it ends when the bot does (end of file on its socket), and the children started
with ``--exit-with-parent`` end with it, or after ten idle minutes
(``model.fork_server.IDLE_EXIT_S``), and the next child starts another.

:func:`start_child` returns a :class:`ForkedProcess`, the part of
:class:`asyncio.subprocess.Process` that :mod:`bot.training.process` uses. Whatever goes
wrong with the server (it cannot start, it died, it refused), the child is started as a
plain subprocess instead, with one warning in the log: the fork server only saves time.

The client is loop-agnostic (a lock and blocking calls in a worker thread): a process
may run several event loops over its life (the tests do), and one server serves them all.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import IO, Any

log = logging.getLogger(__name__)

EXIT_UNUSABLE = 3  # model.fork_server.EXIT_UNUSABLE (not imported: that module imports torch)

# The server's first answer waits for its imports (seconds on a busy machine); later
# ones come within milliseconds.
ANSWER_TIMEOUT_S = 120.0
PIPE_LIMIT = 2**16  # asyncio's own limit for a subprocess's pipes


class ForkServer:
    """The process's one fork server, started on first use and again if it died."""

    def __init__(
        self,
        idle_exit_s: float | None = None,
        command: Sequence[str] | None = None,
        answer_timeout_s: float = ANSWER_TIMEOUT_S,
    ) -> None:
        self._answer_timeout_s = answer_timeout_s
        self._command = list(command or [sys.executable, "-m", "model.fork_server"])
        if idle_exit_s is not None:
            self._command.append(f"--idle-exit-s={idle_exit_s}")
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._unusable = False  # it said so (model.fork_server.EXIT_UNUSABLE): no more

    def _started(self) -> socket.socket:
        if self._proc is not None and self._proc.poll() is None and self._sock is not None:
            return self._sock
        self._stop()
        if self._unusable:
            raise OSError("the fork server cannot serve on this host")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = dict(os.environ)
        env.pop("BOT_TOKEN", None)  # neither the server nor its children need the secret
        env["PYTHONUNBUFFERED"] = "1"
        with theirs:
            self._proc = subprocess.Popen(
                self._command,
                stdin=theirs.fileno(),
                stdout=subprocess.DEVNULL,
                env=env,
                start_new_session=True,  # a Ctrl+C to the bot must not reach it
            )
        ours.settimeout(self._answer_timeout_s)
        self._sock = ours
        log.info("training fork server %d started", self._proc.pid)
        return ours

    def _stop(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._proc is not None:
            try:  # end of file on its socket ends it
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:  # a stuck server: not left behind
                self._proc.kill()
                self._proc.wait()
            self._unusable = self._unusable or self._proc.returncode == EXIT_UNUSABLE
            self._proc = None

    def fork(self, request: dict[str, Any], fds: Sequence[int]) -> int:
        """Send one request with ``fds``; the child's pid. Blocking: call in a thread."""
        with self._lock:
            try:
                answer = self._ask(request, fds)
            except (BrokenPipeError, ConnectionError):
                # It may have ended, idle, just as the request went: ask a new one, once.
                answer = self._ask(request, fds)
            reply = json.loads(answer)
            if "pid" not in reply:
                raise OSError(f"the fork server refused: {reply.get('error')}")
            return int(reply["pid"])

    def _ask(self, request: dict[str, Any], fds: Sequence[int]) -> bytes:
        sock = self._started()
        try:
            socket.send_fds(sock, [json.dumps(request).encode()], list(fds))
            answer = sock.recv(4096)
        except OSError:
            self._stop()  # a broken or silent server: the next request starts another
            raise
        if not answer:
            self._stop()
            raise ConnectionError("the fork server exited")
        return answer

    def close(self) -> None:
        with self._lock:
            self._stop()


FORK_SERVER = ForkServer()


async def _reader(fd: int) -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=PIPE_LIMIT, loop=loop)
    pipe = os.fdopen(fd, "rb", buffering=0)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader, loop=loop), pipe)
    return reader


class ForkedProcess:
    """A child of the fork server, seen as :class:`asyncio.subprocess.Process` is:
    ``returncode`` is set when the child ends, whether or not anyone waits."""

    def __init__(
        self,
        pid: int,
        stdin_fd: int,
        stdout: asyncio.StreamReader | None,
        stderr: asyncio.StreamReader | None,
        status: asyncio.StreamReader,
    ) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self.stdout = stdout
        self.stderr = stderr
        self._stdin_fd = stdin_fd  # never written; its end of file tells the child we're gone
        self._status = status
        self._waiter = asyncio.ensure_future(self._wait())

    async def _wait(self) -> int:
        line = await self._status.read()
        try:
            code = int(line.decode().strip())
        except ValueError:
            # The server died before it could say: --exit-with-parent killed the child.
            code = -signal.SIGKILL
        self.returncode = code
        if self._stdin_fd >= 0:
            os.close(self._stdin_fd)
            self._stdin_fd = -1
        return code

    async def wait(self) -> int:
        return await asyncio.shield(self._waiter)

    async def communicate(self) -> tuple[bytes | None, bytes | None]:
        """Everything the child writes to its piped outputs, once it has ended."""

        async def read(stream: asyncio.StreamReader | None) -> bytes | None:
            return None if stream is None else await stream.read()

        out, err = await asyncio.gather(read(self.stdout), read(self.stderr))
        await self.wait()
        return out, err

    def send_signal(self, signum: int) -> None:
        if self.returncode is not None:
            raise ProcessLookupError(self.pid)  # as asyncio's Process does: no stray kill
        os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


async def start_child(
    argv: Sequence[str], *, env: dict[str, str], threads: int
) -> ForkedProcess | asyncio.subprocess.Process:
    """``argv`` (``[sys.executable, "-m", module, ...]``) as a child of the fork server,
    or, if that fails, as a plain subprocess in its own session."""
    if len(argv) >= 3 and argv[1] == "-m" and argv[2].split(".")[0] == "model":
        try:
            return await fork_child(list(argv[2:]), env=env, threads=threads)
        except (OSError, ValueError) as exc:
            log.warning("the fork server could not start a child (%s): starting it anew", exc)
    return await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,  # never written to, as above
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        start_new_session=True,
    )


# Where a child's stdout or stderr goes, as for asyncio.create_subprocess_exec:
# asyncio.subprocess.PIPE (read it from the ForkedProcess), DEVNULL, STDOUT (stderr
# only), or an open file.
Output = int | IO[Any]


def _output(target: Output, stdout_fd: int | None = None) -> tuple[int, int | None]:
    """The child's descriptor for ``target`` and, for a pipe, the end we read."""
    if target == asyncio.subprocess.PIPE:
        r, w = os.pipe()
        return w, r
    if target == asyncio.subprocess.DEVNULL:
        return os.open(os.devnull, os.O_WRONLY), None
    if target == asyncio.subprocess.STDOUT and stdout_fd is not None:
        return os.dup(stdout_fd), None
    if isinstance(target, int):
        raise ValueError(f"not an output for a child: {target}")
    return os.dup(target.fileno()), None


async def fork_child(
    argv: list[str],
    *,
    env: dict[str, str],
    threads: int,
    cwd: str | os.PathLike[str] | None = None,
    stdout: Output = asyncio.subprocess.PIPE,
    stderr: Output = asyncio.subprocess.PIPE,
    server: ForkServer = FORK_SERVER,
) -> ForkedProcess:
    """``python -m <argv>`` forked from ``server``, in ``cwd`` (default: ours)."""
    ours: list[int] = []  # our ends: closed if the fork fails
    theirs: list[int] = []  # the child's ends: closed here once it has them
    try:
        in_r, in_w = os.pipe()
        theirs.append(in_r)
        ours.append(in_w)
        out_fd, out_r = _output(stdout)
        theirs.append(out_fd)
        ours.extend([out_r] if out_r is not None else [])
        err_fd, err_r = _output(stderr, stdout_fd=out_fd)
        theirs.append(err_fd)
        ours.extend([err_r] if err_r is not None else [])
        st_r, st_w = os.pipe()
        theirs.append(st_w)
        ours.append(st_r)
        request = {"argv": argv, "env": env, "cwd": os.fspath(cwd or os.getcwd()),
                   "threads": threads}  # fmt: skip
        pid = await asyncio.to_thread(server.fork, request, theirs)
    except BaseException:
        for fd in ours:
            os.close(fd)
        raise
    finally:
        for fd in theirs:  # held by the child alone from now on (or by nobody)
            os.close(fd)
    return ForkedProcess(
        pid,
        in_w,
        None if out_r is None else await _reader(out_r),
        None if err_r is None else await _reader(err_r),
        await _reader(st_r),
    )
