"""The session of the update being handled.

The bot's session middleware opens one session (one transaction) per update and publishes it
here, so that code aiogram calls on its own, like the FSM storage, joins that transaction
instead of opening a second one. Outside an update nothing is set.
"""

from __future__ import annotations

from contextvars import ContextVar

from sqlalchemy.ext.asyncio import AsyncSession

current_session: ContextVar[AsyncSession | None] = ContextVar("current_session", default=None)
