"""SQLite write transactions of one process take turns in arrival order: under load none of them
fails with "database is locked", a transaction dropped half-way gives its turn up, and
waiting for another process's write lock never blocks the event loop."""

from __future__ import annotations

import asyncio
import sqlite3

from sqlalchemy import event, text

from database.engine import create_engine, create_sessionmaker

WRITERS = 12  # with the holder, within the engine's pool (5 + 10 overflow connections)


async def test_many_concurrent_writers_all_commit_in_arrival_order(tmp_path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    sessionmaker = create_sessionmaker(engine)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER)"))
    holder_in = asyncio.Event()
    release_holder = asyncio.Event()

    async def holder() -> None:  # keeps its write transaction open while the others queue
        async with sessionmaker() as session:
            await session.execute(text("INSERT INTO t VALUES (-1)"))
            holder_in.set()
            await release_holder.wait()
            await session.commit()

    async def writer(n: int) -> None:
        async with sessionmaker() as session:
            await session.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
            await session.commit()

    checked_out = 0
    checkout = asyncio.Event()

    def count_checkout(*_args) -> None:
        nonlocal checked_out
        checked_out += 1
        checkout.set()

    event.listen(engine.sync_engine, "checkout", count_checkout)
    first = asyncio.create_task(holder())
    await holder_in.wait()
    writers = []
    for n in range(WRITERS):  # queued one by one, in this order, behind the holder
        writers.append(asyncio.create_task(writer(n)))
        # Arrival: a writer with its connection goes straight on to wait for its turn (nothing
        # in between lets another task run), so arrival order is checkout order.
        while checked_out < n + 2:
            checkout.clear()
            await checkout.wait()
    await asyncio.sleep(0.2)  # the holder keeps the lock a while; the queue must wait, not fail
    release_holder.set()
    await asyncio.gather(first, *writers)
    async with sessionmaker() as session:
        order = (await session.execute(text("SELECT n FROM t ORDER BY rowid"))).scalars().all()
    await engine.dispose()
    assert order == [-1, *range(WRITERS)]


async def test_a_cancelled_transaction_gives_its_turn_up(tmp_path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    sessionmaker = create_sessionmaker(engine)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER)"))
    inside = asyncio.Event()

    async def abandoned() -> None:
        async with sessionmaker() as session:
            await session.execute(text("INSERT INTO t VALUES (1)"))
            inside.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(abandoned())
    await inside.wait()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    async with sessionmaker() as session:
        await asyncio.wait_for(session.execute(text("INSERT INTO t VALUES (2)")), 5)
        await session.commit()
        rows = (await session.execute(text("SELECT n FROM t"))).scalars().all()
    await engine.dispose()
    assert rows == [2]


async def test_waiting_for_another_process_write_lock_does_not_freeze_the_bot(tmp_path) -> None:
    path = tmp_path / "w.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    sessionmaker = create_sessionmaker(engine)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER)"))
    other = sqlite3.connect(path, isolation_level=None)  # another process: the sqlite3 shell
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t VALUES (1)")
    ticks = 0

    async def other_users() -> None:  # the rest of the bot, which must go on meanwhile
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def write() -> None:
        async with sessionmaker() as session:
            await session.execute(text("INSERT INTO t VALUES (2)"))
            await session.commit()

    ticker = asyncio.create_task(other_users())
    writing = asyncio.create_task(write())
    await asyncio.sleep(0.3)
    ticks_while_waiting = ticks
    assert not writing.done()  # it waits for the lock...
    other.execute("COMMIT")  # ...and gets it once the other process lets go
    await asyncio.wait_for(writing, 5)
    ticker.cancel()
    other.close()
    async with sessionmaker() as session:
        rows = (await session.execute(text("SELECT n FROM t ORDER BY n"))).scalars().all()
    await engine.dispose()
    assert rows == [1, 2]
    assert ticks_while_waiting > 0  # the event loop was never blocked by the wait
