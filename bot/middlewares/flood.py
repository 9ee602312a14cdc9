"""Per-user flood limit on messages and button presses.

A user may send `limit` messages or button presses within any `window` seconds (a sliding
window). The first one over it gets one polite line (a message) or alert (a button); the rest
are dropped without a word until the window has room again. A dropped update goes no further:
no database session, no dialog state, no handler. Owners are never limited.

The counts live in memory, per process: a user's entry is forgotten once their last event is
older than the window, and at most `max_users` entries are kept (the least recently active one
goes first), so many users cannot make it grow without limit.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from collections.abc import Collection
from dataclasses import dataclass, field
from time import monotonic
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update, User
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.middlewares import Handler
from bot.middlewares.early_answer import answer, translated

logger = logging.getLogger(__name__)

MAX_USERS = 100_000


@dataclass(slots=True)
class _Bucket:
    stamps: deque[float]  # times of the events let through within the window, oldest first
    last: float = 0.0  # the user's latest event, let through or not
    warned: bool = field(default=False)  # the one line was sent since the last event let through


class FloodLimit(BaseMiddleware):
    """Outer update middleware; registered after the private-chats gate, before the session."""

    def __init__(
        self,
        i18n: I18n,
        *,
        limit: int,
        window: float,
        exempt: Collection[int] = (),
        max_users: int = MAX_USERS,
    ) -> None:
        self.i18n = i18n
        self.limit = limit
        self.window = window
        self.exempt = frozenset(exempt)
        self.max_users = max_users
        self._users: OrderedDict[int, _Bucket] = OrderedDict()  # least recently active first

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if (
            not isinstance(event, Update)
            or user is None
            or user.id in self.exempt
            or (event.message or event.edited_message or event.callback_query) is None
        ):
            return await handler(event, data)
        if self.allow(user.id):
            return await handler(event, data)
        bucket = self._users.get(user.id)
        if bucket is not None and not bucket.warned:
            bucket.warned = True
            logger.info("flood limit: user %s is over %d per %gs", user.id, self.limit, self.window)
            text = translated(
                self.i18n, user, lambda: _("Too many messages in a row — please wait a little.")
            )
            await answer(event, text)
        return None

    def allow(self, user_id: int) -> bool:
        """Count one event of the user now; False when it is over the limit (not counted)."""
        now = monotonic()
        self._forget(now)
        bucket = self._users.get(user_id)
        if bucket is None:
            bucket = self._users[user_id] = _Bucket(deque(maxlen=self.limit))
            while len(self._users) > self.max_users:
                self._users.popitem(last=False)
        else:
            self._users.move_to_end(user_id)
        bucket.last = now
        stamps = bucket.stamps
        while stamps and stamps[0] <= now - self.window:
            stamps.popleft()
        if len(stamps) >= self.limit:
            return False
        stamps.append(now)
        bucket.warned = False
        return True

    def _forget(self, now: float) -> None:
        """Drop the users whose latest event has left the window (nothing of theirs counts)."""
        users = self._users
        while users:
            user_id, bucket = next(iter(users.items()))
            if bucket.last > now - self.window:
                break
            del users[user_id]
