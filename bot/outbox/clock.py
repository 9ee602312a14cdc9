"""Time as the outbox sender sees it: injectable, so tests control it and never really wait."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a steady clock: rate limits and pauses are measured on it."""
        ...

    def now(self) -> datetime:
        """Timezone-aware UTC wall time: what is stored in the database."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait (or, in tests, pretend to wait) that many seconds of this clock."""
        ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))
