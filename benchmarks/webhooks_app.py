"""``wsgi:app`` for the webhook benchmark, with the flows' clock pinned (``IVR_BENCH_AT``, ISO 8601).

The shipped hotline routes by weekday and hour; a pinned clock makes every run walk the same
paths. Served by gunicorn with the project's ``gunicorn.conf.py``, like ``ivr serve``.
"""

from __future__ import annotations

import os
from datetime import datetime

from ivr import create_app
from ivr.setup import warm_up

_AT = datetime.fromisoformat(os.environ["IVR_BENCH_AT"])

app = create_app({"CLOCK": lambda: _AT})
warm_up(app)
