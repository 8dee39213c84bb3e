"""The Telegram side of the product.

``app`` and ``runner`` are the wiring; the folders are the layers, each importing only
those below it (``tests/test_layout.py`` pins the order):

* ``handlers/``: what the bot does on each command, button and inline query;
* ``retrain/``: the admin's /retrain conversation; ``cluster/``: replicas sharing one
  database; ``ops/``: start-up and the operations CLI; ``trainer/``: the trainer process;
* ``rules/``: who may use the bot, how much, how a text is written;
* ``telegram/``: Bot API plumbing; ``training/``: one training run, end to end;
* ``storage/``: the database; ``texts/``: what the bot says; ``settings/``: configuration,
  logging, redaction; ``metrics/``: what every layer counts for Prometheus, and the
  ``/healthz``, ``/readyz`` and ``/metrics`` routes.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("charlstm-bot")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "unknown"
