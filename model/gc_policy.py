"""Keep the garbage collector off what a process builds while it starts.

Importing torch (and, in the bot, telegram, SQLAlchemy and the rest) leaves about
300,000 Python objects that live as long as the process. CPython's full collections
walk all of them every time they run: while the bot imports, six of them cost 0.6 s;
while it serves, each costs 0.15-0.25 s in one stretch on the event loop's thread,
stalling every user at once; at exit the interpreter walks them once more. Measured on a
2-core machine: ``import bot.app`` and exit took 3.7 s of CPU, 2.0 s with the collector
paused while importing and the result frozen; ``import torch`` 2.0 s and 1.4 s.

:func:`collector_paused` pauses the collector around a process's imports and
:func:`freeze_start_up_objects` moves what exists once start-up is over to a permanent
generation the collector skips; what the process allocates afterwards is collected as
usual.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """No collections inside (imports make almost no garbage, and everything they
    make lives as long as the process), and what was made is frozen on the way out."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def freeze_start_up_objects() -> None:
    """Collect start-up's garbage once, then exempt what is left from later scans.

    Call it once the long-lived objects exist (modules imported, model loaded), not in a
    loop: a cycle frozen here is never freed.
    """
    gc.collect()
    gc.freeze()
