"""Engine and session factory: SQLite (WAL, foreign keys, busy timeout) or PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_BUSY_TIMEOUT_MS = 5000
READ_ONLY = "helpdesk_read_only"  # execution option: see begin_read_only


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, echo=echo, pool_pre_ping=True)

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    )

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

    @event.listens_for(engine.sync_engine, "begin")
    def _sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
        # BEGIN IMMEDIATE takes the write lock up front: concurrent writers queue on the busy
        # timeout instead of failing with "database is locked" when upgrading a read lock.
        # A long read (begin_read_only) takes no lock: in WAL mode it reads one snapshot while
        # writers go on.
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


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
