"""Database engine, sessions and the one-commit-per-unit-of-work rule."""

from __future__ import annotations

import fcntl
import functools
import hashlib
import logging
import math
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from flask import Flask, current_app, g
from sqlalchemy import Table, bindparam, create_engine, event, text
from sqlalchemy import exc as exc_mod
from sqlalchemy.engine import Connection, Dialect, Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, make_transient_to_detached, sessionmaker
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

_SQLITE_WRITER = threading.Lock()
#: (process id, database path) → its writer lock files (``_writer_lock``), None for none.
_LOCK_FILES: dict[tuple[int, str], _LockFiles | None] = {}
_LOCK_FILES_GUARD = threading.Lock()

_AFTER_COMMIT = "ivr.after_commit"
_RETURNED_AT = "ivr.returned_at"
_CURSOR = "ivr.cursor"
#: Seconds a pooled connection may idle and still be used without testing it first.
PING_AFTER_IDLE = 1.0

#: Execution option marking a transaction that will write (SQLite: BEGIN IMMEDIATE).
WRITE_OPTION = "ivr_writes"
#: Each engine's ``Timeouts``, for the waits that are ours rather than the driver's.
_TIMEOUTS: weakref.WeakKeyDictionary[Engine, Timeouts] = weakref.WeakKeyDictionary()


def _no_result_rows(record: logging.LogRecord) -> bool:
    """Drop SQLAlchemy's DEBUG lines of result rows: they are customers' data (docs/privacy.md)."""
    return not (isinstance(record.msg, str) and record.msg.startswith("Row "))


# With echo="debug" SQLAlchemy logs every row it reads; statements stay (parameters hidden).
logging.getLogger("sqlalchemy.engine.Engine").addFilter(_no_result_rows)


class Base(DeclarativeBase):
    """Declarative base of every model."""


_M = TypeVar("_M", bound=Base)


@dataclass(frozen=True)
class Timeouts:
    """How long the database may keep a request waiting, in seconds.

    Twilio gives a webhook 15 s; these stay well below so that a database which is down,
    hung or locked fails the request in time for the fallback TwiML to reach the caller.
    """

    #: Opening a connection (PostgreSQL ``connect_timeout``, at least 2 s) and waiting for a
    #: free one in the pool.
    connect: float = 3.0
    #: One statement (PostgreSQL ``statement_timeout``; the unanswered-TCP guard too).
    statement: float = 5.0
    #: Waiting for a row lock (PostgreSQL ``lock_timeout``) or this process's SQLite writer lock.
    lock: float = 3.0
    #: Waiting for another process (a CLI command, a worker) to release the SQLite file: several
    #: writers share it only outside the web process, where patience beats failing a job.
    sqlite_busy: float = 10.0


def make_engine(url: str, timeouts: Timeouts | None = None) -> Engine:
    """Create an engine; SQLite gets WAL and a busy timeout so workers can share it."""
    limits = timeouts or Timeouts()
    if url.startswith("sqlite"):
        _private_sqlite_file(url)
        # hide_parameters: a failing statement's log line and exception carry no phone numbers.
        engine = create_engine(url, connect_args={"timeout": limits.sqlite_busy}, hide_parameters=True)
        _TIMEOUTS[engine] = limits

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
            _private_sqlite_file(url)  # the -wal and -shm files exist now

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Units of work that write take the lock up front: two webhooks of one call then
            # queue up instead of both reading the same step and one failing on lock upgrade.
            # On the driver's connection: SQLAlchemy's execution layer cost more than the BEGIN.
            immediate = conn.get_execution_options().get(WRITE_OPTION)
            conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    connect_args: dict[str, Any] = {}
    if url.startswith("postgresql"):
        connect_args = {
            "connect_timeout": max(2, math.ceil(limits.connect)),
            # A server that stops answering mid-request: give up on unacknowledged data.
            "tcp_user_timeout": int(limits.statement * 1000),
            "keepalives": 1,
            "keepalives_idle": 5,
            "keepalives_interval": 2,
            "keepalives_count": 2,
        }
    engine = create_engine(
        url,
        hide_parameters=True,
        pool_size=10,
        max_overflow=20,
        pool_timeout=limits.connect,
        connect_args=connect_args,
    )
    _TIMEOUTS[engine] = limits
    _ping_when_idle(engine)
    if url.startswith("postgresql"):

        @event.listens_for(engine, "connect")
        def _postgres_timeouts(dbapi_conn: Any, _record: Any) -> None:
            # SET rather than the ``options`` startup parameter, which PgBouncer refuses.
            with dbapi_conn.cursor() as cur:
                cur.execute(f"SET statement_timeout = {int(limits.statement * 1000)}")
                cur.execute(f"SET lock_timeout = {int(limits.lock * 1000)}")
            dbapi_conn.commit()

    return engine


