"""Telegram's sending limits: about 30 messages a second overall, one a second per chat.

Every API call takes a slot from `SendLimiter.acquire` right before it goes out. Slots are
spaced by time: consecutive sends at least `1 / rate_per_second` apart, consecutive sends to
one chat at least `per_chat_interval` apart, and none while a flood pause (HTTP 429) is on.
Spacing is measured from the moment a slot is granted, on the injected clock, so the limits
hold whatever the clock is and however the event loop schedules the waiting tasks.
"""

from __future__ import annotations

import asyncio

from bot.outbox.clock import Clock


class SendLimiter:
    def __init__(self, clock: Clock, *, rate_per_second: float, per_chat_interval: float) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        self._clock = clock
        self._interval = 1.0 / rate_per_second
        self._per_chat_interval = max(0.0, per_chat_interval)
        self._next_slot = float("-inf")
        self._chat_next: dict[int, float] = {}
        self._paused_until = float("-inf")
        # One waiter at a time for the global slot: grants go out in order, spaced.
        self._lock = asyncio.Lock()

    @property
    def paused_until(self) -> float:
        return self._paused_until

    def chat_ready_at(self, chat_id: int) -> float:
        """Clock time from which a message to the chat may go (pauses included)."""
        return max(self._chat_next.get(chat_id, float("-inf")), self._paused_until)

    def block_chat(self, chat_id: int, seconds: float) -> None:
        """Nothing to this chat for `seconds` (its own flood limit)."""
        until = self._clock.monotonic() + seconds
        self._chat_next[chat_id] = max(self._chat_next.get(chat_id, until), until)

    def pause_all(self, seconds: float) -> None:
        """Nothing to anyone for `seconds` (the bot-wide flood limit)."""
        self._paused_until = max(self._paused_until, self._clock.monotonic() + seconds)

    async def acquire(self, chat_id: int) -> float:
        """Wait for a slot to send to `chat_id` and take it; returns the clock time granted.

        The caller sends right away. The wait for the chat happens outside the global lock,
        so a chat that must wait does not hold up the others.
        """
        while (delay := self.chat_ready_at(chat_id) - self._clock.monotonic()) > 0:
            await self._clock.sleep(delay)
        async with self._lock:
            while True:
                now = self._clock.monotonic()
                ready = max(self._next_slot, self.chat_ready_at(chat_id))
                if ready <= now:
                    break
                await self._clock.sleep(ready - now)
            self._next_slot = now + self._interval
            self._chat_next[chat_id] = now + self._per_chat_interval
            self._forget_idle_chats(now)
            return now

    def _forget_idle_chats(self, now: float) -> None:
        # Keep the per-chat table small: entries in the past no longer restrict anything.
        if len(self._chat_next) > 10_000:
            self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}
