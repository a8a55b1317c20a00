"""SQLite's writer lock across processes: a busy process lets a waiting one write next.

``flock`` locks belong to an open file, so each ``open_lock_files`` below stands for the
descriptors of one more process.
"""

from __future__ import annotations

import fcntl
import threading
import time

import pytest

from ivr import db


@pytest.fixture
def lock_files(tmp_path):
    path = str(tmp_path / "hotline.db")
    return lambda: db.open_lock_files(path)


def test_a_busy_process_lets_a_waiting_process_write_next(lock_files, monkeypatch):
    monkeypatch.setattr(db, "TURN_WAIT", 10.0)  # the order is tested, not how fast it turns
    busy, other, probe = lock_files(), lock_files(), lock_files()
    order: list[str] = []
    db._take_file_lock(busy, time.monotonic() + 10)

    def other_process_writes() -> None:
        db._take_file_lock(other, time.monotonic() + 10)
        order.append("other")
        fcntl.flock(other.lock, fcntl.LOCK_UN)

    waiter = threading.Thread(target=other_process_writes)
    waiter.start()
    announced_by = time.monotonic() + 10
    while not db._others_waiting(probe):
        assert time.monotonic() < announced_by, "the waiting process never announced itself"
        time.sleep(0.001)
    # The busy process's next thread wants the lock the moment its previous one lets go.
    fcntl.flock(busy.lock, fcntl.LOCK_UN)
    db._take_file_lock(busy, time.monotonic() + 10)
    order.append("busy")
    fcntl.flock(busy.lock, fcntl.LOCK_UN)
    waiter.join(10)
    assert order == ["other", "busy"]


def test_a_waiter_gives_up_at_its_deadline_and_withdraws(lock_files):
    holder, waiter, probe = lock_files(), lock_files(), lock_files()
    db._take_file_lock(holder, time.monotonic() + 10)
    with pytest.raises(db.DatabaseBusy):
        db._take_file_lock(waiter, time.monotonic() + 0.05)
    assert not db._others_waiting(probe)  # the holder's next write is not kept waiting for it
    fcntl.flock(holder.lock, fcntl.LOCK_UN)
    db._take_file_lock(waiter, time.monotonic() + 10)  # free again: taken at once
