"""SQLite statements of short transactions run on the event loop's own thread.

aiosqlite sends every call (execute, each fetch, commit) to the connection's worker thread and
waits for the answer: a thread switch and a wake-up of the event loop each time, which cost more
than the statement itself (a short dialog step makes about 20 such calls). `InlineConnection` is
an aiosqlite connection whose calls run directly instead, except where they could wait:

- `BEGIN IMMEDIATE` is the one statement that may wait for another process's write lock (the
  sqlite3 shell, a second tool). `begin_immediate` tries it inline without waiting and only
  when the lock is taken waits for it (busy timeout) in the worker thread. Writers of this
  process never meet there (`database.engine.WriterQueue`), and once the write lock is held,
  in WAL mode no later statement of the transaction waits on anybody;
- a long read (`database.engine.begin_read_only`: reports, exports) runs all its statements in
  the worker thread, so it never holds up other users' updates.

What runs inline is short by construction: the statements of one update or one job step, and a
WAL commit (with its fsync, `synchronous=FULL`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import aiosqlite


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection running its calls on the caller's thread unless `offload`."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], busy_timeout_ms: int) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._thread.daemon = True  # as SQLAlchemy does for aiosqlite: never blocks exit
        self._busy_timeout_ms = busy_timeout_ms
        self.offload = False  # True: calls go to the worker thread (a long read)

    async def begin_immediate(self) -> None:
        """BEGIN IMMEDIATE inline; if another process holds the write lock, wait in the thread."""
        raw = self._conn
        raw.execute("PRAGMA busy_timeout=0")
        try:
            raw.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                raise
        finally:
            raw.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
        await super()._execute(raw.execute, "BEGIN IMMEDIATE")

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.offload:
            return await super()._execute(fn, *args, **kwargs)
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)


def connector(path: str, *, busy_timeout_ms: int) -> Callable[[], InlineConnection]:
    """An `async_creator` for `create_async_engine`: a new InlineConnection to `path` (the
    sqlite3 connection is used from the loop's thread and the worker thread, one at a time)."""

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(path, timeout=busy_timeout_ms / 1000, check_same_thread=False)

    return lambda: InlineConnection(connect, busy_timeout_ms)
