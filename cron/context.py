"""What a job gets: settings, the database, the clock and a way to wake the outbox sender."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from database.models import utcnow
from utils.settings import Settings


@dataclass
class JobContext:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Callable[[], datetime] = utcnow  # aware UTC; tests pass a controllable one
    on_outbox: Callable[[], None] | None = field(default=None)
    running: set[asyncio.Task[object]] = field(default_factory=set)  # jobs under way now

    def now(self) -> datetime:
        return self.clock()

    def outbox_committed(self, session: AsyncSession) -> None:
        """Call after a commit: wakes the sender if the transaction queued notifications."""
        if self.on_outbox is not None and session.info.pop("outbox_added", False):
            self.on_outbox()
