"""The dialer worker: claim due requests, call an agent first, then the agent's phone bridges the customer."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from urllib.parse import urlencode

import requests
from sqlalchemy.orm import Session, sessionmaker
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from callbacks.claiming import (
    DialPlan,
    claim_due,
    dial_failed,
    extend_lease,
    record_dialed,
    release_claims,
    requeue_lost_dial,
    stale_dials,
    start_attempt,
)
from callbacks.outcomes import FINAL_CALL_STATUSES, agent_call_ended
from callbacks.settings import Settings
from ivr.db import transaction
from ivr.models._types import utcnow

log = logging.getLogger(__name__)

#: Paths of the webhooks Twilio calls for the agent leg (served by ivr.callback_views).
AGENT_TWIML_PATH = "/callbacks/agent"
AGENT_STATUS_PATH = "/callbacks/agent/status"
#: When Twilio keeps failing, the request waits this long before the next try.
API_FAILURE_DELAY = timedelta(minutes=2)


class CredentialsRejected(Exception):
    """Twilio refused our account credentials: no call can be placed until they are fixed."""


@contextmanager
def unit_of_work(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One worker transaction in a session of its own (see ``ivr.db.transaction``)."""
    with sessions() as session, transaction(session):
        yield session


def worker_name() -> str:
    """A name unique to this worker process, recorded with its claims."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Dialer:
    """One worker; several may run on several machines against the same database."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        client: Client,
        settings: Settings,
        public_url: str,
        caller_id: str,
        name: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.sessions, self.client, self.settings = sessions, client, settings
        self.public_url, self.caller_id = public_url.rstrip("/"), caller_id
        self.name = name or worker_name()
        self.clock, self.sleep = clock, sleep

    def run(self, stop: threading.Event | None = None, drain: bool = False) -> int:
        """Dial until stopped (or, with ``drain``, until nothing is due); return calls placed."""
        placed = 0
        while stop is None or not stop.is_set():
            done = self.run_once()
            placed += done
            if done == 0:
                if drain:
                    return placed
                self.sleep(self.settings.poll_seconds)
        return placed

    def run_once(self) -> int:
        """Recover stale attempts, claim one batch and dial it; return calls placed."""
        self.recover()
        with unit_of_work(self.sessions) as session:
            ids = claim_due(
                session, self.name, self.clock(), self.settings.batch_size, self.settings.claim_lease
            )
        placed = 0
        for index, request_id in enumerate(ids):
            with unit_of_work(self.sessions) as session:
                plan = start_attempt(session, request_id, self.name, self.clock(), self.settings.dial_lease)
            if plan == "no_agent":
                with unit_of_work(self.sessions) as session:
                    release_claims(session, self.name, ids[index + 1 :])
                break
            if isinstance(plan, DialPlan):  # after the commit: only now may Twilio be called
                placed += self.place(plan)
        return placed

    def place(self, plan: DialPlan) -> int:
        """Ask Twilio to call the agent, retrying 429/5xx/timeouts; the request is never lost."""
        error = ""
        for attempt in range(self.settings.api_retries + 1):
            try:
                call = self.client.calls.create(
                    to=plan.agent_phone,
                    from_=self.caller_id,
                    timeout=25,
                    url=self.url(AGENT_TWIML_PATH, plan),
                    method="POST",
                    status_callback=self.url(AGENT_STATUS_PATH, plan),
                    status_callback_method="POST",
                    status_callback_event=["completed"],
                )
            except TwilioRestException as exc:
                error = f"HTTP {exc.status}: {exc.msg}"
                if exc.status in (401, 403):
                    self._give_back(plan, error, self.clock() + API_FAILURE_DELAY)
                    raise CredentialsRejected(error) from exc
                if exc.status != 429 and exc.status < 500:
                    break  # Twilio will not accept this call as asked; retrying now won't help
            except (TwilioException, requests.RequestException) as exc:
                error = f"{type(exc).__name__}: {exc}"
            else:
                with unit_of_work(self.sessions) as session:
                    record_dialed(session, plan.request_id, plan.attempt, call.sid or "")
                return 1
            self.sleep(self.settings.api_retry_delay * 2**attempt)
        log.warning("Twilio did not take callback %s: %s", plan.request_id, error)
        self._give_back(plan, error, self.clock() + API_FAILURE_DELAY)
        return 0

    def _give_back(self, plan: DialPlan, error: str, retry_at: datetime) -> None:
        with unit_of_work(self.sessions) as session:
            dial_failed(session, plan.request_id, plan.attempt, error, retry_at)

    def url(self, path: str, plan: DialPlan) -> str:
        """An absolute webhook URL that names the request and its attempt."""
        return f"{self.public_url}{path}?{urlencode({'r': plan.request_id, 'a': plan.attempt})}"

    def recover(self) -> None:
        """Settle attempts whose lease ran out: ask Twilio about known calls, redo unplaced ones."""
        now = self.clock()
        with unit_of_work(self.sessions) as session:
            stale = stale_dials(session, now)
        for request_id, attempt, sid in stale:
            if not sid:
                with unit_of_work(self.sessions) as session:
                    requeue_lost_dial(session, request_id, attempt, now)
                continue
            try:
                call = self.client.calls(sid).fetch()
            except (TwilioException, requests.RequestException) as exc:
                log.warning("could not look up call %s of callback %s: %s", sid, request_id, exc)
                continue
            with unit_of_work(self.sessions) as session:
                if call.status in FINAL_CALL_STATUSES:
                    agent_call_ended(
                        session,
                        request_id,
                        attempt,
                        sid,
                        str(call.status),
                        int(call.duration) if call.duration else None,
                        now,
                    )
                else:
                    extend_lease(session, request_id, attempt, now + self.settings.dial_lease)
