"""A long CSV import commits in short batches, so calls are answered while it runs."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from ivr.db import session_factory
from ivr.models import Order
from ivr.orders.csv_import import CsvReport, import_rows, open_csv
from ivr.orders.importer import CSV_HEADER
from tests.orders.conftest import CALLER

ROWS = 30_000
BATCH = 1_000
#: Batches after which the import hands over to a caller and waits for the call to end.
CALLS_AFTER = (1, 2, 3)
#: Only guards against a hang; the assertions are about order, not speed.
HANG = 300


@pytest.mark.usefixtures("orders_app")
def test_calls_are_answered_between_import_batches(app, session, phone):
    lines = [
        ",".join(CSV_HEADER),
        f"4711,Erika Mustermann,{CALLER},,10115,shipped,DHL,,2026-11-12,,2026-11-26,,",
    ]
    lines += [
        f"{100000 + i},Kunde {i},+49160{i:08d},,10115,shipped,DHL,,2026-11-12,,2026-11-26,,Artikel"
        for i in range(ROWS)
    ]
    csv_file = open_csv(("\n".join(lines) + "\n").encode())

    committed = {n: threading.Event() for n in CALLS_AFTER}
    answered = {n: threading.Event() for n in CALLS_AFTER}
    seen: list[str] = []
    result: dict[str, CsvReport | BaseException] = {}

    def progress(report: CsvReport) -> None:
        batches = report.stored // BATCH
        if batches in CALLS_AFTER:
            seen.append(f"batch {batches} committed")
            committed[batches].set()
            # The batch's transaction is over: a call must get the database now.
            assert answered[batches].wait(HANG), "no call got through after a committed batch"

    def run_import() -> None:
        with session_factory(app)() as own:
            try:
                result["report"] = import_rows(own, csv_file, progress=progress, batch_size=BATCH)
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                result["error"] = exc
        seen.append("import finished")
        for event in committed.values():
            event.set()

    importer = threading.Thread(target=run_import)
    importer.start()
    heard = []
    try:
        for n in CALLS_AFTER:
            assert committed[n].wait(HANG)
            caller = phone(CALLER)
            caller.dial()
            caller.press("1")
            heard.append(caller.heard)
            caller.hang_up()
            seen.append(f"call {n} answered")
            answered[n].set()
    finally:
        for event in answered.values():
            event.set()
        importer.join(HANG)
    assert "error" not in result, result.get("error")
    assert seen == [
        "batch 1 committed",
        "call 1 answered",
        "batch 2 committed",
        "call 2 answered",
        "batch 3 committed",
        "call 3 answered",
        "import finished",
    ]
    assert all("Ihre Bestellung vom 12. November: drücken Sie die 1" in h for h in heard), heard
    report = result["report"]
    assert isinstance(report, CsvReport) and report.new == ROWS + 1 and not report.errors
    assert session.scalar(select(func.count(Order.id))) == ROWS + 1
