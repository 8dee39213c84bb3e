"""Run by tests/test_fork_server.py inside a child of the fork server: prints what the
child is (its environment's marks, directory, session, threads and command line)."""

import json
import os
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
        }
    ),
    flush=True,
)
