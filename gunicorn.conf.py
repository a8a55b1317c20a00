"""gunicorn settings for ``ivr serve``; environment variables override the defaults."""

import multiprocessing
import os

bind = os.environ.get("IVR_BIND", "0.0.0.0:8000")
# SQLite allows one writer at a time: one process whose threads queue on an in-process lock
# answers faster than several processes contending for the file. PostgreSQL scales out.
_sqlite = os.environ.get("IVR_DATABASE_URL", "sqlite").startswith("sqlite")
# With PostgreSQL, one process per core measured best (docs/benchmarks.md).
workers = int(os.environ.get("IVR_WORKERS", 1 if _sqlite else multiprocessing.cpu_count()))
threads = int(os.environ.get("IVR_THREADS", "8" if _sqlite else "4"))
worker_class = "gthread"
# Load the app (and a Vosk model, when configured) once before forking: workers share its memory.
preload_app = True
timeout = 30
graceful_timeout = 10
accesslog = os.environ.get("IVR_ACCESS_LOG", "-")
