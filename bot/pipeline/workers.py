"""A pool that runs jobs strictly in order per key and many keys at once.

`submit(key, item)` queues an item behind the key's earlier ones; at most `concurrency` items
run at any moment, whatever their keys. An item is handled by `handle(item)`, which returns
None when the item is finished, or a number of seconds after which the same item is tried again
(the key's later items wait meanwhile; the slot is free for other keys during the wait).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

Item = TypeVar("Item")

UNEXPECTED_RETRY = 5.0  # seconds


class KeyedWorkers(Generic[Item]):
    def __init__(self, handle: Callable[[Item], Awaitable[float | None]], concurrency: int) -> None:
        self._handle = handle
        self._slots = asyncio.Semaphore(concurrency)
        self._queues: dict[Hashable, deque[Item]] = {}
        self._tasks: dict[Hashable, asyncio.Task[None]] = {}
        self._running = 0
        self._stopping = False

    def submit(self, key: Hashable, item: Item) -> None:
        if self._stopping:
            return
        self._queues.setdefault(key, deque()).append(item)
        if key not in self._tasks:
            self._tasks[key] = asyncio.create_task(self._drain(key), name=f"updates-{key}")

    @property
    def busy(self) -> int:
        """Items being handled right now."""
        return self._running

    @property
    def queued(self) -> int:
        """Items waiting or being handled."""
        return sum(len(queue) for queue in self._queues.values())

    async def _drain(self, key: Hashable) -> None:
        queue = self._queues[key]
        try:
            while queue and not self._stopping:
                async with self._slots:
                    if self._stopping:
                        break
                    self._running += 1
                    try:
                        retry_in = await self._handle(queue[0])
                    except Exception:  # a bug in handle itself: keep the key's order, retry
                        logger.exception("update handling failed unexpectedly (key %s)", key)
                        retry_in = UNEXPECTED_RETRY
                    finally:
                        self._running -= 1
                if retry_in is None:
                    queue.popleft()
                else:
                    await asyncio.sleep(retry_in)
        finally:
            self._tasks.pop(key, None)
            if not queue or self._stopping:
                self._queues.pop(key, None)

    async def idle(self) -> None:
        """Until everything submitted so far is finished (tests, benchmarks)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def stop(self, timeout: float) -> None:
        """Take no new items; let those being handled finish within `timeout` seconds, then
        cancel them. Items not started stay where they came from (the inbox)."""
        self._stopping = True
        tasks = list(self._tasks.values())
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if pending:
            logger.warning(
                "%d update(s) cut short by the stop; they will be handled again", len(pending)
            )
