"""``wsgi:app`` for the webhook benchmark, with the flows' clock pinned (``IVR_BENCH_AT``, ISO 8601).

The shipped hotline routes by weekday and hour; a pinned clock makes every run walk the same
paths. Served by gunicorn with the project's ``gunicorn.conf.py``, like ``ivr serve``.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path

# This folder's benchmark scripts (callbacks.py, speech.py) would shadow the packages they measure.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from ivr import create_app  # noqa: E402
from ivr.setup import warm_up  # noqa: E402

_AT = datetime.fromisoformat(os.environ["IVR_BENCH_AT"])

app = create_app({"CLOCK": lambda: _AT})
warm_up(app)
