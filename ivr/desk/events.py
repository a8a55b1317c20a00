"""Wake the console's live streams when something they show has changed.

On PostgreSQL, triggers (migration 0010) send ``NOTIFY desk_events`` with the user id whose
screen changed (``*`` for everyone: a new voicemail) from whichever process or machine wrote
the row, delivered at commit. One listener thread per process holds a ``LISTEN`` connection and
wakes the streams of that user; a stream then reads its one small query and pushes. Without
PostgreSQL (SQLite, one machine) or while the listener is reconnecting, streams look every
``POLL_SECONDS`` as before.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict

import psycopg
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

CHANNEL = "desk_events"
#: How often a stream looks for changes when no notifications arrive (SQLite, listener down).
POLL_SECONDS = 0.25
#: Pause before the listener reconnects after losing its connection.
RECONNECT_SECONDS = 2.0
EVERYONE = "*"


class DeskEvents:
    """Change counters per user, and a condition streams wait on."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._versions: defaultdict[str, int] = defaultdict(int)
        #: True while a LISTEN connection is up: streams may then wait for a push, not poll.
        self.listening = False

    def version(self, user_id: int) -> tuple[int, int]:
        """What a stream remembers to notice the next change of its user (or of everyone)."""
        with self._changed:
            return self._versions[str(user_id)], self._versions[EVERYONE]

    def publish(self, key: str) -> None:
        """A user's screen (or everyone's, ``*``) has changed."""
        with self._changed:
            self._versions[key] += 1
            self._changed.notify_all()

    def wait(self, user_id: int, seen: tuple[int, int], timeout: float) -> tuple[int, int]:
        """Until the user's counter moves past ``seen`` or ``timeout`` passes (the poll interval
        when nobody will notify); returns the counters now."""
        limit = time.monotonic() + (timeout if self.listening else min(timeout, POLL_SECONDS))
        key = str(user_id)
        with self._changed:
            while (self._versions[key], self._versions[EVERYONE]) == seen:
                left = limit - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            return self._versions[key], self._versions[EVERYONE]


_hubs: dict[str, DeskEvents] = {}
_hubs_lock = threading.Lock()


def events_for(engine: Engine) -> DeskEvents:
    """The process's hub for a database, with its listener thread started on first use."""
    url = engine.url.render_as_string(hide_password=False)
    with _hubs_lock:
        hub = _hubs.get(url)
        if hub is None:
            hub = _hubs[url] = DeskEvents()
            if engine.dialect.name == "postgresql":
                dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
                threading.Thread(target=_listen, args=(dsn, hub), name="desk-events", daemon=True).start()
        return hub


def _listen(dsn: str, hub: DeskEvents) -> None:
    """Hold a LISTEN connection for the life of the process; reconnect when it drops."""
    while True:
        try:
            with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f"LISTEN {CHANNEL}")
                hub.listening = True
                hub.publish(EVERYONE)  # changes missed while reconnecting: everyone looks once
                for note in conn.notifies():
                    hub.publish(note.payload or EVERYONE)
        except psycopg.Error as exc:
            log.warning("desk events listener lost its connection: %s", exc)
        hub.listening = False
        time.sleep(RECONNECT_SECONDS)
