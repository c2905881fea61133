"""`python -m tests.frozen_flask ARGS`: the `flask` command with the clock set to FROZEN_NOW (an ISO instant),
ticking on from there, so a real worker process (`... --app wsgi worker`) runs "at" a chosen time of day.

time-machine patches the C-level clock too, so ``datetime.now`` everywhere in the process (the portal's utcnow,
APScheduler) sees the chosen instant.
"""

from __future__ import annotations

import os
import sys

import time_machine
from flask.cli import main

if __name__ == "__main__":
    with time_machine.travel(os.environ["FROZEN_NOW"], tick=True):
        sys.argv[0] = "flask"
        main()
