"""A dialer worker in its own process: ``python -m tests.callbacks.worker_process URL NAME``.

Dials until no request is open any more and prints the request ids it dialled as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

import ivr.plugins  # noqa: F401
from callbacks.dialer import Dialer
from callbacks.models import OPEN, CallbackRequest
from callbacks.settings import Settings
from callbacks.telephony import make_client
from ivr.db import Timeouts, make_engine
from tests.callbacks.fakes import FakeTwilio
from tests.callbacks.test_claiming import CONFIG, TOKEN, carrier


def main(url: str, name: str) -> None:
    """Run one worker to the end of the queue."""
    # Eight processes writing one SQLite file on a loaded CI machine: a worker, unlike a webhook,
    # has no caller waiting and may wait for the file as long as it takes.
    sessions = sessionmaker(make_engine(url, Timeouts(sqlite_busy=120)), expire_on_commit=False)
    fake = FakeTwilio(TOKEN, on_call=carrier(sessions))
    settings = replace(Settings(), batch_size=25, api_retry_delay=0)
    dialer = Dialer(
        sessions, make_client(CONFIG, fake), settings, "https://hotline.example", "+4930123456789", name=name
    )
    while True:
        if dialer.run_once() == 0:
            with sessions() as session:
                if not session.scalar(select(func.count()).where(CallbackRequest.status.in_(OPEN))):
                    break
            time.sleep(0.05)
    print(json.dumps([int(call.query(call.url)["r"]) for call in fake.calls]))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
