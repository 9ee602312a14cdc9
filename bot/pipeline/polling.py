"""Long-polling intake: fetch a batch, store it in the inbox, confirm it with the next fetch.

`getUpdates(offset)` confirms every update below `offset` to Telegram, so the offset moves past
a batch only once the batch is stored: a crash (or a database that refuses the batch) before
that gets the same updates again, and the inbox ignores the ones it already has. Handling runs
in the workers, so a slow handler or a slow reply never delays the next fetch.
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.methods import GetUpdates
from aiogram.utils.backoff import Backoff, BackoffConfig

from bot.pipeline.inbox import InboxProcessor

logger = logging.getLogger(__name__)

BACKOFF = BackoffConfig(min_delay=1.0, max_delay=30.0, factor=1.5, jitter=0.1)


async def poll(
    bot: Bot,
    processor: InboxProcessor,
    *,
    timeout: int,
    allowed_updates: list[str] | None = None,
) -> None:
    """Run until cancelled (cancelling confirms nothing that is not stored)."""
    backoff = Backoff(config=BACKOFF)
    get_updates = GetUpdates(timeout=timeout, allowed_updates=allowed_updates)
    request_timeout = int(bot.session.timeout + timeout)
    while True:
        try:
            updates = await bot(get_updates, request_timeout=request_timeout)
            if updates:
                await processor.accept(updates)
                get_updates.offset = updates[-1].update_id + 1
        except Exception as exc:  # Telegram or the database away: wait, then the same batch
            logger.error(
                "Fetching updates failed (%s: %s); again in %.1f s",
                type(exc).__name__,
                exc,
                backoff.next_delay,
            )
            await backoff.asleep()
            continue
        backoff.reset()