def _private_sqlite_file(url: str) -> None:
    """Create the SQLite file (and its -wal/-shm) readable by the service's user only (0600)."""
    path = make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for name in (path, f"{path}-wal", f"{path}-shm"):
        try:
            if os.stat(name).st_mode & 0o077:
                os.chmod(name, 0o600)
        except FileNotFoundError:
            pass


def _ping_when_idle(engine: Engine) -> None:
    """Test a pooled connection before use only if it sat idle longer than ``PING_AFTER_IDLE``.

    SQLAlchemy's ``pool_pre_ping`` costs a round trip on every checkout, i.e. on every webhook.
    A connection returned a moment ago is alive; one that idled may have been cut (a database
    restart, a pooler or firewall timeout). A dead one is replaced before the request sees it;
    a disconnect noticed mid-request still invalidates the whole pool (SQLAlchemy's default).
    """

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED_AT)
        if returned is None or time.monotonic() - returned < PING_AFTER_IDLE:
            return  # new, or idle only briefly
        try:
            with closing(dbapi_conn.cursor()) as cur:
                cur.execute("SELECT 1")
            dbapi_conn.rollback()
        except Exception as exc:  # noqa: BLE001 - any failure means: take another connection
            raise exc_mod.DisconnectionError() from exc


def init_app(app: Flask) -> None:
    """Bind a session factory to the app and close sessions after each request."""
    engine = make_engine(app.config["DATABASE_URL"], app.config["DB_TIMEOUTS"])
    app.extensions["ivr.db"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def session_factory(app: Flask | None = None) -> sessionmaker[Session]:
    """Return the app's session factory."""
    factory: sessionmaker[Session] = (app or current_app).extensions["ivr.db"]
    return factory


def get_session() -> Session:
    """Return the session of the current app context, opening it on first use."""
    if "db_session" not in g:
        g.db_session = session_factory()()
    session: Session = g.db_session
    return session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """The request's session as one writing transaction (see ``transaction``).

    A request's first use of the database (every Twilio webhook) runs it on a Core transaction:
    the ORM's own session transaction cost a webhook more than its SQL (docs/benchmarks.md). The
    session is bound to that connection, so ORM work inside joins the same transaction; after
    the commit it goes back to the engine, for reads later in the request.
    """
    if "db_session" in g:  # a read earlier in the request (the signed-in user)
        with transaction(g.db_session) as session:
            yield session
        return
    factory = session_factory()
    engine: Engine = factory.kw["bind"]
    with _writing(engine), engine.connect() as connection:
        connection.execution_options(**{WRITE_OPTION: True})
        # rollback_only: a commit inside does not end the unit early; a rollback ends it.
        session = g.db_session = factory(bind=connection, join_transaction_mode="rollback_only")
        core = connection.begin()
        try:
            yield session
            if session.in_transaction():  # the ORM joined: flush, and end its part
                session.commit()
            core.commit()
        except BaseException:
            session.info.pop(_AFTER_COMMIT, None)
            session.rollback()
            if core.is_active:
                core.rollback()
            raise
        finally:
            session.bind = engine
    _run_after_commit(session)


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` once the current unit of work has committed (outbound calls, pushes).

    It runs after the SQLite writer lock is released; a rolled-back unit of work drops it.
    """
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """One writing transaction: commit once at the end, or roll back on any error."""
    # SQLite has one writer at a time: threads of this process queue on a lock (woken at
    # once) instead of in SQLite's busy handler, which sleeps in steps of up to 100 ms.
    with _writing(session.get_bind().engine):
        if session.in_transaction():  # a read earlier in the request (the signed-in user): end it
            session.commit()
        session.connection(execution_options={WRITE_OPTION: True})
        try:
            yield session
            session.commit()
        except BaseException:
            session.info.pop(_AFTER_COMMIT, None)
            session.rollback()
            raise
    _run_after_commit(session)


def _writing(engine: Engine) -> AbstractContextManager[None]:
    """What a writing transaction holds first: SQLite's writer lock; nothing on PostgreSQL."""
    return _writer_lock(engine) if engine.dialect.name == "sqlite" else nullcontext()


def _run_after_commit(session: Session) -> None:
    for action in session.info.pop(_AFTER_COMMIT, []):
        action()


def lock_names(session: Session, *names: str) -> None:
    """Hold a lock on each name until the transaction ends: same-named checks run one at a time.

    PostgreSQL takes transaction-scoped advisory locks (callers must lock names in one agreed
    order, so two transactions never wait on each other in a cycle). SQLite needs nothing: a
    writing unit of work (``transaction``) is already the only writer.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for name in names:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(name)})


def _lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name`` (the same in every process)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


class DriverStatement:
    """A fixed statement run on the transaction's driver cursor, compiled once per dialect.

    For the few statements every webhook runs: SQLAlchemy's execution layer cost each of them
    several times what the database took (docs/benchmarks.md). The SQL and the conversions of
    parameters and results (JSON, timestamps, flags) are SQLAlchemy's own, from the statement's
    typed parameters and columns; what is skipped is the per-execution bookkeeping. Engine
    listeners still see the statement (``before_cursor_execute``); errors come from the driver
    unwrapped.
    """

    def __init__(self, clause: ClauseElement) -> None:
        self.clause = clause
        self._compiled: dict[str, _Compiled] = {}
        #: Compiled SQL → per column, the conversion of its value (None: the driver's as it is).
        self._results: dict[str, tuple[Callable[[Any], Any] | None, ...]] = {}

    def run(self, session: Session, params: dict[str, Any]) -> None:
        """Run with ``params`` (by parameter name) in the session's current transaction."""
        with self._cursor(session, params):
            pass

    def first(self, session: Session, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """The first row of a query, its values converted as SQLAlchemy would; None if none.

        Objects added or changed in the session are flushed first, as before the ORM's queries.
        """
        if session.autoflush:
            session.flush()
        with self._cursor(session, params) as (cursor, compiled):
            row = cursor.fetchone()
            if row is None:
                return None
            results = self._results.get(compiled.sql) or self._result_processors(cursor, session)
        return tuple(f(v) if f is not None else v for f, v in zip(results, row, strict=True))

    def _result_processors(self, cursor: Any, session: Session) -> tuple[Callable[[Any], Any] | None, ...]:
        """Per column, SQLAlchemy's conversion of its value for the driver's type of it
        (``cursor.description``; PostgreSQL's numeric conversions depend on it)."""
        dialect = session.get_bind().dialect
        types = [described[1] for described in cursor.description]
        columns = tuple(getattr(self.clause, "exported_columns", ()))
        results: tuple[Callable[[Any], Any] | None, ...] = (None,) * len(types)  # untyped: as they are
        if columns:
            results = tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, type_code)
                for column, type_code in zip(columns, types, strict=True)
            )
        self._results[self._compiled[dialect.name].sql] = results
        return results

    @contextmanager
    def _cursor(self, session: Session, params: dict[str, Any]) -> Iterator[tuple[Any, _Compiled]]:
        bind = session.bind
        # A unit of work's connection (``unit_of_work``) directly: the session's own
        # ``connection()`` would begin its transaction machinery for nothing.
        connection = bind if isinstance(bind, Connection) and bind.in_transaction() else session.connection()
        dialect = connection.dialect
        compiled = self._compiled.get(dialect.name) or self._compile(dialect)
        processors = compiled.processors
        if compiled.defaults:
            params = compiled.defaults | params
        values = {k: processors[k](v) if k in processors else v for k, v in params.items()}
        driver_params: Any = tuple(values[k] for k in compiled.order) if compiled.order else values
        reuse = dialect.name == "postgresql"
        cursor = _kept_cursor(connection.connection) if reuse else connection.connection.cursor()
        try:
            connection.dispatch.before_cursor_execute(
                connection, cursor, compiled.sql, driver_params, None, False
            )
            cursor.execute(compiled.sql, driver_params)
            yield cursor, compiled
        finally:
            if not reuse:
                cursor.close()

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = cast(SQLCompiler, self.clause.compile(dialect=dialect))
        processors: dict[str, Callable[[Any], Any]] = {}
        defaults: dict[str, Any] = {}  # values in the statement itself (a LIMIT, an IN list)
        for bind, name in compiled.bind_names.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors[name] = processor
            if not bind.required:
                defaults[name] = bind.value
        order = compiled.positiontup if dialect.positional else None
        self._compiled[dialect.name] = _Compiled(str(compiled), processors, tuple(order or ()), defaults)
        return self._compiled[dialect.name]


def _kept_cursor(fairy: Any) -> Any:
    """The pooled psycopg connection's cursor for ``DriverStatement``, made once and reused.

    Making a cursor per statement was 2 % of a webhook's CPU on PostgreSQL. psycopg fetches a
    result whole, so a kept cursor holds nothing open on the server (an SQLite cursor would keep
    its statement open until the next one; there, each statement gets its own).
    """
    kept = fairy.info.get(_CURSOR)
    if kept is None or kept[0] is not fairy.dbapi_connection or kept[1].closed:
        kept = fairy.info[_CURSOR] = (fairy.dbapi_connection, fairy.dbapi_connection.cursor())
    return kept[1]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    processors: dict[str, Callable[[Any], Any]]
    #: Parameter names in order, for a positional paramstyle (SQLite's ``?``); else empty.
    order: tuple[str, ...]
    #: Values the statement carries (unless a parameter of that name is passed).
    defaults: dict[str, Any]


def insert_row(session: Session, model: type[_M], values: dict[str, Any]) -> _M:
    """Insert a row on the driver cursor (``DriverStatement``) and return it as ``attach_row``
    does: for the rows webhooks add, where the ORM's unit of work cost more than the insert.

    ``values`` by column name; the columns' Python defaults fill the rest, as the ORM would
    (a column with only a server default is left to the database).
    """
    table = cast(Table, model.__table__)
    row = dict(values)
    for column in table.c:
        if column.name in row or column.primary_key:
            continue
        default = column.default
        if default is None:
            if column.server_default is None:
                row[column.name] = None
        elif default.is_scalar:
            row[column.name] = default.arg  # type: ignore[attr-defined]
        elif default.is_callable:
            row[column.name] = default.arg(None)  # type: ignore[attr-defined]
    inserted = insert_statement(table, tuple(row)).first(session, row)
    keys = (model.__mapper__.get_property_by_column(c).key for c in table.c)
    return attach_row(session, model, dict(zip(keys, inserted or (), strict=True)))


@functools.cache
def insert_statement(table: Table, columns: tuple[str, ...], conflict: str | None = None) -> DriverStatement:
    """``INSERT`` of ``columns`` (parameters named after them) ``RETURNING`` the whole row; with
    ``conflict``, ``ON CONFLICT (conflict) DO NOTHING``, which returns no row then."""
    on_conflict = f" ON CONFLICT ({conflict}) DO NOTHING" if conflict else ""
    return DriverStatement(
        text(
            f"INSERT INTO {table.name} ({', '.join(columns)}) "
            f"VALUES ({', '.join(':' + c for c in columns)}){on_conflict} "
            f"RETURNING {', '.join(c.name for c in table.c)}"
        )
        .bindparams(*(bindparam(c, type_=table.c[c].type) for c in columns))
        .columns(*table.c)
    )


def attach_row(session: Session, model: type[_M], values: dict[str, Any]) -> _M:
    """An object for a row read with ``DriverStatement`` (every column, by attribute name, and
    optionally loaded relationships to objects already in ``session``), persistent in ``session``
    with nothing to flush.

    What the ORM's loading does, without its per-query machinery; the session must not hold an
    object of that row already (the identity map would refuse a second one).
    """
    row: _M = model.__mapper__.class_manager.new_instance()
    row.__dict__.update(values)
    make_transient_to_detached(row)
    # ``session.add`` without its save-update cascade, which walked the row's relationships to
    # find objects already attached (2 % of a webhook's CPU).
    session._save_or_update_impl(instance_state(row))
    return row


class DatabaseBusy(Exception):
    """The database's write lock was not free in time."""


@contextmanager
def _writer_lock(engine: Engine) -> Iterator[None]:
    """The SQLite write lock of this process and of every process on the file.

    Threads queue on an in-process lock; its holder then takes an exclusive ``flock`` on a file
    beside the database (``_take_file_lock``), so several gunicorn processes hand the write lock
    on without SQLite's busy handler (which sleeps in steps up to 100 ms). The in-process wait
    ends at the lock timeout; the wait for other processes (workers, CLI commands) at the SQLite
    busy timeout, as SQLite's own busy handler did before.
    """
    limits = _TIMEOUTS.get(engine) or Timeouts()
    if not _SQLITE_WRITER.acquire(timeout=limits.lock):
        raise DatabaseBusy("SQLite write lock not free in time")
    try:
        files = _lock_files(engine)
        if files is not None:
            _take_file_lock(files, time.monotonic() + limits.sqlite_busy)
        try:
            yield
        finally:
            if files is not None:
                fcntl.flock(files.lock, fcntl.LOCK_UN)
    finally:
        _SQLITE_WRITER.release()


@dataclass(frozen=True)
class _LockFiles:
    """Descriptors of the files beside a database that order its writers across processes."""

    #: Held exclusively by the writing process.
    lock: int
    #: Held shared by each process waiting for ``lock``, so the holder lets it in next.
    waiting: int


#: How long a process about to write again lets another process's announced waiter go first.
TURN_WAIT = 0.02
#: A waiting process tries the lock again after this long (0.1 ms doubling up to this).
_MAX_PAUSE = 0.0005


def _lock_files(engine: Engine) -> _LockFiles | None:
    """This process's descriptors of the database's writer lock files (None for in-memory databases).

    Opened per process: a descriptor inherited across fork shares its ``flock`` with the parent.
    """
    key = (os.getpid(), engine.url.database or "")
    try:  # every write asks: the guard only for the first time
        return _LOCK_FILES[key]
    except KeyError:
        pass
    with _LOCK_FILES_GUARD:
        if key not in _LOCK_FILES:
            database = key[1]
            in_memory = not database or database == ":memory:" or database.startswith("file:")
            _LOCK_FILES[key] = None if in_memory else open_lock_files(database)
        return _LOCK_FILES[key]


def open_lock_files(database: str) -> _LockFiles:
    """Open (creating them, private) the writer lock files of the SQLite file ``database``."""
    flags, mode = os.O_RDWR | os.O_CREAT, 0o600
    return _LockFiles(
        os.open(f"{database}-writer.lock", flags, mode), os.open(f"{database}-writer.wait", flags, mode)
    )


def _take_file_lock(files: _LockFiles, deadline: float) -> None:
    """Take the exclusive file lock, in turn with the other processes.

    A process's threads hand the lock on among themselves within microseconds, so a process
    that merely retried found it taken for as long as the other one stayed busy (waits of 130 ms
    with two workers, docs/benchmarks.md). A waiting process therefore announces itself (a shared
    lock on the waiting file) while it retries, and a process about to take the lock again lets
    an announced waiter go first (up to ``TURN_WAIT``).
    """
    turn_ends = time.monotonic() + TURN_WAIT
    while _others_waiting(files) and time.monotonic() < turn_ends:
        time.sleep(0.0001)
    if _try_lock(files.lock):
        return
    fcntl.flock(files.waiting, fcntl.LOCK_SH)
    try:
        pause = 0.0001
        while not _try_lock(files.lock):
            if time.monotonic() >= deadline:
                raise DatabaseBusy("SQLite write lock not free in time")
            time.sleep(pause)
            pause = min(pause * 2, _MAX_PAUSE)
    finally:
        fcntl.flock(files.waiting, fcntl.LOCK_UN)


def _others_waiting(files: _LockFiles) -> bool:
    """Whether another process announced that it waits for the lock (only one thread per
    process gets here: the in-process lock's holder)."""
    if not _try_lock(files.waiting):
        return True
    fcntl.flock(files.waiting, fcntl.LOCK_UN)
    return False


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
