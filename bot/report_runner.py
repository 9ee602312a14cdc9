"""Reports built in the background.

The update that asks for a report is answered at once; the workbook is built and sent by a task
of its own, so the updates that come next (anyone's) are not kept waiting behind it. One report
per chat at a time, at most `limit` built at once (each holds a workbook being written); the
tasks still running when the bot stops are cancelled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from bot.pipeline.transaction import detach_from_update

logger = logging.getLogger(__name__)

MAX_PARALLEL = 2


class ReportRunner:
    def __init__(self, limit: int = MAX_PARALLEL) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._tasks: dict[int, asyncio.Task[None]] = {}

    def busy(self, chat_id: int) -> bool:
        """A report for this chat is being built (or waits for a slot)."""
        return chat_id in self._tasks

    def start(self, chat_id: int, job: Coroutine[Any, Any, None]) -> None:
        """Run `job` (it sends the report and reports its own failures) in the background."""
        if self.busy(chat_id):
            job.close()
            raise RuntimeError(f"a report for chat {chat_id} is already being built")
        task = asyncio.create_task(self._run(chat_id, job), name=f"report-{chat_id}")
        self._tasks[chat_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(chat_id, None))

    async def _run(self, chat_id: int, job: Coroutine[Any, Any, None]) -> None:
        detach_from_update()  # the task outlives the update that started it
        try:
            async with self._slots:
                await job
        except asyncio.CancelledError:
            logger.info("Report for chat %s cancelled", chat_id)
            raise
        except Exception:
            logger.exception("Report for chat %s failed", chat_id)
        finally:
            job.close()  # never started when cancelled while waiting for a slot

    async def wait(self) -> None:
        """Until every report under way is sent."""
        while self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def close(self) -> None:
        """Cancel the reports under way (the bot is stopping)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
