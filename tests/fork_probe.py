"""Run by tests/test_fork_server.py inside a child of the fork server: prints what the
child is (its environment's marks, directory, session, threads, command line and signal
handlers), then leaves as a Python process does: a non-daemon thread finishes first,
then the atexit handlers run. With ``--raise`` it leaves by an uncaught exception."""

import atexit
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import torch

print(
    json.dumps(
        {
            "mark": os.environ.get("MARK"),
            "token": "BOT_TOKEN" in os.environ,
            "cwd": os.getcwd(),
            "session": os.getsid(0) == os.getpid(),
            "threads": torch.get_num_threads(),
            "cmdline": Path("/proc/self/cmdline").read_bytes().replace(b"\0", b" ").decode(),
            "sigpipe_ignored": signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN,
            "sigint_raises": signal.getsignal(signal.SIGINT) is signal.default_int_handler,
            "sigterm_default": signal.getsignal(signal.SIGTERM) == signal.SIG_DFL,
        }
    ),
    flush=True,
)
atexit.register(lambda: print("atexit ran", file=sys.stderr, flush=True))


def late() -> None:
    time.sleep(0.3)
    print("thread done", file=sys.stderr, flush=True)


threading.Thread(target=late).start()
if "--raise" in sys.argv:
    raise RuntimeError("the probe's uncaught exception")
