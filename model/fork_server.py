"""A warm parent for the ``python -m model`` processes the bot starts.

Every training or appraisal process would import torch, and at its optimiser's first
step torch's compiler stack (the optimiser calls into ``torch._dynamo``): 2-4 s of CPU
before it does any work, paid again by each of the two or three processes of every
retraining, on the cores the bot is serving users with. This server pays it once: it
imports all of that, then forks a child per request, which starts with it in memory.

Run as ``python -m model.fork_server`` with one end of a ``SOCK_SEQPACKET`` socket pair
as its stdin (``model/fork_client.py`` holds the other end). A request is one
message: JSON ``{"argv": ["model", "train", ...], "env": {...}, "cwd": ..., "threads": n}``
(``argv`` as after ``python -m``) with four descriptors attached: the child's stdin,
stdout and stderr, and a status pipe. The server forks, answers ``{"pid": n}`` (or
``{"error": ...}``), and when it reaps the child writes its exit code as one line to the
status pipe (negative: killed by that signal, as :mod:`subprocess` reports it) and
closes it. End of file on the socket (the bot exited or died) ends the server; children
started with ``--exit-with-parent`` then get SIGKILL from the kernel, as they would have
at the bot's death. With no child and no request for ``IDLE_EXIT_S`` it ends too.

A child is what ``python -m <argv>`` would have been: its own session, the requester's
environment and working directory, its command line in ``ps`` (setproctitle), the signal
handlers a Python process starts with, ``threads`` intra-op threads (OpenMP read
OMP_NUM_THREADS when the server imported torch, so the child sets its count itself), and
the interpreter's way out (non-daemon threads joined, atexit run).

``--preload MODULE`` imports more before serving. The tests use it to start their
``python -m bot`` and ``python -m bot.trainer`` processes the same way (see
tests/processes.py): ~3 s of imports less for each of the dozens a run starts.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import importlib
import json
import os
import runpy
import selectors
import signal
import socket
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

from model.gc_policy import collector_paused

# A retraining's two or three children come within minutes of each other; between
# retrainings the server's ~300 MB (torch imported) go back to the machine, and the next
# retraining pays the imports once more.
IDLE_EXIT_S = 600.0
MAX_REQUEST_BYTES = 1 << 20  # a command line and an environment; generous
FDS_PER_REQUEST = 4  # stdin, stdout, stderr, status
EXIT_UNUSABLE = 3  # this host cannot fork children that work: the client stops asking
# The handlers a Python process starts with (SIGPIPE and SIGXFSZ ignored, so that a
# write to a closed pipe raises BrokenPipeError; Ctrl+C raises KeyboardInterrupt), in
# place of the server's own.
STARTUP_SIGNALS: dict[signal.Signals, Callable[[int, FrameType | None], Any] | int] = {
    signal.SIGCHLD: signal.SIG_DFL,
    signal.SIGTERM: signal.SIG_DFL,
    signal.SIGINT: signal.default_int_handler,
    signal.SIGPIPE: signal.SIG_IGN,
    signal.SIGXFSZ: signal.SIG_IGN,
}


def _preload(extra: Sequence[str] = ()) -> None:
    with collector_paused():  # see model/gc_policy.py: imports make no garbage
        import torch
        import torch._dynamo
        import torch.optim

        import model.appraise
        import model.cli  # noqa: F401

        for module in extra:  # --preload: what other children will import
            importlib.import_module(module)

        # One thread while nothing runs: an OpenMP pool started before a fork would
        # leave its threads behind in the child, where the next parallel region waits
        # on them forever.
        torch.set_num_threads(1)
    if torch.cuda.is_initialized():  # type: ignore[no-untyped-call]  # a fork could not use it
        print("error: CUDA was initialised while importing: no forks", file=sys.stderr)
        raise SystemExit(EXIT_UNUSABLE)


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def _run_child(
    request: dict[str, Any], fds: list[int], server: socket.socket, inherited: list[int]
) -> None:
    """In the forked child: become the requested command, run it, exit. Never returns.

    ``inherited`` are the server's own descriptors (its selector, its wake-up pipe, the
    other children's status pipes): closed, or a sibling holding a status pipe open
    would keep its requester from ever seeing the end of it."""
    code = 1
    try:
        stdin, stdout, stderr, status = fds
        server.close()
        _close([status, *inherited])
        os.setsid()
        signal.set_wakeup_fd(-1)
        for signum, handler in STARTUP_SIGNALS.items():
            signal.signal(signum, handler)
        for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
            os.dup2(fd, target)
            os.close(fd)
        argv: list[str] = request["argv"]
        try:  # before the environment changes: it finds the room for the title there
            from setproctitle import setproctitle

            setproctitle(" ".join([sys.executable, "-m", *argv]))
        except ImportError:  # only ps shows less
            pass
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        import torch

        torch.set_num_threads(max(1, int(request.get("threads", 1))))
        sys.argv = [f"-m {argv[0]}", *argv[1:]]
        try:
            runpy.run_module(argv[0], run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as exc:
            code = _exit_code(exc)
        except BaseException:  # what python -m prints for an uncaught exception
            traceback.print_exc()
            code = 1
        # What the interpreter does on its way out: wait for the threads that are not
        # daemons (a process that would hang at exit hangs here too), then atexit.
        threading._shutdown()  # type: ignore[attr-defined]
        atexit._run_exitfuncs()
    except BaseException:  # setting the child up failed
        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)


def _close(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _report(status_fd: int, code: int) -> None:
    with contextlib.suppress(OSError):  # the requester is gone: nobody to tell
        os.write(status_fd, f"{code}\n".encode())
    _close([status_fd])


def serve(server: socket.socket, idle_exit_s: float = IDLE_EXIT_S) -> None:
    """Fork a child per request until end of file on ``server``, or ``idle_exit_s``
    without a request or a child."""
    status_of: dict[int, int] = {}  # child pid -> its status pipe
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # only to wake the selector
    selector = selectors.DefaultSelector()
    selector.register(server, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    while True:
        events = selector.select(None if status_of else idle_exit_s)
        if not events and not status_of:
            return  # idle: the client starts another server when it needs one
        for key, _ in events:
            if key.fileobj is server:
                message, fds, _flags, _addr = socket.recv_fds(
                    server, MAX_REQUEST_BYTES, FDS_PER_REQUEST
                )
                if not message:
                    _close(fds)
                    return  # the requester closed its end: nothing more will come
                inherited = [selector.fileno(), wake_r, wake_w, *status_of.values()]
                _fork(server, message, fds, status_of, inherited)
            else:
                while True:
                    try:
                        if not os.read(wake_r, 512):
                            break
                    except BlockingIOError:
                        break
        while status_of:  # reap every child that has ended, whatever woke us
            pid, wait_status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            if pid in status_of:
                _report(status_of.pop(pid), os.waitstatus_to_exitcode(wait_status))


def _fork(
    server: socket.socket,
    message: bytes,
    fds: list[int],
    status_of: dict[int, int],
    inherited: list[int],
) -> None:
    try:
        request = json.loads(message)
        if len(fds) != FDS_PER_REQUEST:
            raise ValueError(f"expected {FDS_PER_REQUEST} descriptors, got {len(fds)}")
        for stream in (sys.stdout, sys.stderr):
            stream.flush()  # nothing of the server's buffered output in the child
        pid = os.fork()
    except (ValueError, OSError) as exc:
        _close(fds)
        server.send(json.dumps({"error": str(exc)}).encode())
        return
    if pid == 0:
        _run_child(request, fds, server, inherited)
    _close(fds[:3])  # the child's ends now live in the child only
    status_of[pid] = fds[3]
    server.send(json.dumps({"pid": pid}).encode())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.fork_server")
    parser.add_argument("--idle-exit-s", type=float, default=IDLE_EXIT_S)
    parser.add_argument(
        "--preload", action="append", default=[], metavar="MODULE",
        help="import MODULE too before serving (repeatable)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    server = socket.socket(fileno=os.dup(0))
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # the socket is held once, as ``server``
    os.close(devnull)
    _preload(args.preload)
    with contextlib.suppress(KeyboardInterrupt):
        serve(server, args.idle_exit_s)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
