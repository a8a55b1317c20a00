"""gunicorn settings for ``ivr serve``; environment variables override the defaults."""

import gc
import multiprocessing
import os
from typing import Any

from ivr.serving import ACCESS_LOG_FORMAT

bind = os.environ.get("IVR_BIND", "0.0.0.0:8000")
_sqlite = os.environ.get("IVR_DATABASE_URL", "sqlite").startswith("sqlite")
# PostgreSQL: one process per core measured best. SQLite allows one writer at a time: a second
# process overlaps what a webhook does outside its write (HTTP, Flask, the answer) and the two
# hand the file's lock on (ivr.db); more would only contend for it (docs/benchmarks.md).
_cores = multiprocessing.cpu_count()
workers = int(os.environ.get("IVR_WORKERS", min(2, _cores) if _sqlite else _cores))
threads = int(os.environ.get("IVR_THREADS", "4"))
# gthread, but a request gets a thread only once it has fully arrived: slow clients wait in the
# event loop, within IVR_HEADER_TIMEOUT / IVR_BODY_TIMEOUT (ivr/serving.py, docs/deploy.md).
worker_class = "ivr.serving.BufferingThreadWorker"
# Connections a worker holds at once (arriving, kept alive, or served); each arriving one buffers
# at most IVR_MAX_BODY_BYTES.
worker_connections = int(os.environ.get("IVR_WORKER_CONNECTIONS", "500"))
# Idle connections stay open 5 seconds. With several workers, one closes after
# IVR_REQUESTS_PER_CONNECTION requests (20), so the load spreads over them (ivr/serving.py).
keepalive = int(os.environ.get("IVR_KEEPALIVE", "5"))

# Load the app (and a Vosk model, when configured) once before forking: workers share its memory.
preload_app = True


def pre_fork(server: Any, worker: Any) -> None:
    """Move what the preloaded app built into the permanent generation before forking.

    A worker's full garbage collection otherwise walks those 220,000 objects every time
    (150–190 ms in a worker under the webhook benchmark, 6–14 ms frozen; docs/benchmarks.md),
    stalling the webhook that triggered it, and writes to their memory pages, which then stop
    being shared with the other workers (Python's ``gc.freeze`` documentation).
    """
    gc.freeze()


timeout = 30
graceful_timeout = 10
# gunicorn's control socket ($HOME/.gunicorn/gunicorn.ctl) is unused here, and several instances
# on one machine would share its path.
control_socket_disable = True
accesslog = os.environ.get("IVR_ACCESS_LOG", "-")
# Path without the query string, and no referrer: query strings (and the console pages a referrer
# names) may carry phone numbers or order numbers, which must not reach the access log.
access_log_format = ACCESS_LOG_FORMAT
logger_class = "ivr.serving.AccessLogger"
