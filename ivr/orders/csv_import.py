"""Import orders from a shop's CSV file: encoding and delimiter found, each row reported, short batches.

Each batch of rows is its own transaction, so calls keep flowing during a long import (SQLite has
one writer) and a row the database refuses costs only that row. Messages name the line and the
column, never a value: the rows are personal data.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ivr.db import transaction
from ivr.models import Order
from ivr.orders.importer import BATCH_SIZE, CSV_HEADER, InvalidOrder, parse_order, store_rows

log = logging.getLogger(__name__)

#: Tried in this order on the header line; German Excel writes ';'.
DELIMITERS = (",", ";", "\t")
#: A quoted field may span lines (Excel's Alt+Enter); one running longer is an unclosed quote.
MAX_RECORD_LINES = 50
#: Import progress is reported after every this many batches.
PROGRESS_EVERY = 10


class CsvFileError(ValueError):
    """The file as a whole cannot be read (encoding, header); the message says what was found."""


@dataclass
class CsvFile:
    """A decoded CSV file: its lines, what was found, and where each column is."""

    lines: list[str]
    encoding: str
    delimiter: str
    positions: list[int]

    def describe(self) -> str:
        """What was found, e.g. "read as Windows-1252, fields separated by ';'"."""
        name = {"\t": "tabs"}.get(self.delimiter, f"'{self.delimiter}'")
        return f"read as {self.encoding}, fields separated by {name}"


@dataclass
class CsvReport:
    """What an import did, counted per order, with the rows it skipped and why."""

    rows: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    #: (line, earlier line with the same order number); the later row is the one stored.
    duplicates: list[tuple[int, int]] = field(default_factory=list)
    #: (line, reason) of every row not stored.
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def stored(self) -> int:
        """Distinct orders now as the file says."""
        return self.new + self.updated + self.unchanged

    def summary(self) -> str:
        """One line for the end of the import."""
        return (
            f"{self.stored} orders imported ({self.new} new, {self.updated} updated, "
            f"{self.unchanged} unchanged), {len(self.duplicates)} duplicate rows, "
            f"{len(self.errors)} rows rejected"
        )


def open_csv(data: bytes) -> CsvFile:
    """Decode the file and read its header (CsvFileError if either is not usable)."""
    text, encoding = _decode(data)
    lines = list(io.StringIO(text, newline=""))
    if not lines or not lines[0].strip():
        raise CsvFileError("the file is empty or its first line is not the header")
    delimiter, positions = _header(lines[0])
    return CsvFile(lines, encoding, delimiter, positions)


def _decode(data: bytes) -> tuple[str, str]:
    """The text and the name of its encoding: UTF-8 (BOM or not), UTF-16 with BOM, else Windows-1252."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(data, "utf-16", "UTF-16"), "UTF-16"
    if data.startswith(codecs.BOM_UTF8):
        return _strict(data, "utf-8-sig", "UTF-8"), "UTF-8"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        raise CsvFileError(
            "the file is neither UTF-8 nor Windows-1252; save it from Excel as 'CSV UTF-8'"
        ) from None


