import sys

from model.gc_policy import collector_paused

with collector_paused():  # torch's import, without walking its objects again and again
    from model.cli import main

sys.exit(main())
