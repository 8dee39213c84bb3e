"""``python -m bot.ops migrate|healthcheck``: see :mod:`bot.ops.cli`."""

import sys

from bot.ops.cli import main

sys.exit(main())