def _strict(data: bytes, codec: str, name: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CsvFileError(f"the file is marked as {name} but line {line} is not {name}") from None


def _header(line: str) -> tuple[str, list[int]]:
    """The delimiter, and per column of CSV_HEADER its position in a record (any order)."""
    best: tuple[str, list[str]] = (",", [])
    for delimiter in DELIMITERS:
        try:
            names = [n.strip().lower() for n in next(csv.reader([line], delimiter=delimiter), [])]
        except csv.Error:
            continue
        if sorted(names) == sorted(CSV_HEADER):
            return delimiter, [names.index(c) for c in CSV_HEADER]
        if len(names) > len(best[1]):
            best = (delimiter, names)
    delimiter, names = best
    missing = [c for c in CSV_HEADER if c not in names]
    unknown = [str(i + 1) for i, n in enumerate(names) if n not in CSV_HEADER]
    found = f"line 1 has {len(names)} columns separated by '{delimiter}'"
    if missing:
        found += f"; missing: {', '.join(missing)}"
    if unknown:
        found += f"; unknown names in columns {', '.join(unknown)}"
    if not missing and not unknown:
        found += "; some column appears twice"
    raise CsvFileError(
        f"{found}. The header must name these columns, separated by ',' or ';': {','.join(CSV_HEADER)}"
    )


class _UnclosedQuote(Exception):
    """A record ran over MAX_RECORD_LINES lines."""


class _Feed:
    """The file's lines for csv.reader, refusing to let one record run over too many lines."""

    def __init__(self, lines: list[str], pos: int) -> None:
        self.lines, self.pos, self.start = lines, pos, pos

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        if self.pos >= len(self.lines):
            raise StopIteration
        if self.pos - self.start >= MAX_RECORD_LINES:
            raise _UnclosedQuote
        self.pos += 1
        return self.lines[self.pos - 1]


def records(file: CsvFile) -> Iterator[tuple[int, list[str] | None, str]]:
    """(line, fields, "") per record after the header, or (line, None, reason) for one unreadable.

    After an unreadable record, reading resumes on the line after its first one, so an unclosed
    quote costs one row, not every row up to the next quote. A record over several lines without
    the header's number of fields is such a quote too (it ran into a later row's quoted field).
    """
    pos = 1
    while pos < len(file.lines):
        feed = _Feed(file.lines, pos)
        try:
            for fields in csv.reader(feed, delimiter=file.delimiter, strict=True):
                if feed.pos - feed.start > 1 and len(fields) != len(file.positions):
                    raise _UnclosedQuote
                yield feed.start + 1, fields, ""
                feed.start = feed.pos
            return
        except _UnclosedQuote:
            reason = "a quote is not closed"
        except csv.Error as exc:
            reason = _csv_reason(exc, spans_lines=feed.pos - feed.start > 1)
        yield feed.start + 1, None, reason
        pos = feed.start + 1


def _csv_reason(exc: csv.Error, spans_lines: bool) -> str:
    """The csv module's complaint in the user's terms (its messages quote no field values)."""
    text = str(exc)
    if "field limit" in text:
        return f"a field is longer than {csv.field_size_limit() // 1024} KiB"
    if "end of data" in text or spans_lines:
        return "a quote is not closed"
    return f"not valid CSV ({text})"


def import_rows(
    session: Session,
    file: CsvFile,
    region: str = "DE",
    progress: Callable[[CsvReport], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> CsvReport:
    """Upsert the file's orders, committing every ``batch_size`` rows; bad rows are reported and skipped."""
    report = CsvReport()
    seen: dict[str, int] = {}
    # order number -> (line, row, whether this row is the number's first in the file)
    batch: dict[str, tuple[int, dict[str, Any], bool]] = {}
    for line, fields, reason in records(file):
        if fields is None:
            report.errors.append((line, reason))
            continue
        if not any(f.strip() for f in fields):
            continue
        report.rows += 1
        if len(fields) != len(CSV_HEADER):
            report.errors.append((line, f"expected {len(CSV_HEADER)} fields, found {len(fields)}"))
            continue
        try:
            row = parse_order({c: fields[i] for c, i in zip(CSV_HEADER, file.positions, strict=True)}, region)
        except InvalidOrder as exc:
            report.errors.append((line, str(exc)))
            continue
        number = row["order_number"]
        first = seen.setdefault(number, line)
        if first != line:
            report.duplicates.append((line, first))
        batch[number] = (line, row, first == line or (number in batch and batch[number][2]))
        if len(batch) >= batch_size:
            _store(session, batch, report)
            batch = {}
            if progress is not None:
                progress(report)
    if batch:
        _store(session, batch, report)
        if progress is not None:
            progress(report)
    return report


def _store(session: Session, batch: dict[str, tuple[int, dict[str, Any], bool]], report: CsvReport) -> None:
    """Store one batch in its own transaction; if the database refuses it, row by row."""
    entries = list(batch.values())
    try:
        with transaction(session):
            counts = _upsert(session, entries)
    except SQLAlchemyError:
        counts = [0, 0, 0]
        for entry in entries:
            try:
                with transaction(session):
                    one = _upsert(session, [entry])
            except SQLAlchemyError as exc:
                # The database's message may quote the row: log its kind only.
                log.warning(
                    "order import: line %d refused by the database (%s)", entry[0], type(exc).__name__
                )
                report.errors.append((entry[0], "the database refused this row"))
            else:
                counts = [a + b for a, b in zip(counts, one, strict=True)]
    report.new += counts[0]
    report.updated += counts[1]
    report.unchanged += counts[2]


def _upsert(session: Session, entries: list[tuple[int, dict[str, Any], bool]]) -> list[int]:
    """Write the new and changed rows; [new, updated, unchanged] counted over first occurrences."""
    columns = [Order.__table__.c[c] for c in CSV_HEADER]
    numbers = [row["order_number"] for _, row, _ in entries]
    stored = {
        r[0]: tuple(r) for r in session.execute(select(*columns).where(Order.order_number.in_(numbers)))
    }
    counts = [0, 0, 0]
    changed = []
    for _, row, first in entries:
        before = stored.get(row["order_number"])
        kind = 0 if before is None else 1 if before != tuple(row[c] for c in CSV_HEADER) else 2
        if kind != 2:
            changed.append(row)
        if first:
            counts[kind] += 1
    if changed:
        store_rows(session, changed)
    return counts
