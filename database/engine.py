"""Engine and session factory: SQLite (WAL, foreign keys, busy timeout) or PostgreSQL.

SQLite takes one writer at a time. Left to its busy handler, writers that wait poll the lock at
growing intervals, so under load an unlucky one loses every race and fails with "database is
locked" after the busy timeout while newer ones get through. The SQLite engine therefore queues
this process's write transactions in arrival order (`WriterQueue`) before `BEGIN IMMEDIATE`;
the busy timeout is left for other processes (a backup, the sqlite3 shell).
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from database import sqlite_inline

SQLITE_BUSY_TIMEOUT_MS = 5000
WRITER_WAIT_S = 30.0  # a write transaction waits this long for its turn in the process
READ_ONLY = "helpdesk_read_only"  # execution option: see begin_read_only
HOLDS_TURN = "helpdesk_writer_turn"  # connection-record info key: this connection is writing


class WriterQueue:
    """Write transactions of one process, one at a time, first come first served."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()  # asyncio's lock wakes its waiters in FIFO order

    async def wait_turn(self) -> None:
        try:
            async with asyncio.timeout(WRITER_WAIT_S):
                await self._lock.acquire()
        except TimeoutError:
            raise sqlite3.OperationalError(
                f"database is locked: no turn to write within {WRITER_WAIT_S:.0f} s"
            ) from None

    def end_turn(self, info: dict[object, object]) -> None:
        """End the turn of the connection whose record info this is, if it has one."""
        if info.pop(HOLDS_TURN, False):
            self._lock.release()


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, echo=echo, pool_pre_ping=True)

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        connect = sqlite_inline.connector(parsed.database, busy_timeout_ms=SQLITE_BUSY_TIMEOUT_MS)
        engine = create_async_engine(url, echo=echo, async_creator=connect)
    else:
        timeout = SQLITE_BUSY_TIMEOUT_MS / 1000
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": timeout})

    @event.listens_for(engine.sync_engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy's BEGIN control transactions; pysqlite's own handling would not.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    writers = WriterQueue()

    @event.listens_for(engine.sync_engine, "begin")
    def _sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
        # A long read (begin_read_only) takes no lock: in WAL mode it reads one snapshot while
        # writers go on. A write waits for its turn, then BEGIN IMMEDIATE takes the write lock
        # up front instead of failing when upgrading a read lock.
        # Statements run on the event loop's thread (database.sqlite_inline), but for a long
        # read, and for BEGIN IMMEDIATE when another process holds the write lock.
        adapted = conn.connection.dbapi_connection
        driver = adapted.driver_connection
        if conn.get_execution_options().get(READ_ONLY, False):
            _offload(driver, True)  # until the transaction ends
            conn.exec_driver_sql("BEGIN")
            return
        adapted.run_async(lambda _: writers.wait_turn())
        conn.info[HOLDS_TURN] = True
        try:
            if isinstance(driver, sqlite_inline.InlineConnection):
                adapted.run_async(lambda _: driver.begin_immediate())
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            writers.end_turn(conn.info)
            raise

    @event.listens_for(engine.sync_engine, "commit")
    @event.listens_for(engine.sync_engine, "rollback")
    def _sqlite_end(conn) -> None:  # type: ignore[no-untyped-def]
        writers.end_turn(conn.info)
        _offload(conn.connection.dbapi_connection.driver_connection, False)

    # A connection given back, closed or dropped mid-transaction (a cancelled task) ends its
    # turn too, so the queue never waits on a transaction that is gone.
    @event.listens_for(engine.sync_engine, "checkin")
    @event.listens_for(engine.sync_engine, "close")
    @event.listens_for(engine.sync_engine, "invalidate")
    def _sqlite_gone(dbapi_connection, record, *_args) -> None:  # type: ignore[no-untyped-def]
        if record is not None:
            writers.end_turn(record.info)
        _offload(getattr(dbapi_connection, "driver_connection", None), False)

    return engine


def _offload(driver: object, on: bool) -> None:
    if isinstance(driver, sqlite_inline.InlineConnection):
        driver.offload = on


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def lock_transaction(session: AsyncSession, key: int) -> None:
    """Serialise the transactions that take this lock until they end (one job's runs):
    PostgreSQL takes an advisory lock; SQLite already holds its one write lock (BEGIN IMMEDIATE)."""
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


async def begin_read_only(session: AsyncSession) -> None:
    """Start the fresh session's transaction as a long read (a report): every query sees one
    snapshot, and no write lock is held while it runs, so requests filed meanwhile are not held
    up. SQLite: a deferred BEGIN (WAL); PostgreSQL: REPEATABLE READ, READ ONLY."""
    options: dict[str, object] = {READ_ONLY: True}
    if session.bind.dialect.name == "postgresql":
        options.update(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    await session.connection(execution_options=options)
