"""Domain errors (no rights, gone, changed by someone else) become a polite answer."""

from __future__ import annotations

import logging
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cards import DEFAULT_TZ
from bot.middlewares import Handler
from bot.texts import not_registered
from services.actor import Actor
from services.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    TooManyOpenRequests,
)
from services.periods import InvalidPeriod
from services.registration import ReapplyTooSoon
from services.thread import InvalidMessage, ThreadClosed
from services.workflow import PartlyIssued, ReopenExpired, reopen_days
from utils.formatting import local_time

logger = logging.getLogger(__name__)


class DomainErrorMiddleware(BaseMiddleware):
    """Rolls back the update's transaction and tells the user why nothing happened."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        except DomainError as exc:
            text = _explain(exc, data.get("tz"), data.get("actor"))  # before rows expire
            session: AsyncSession | None = data.get("session")
            if session is not None:
                await session.rollback()
            user = data.get("event_from_user")
            logger.info(
                "refused %s for user %s: %r", type(event).__name__, user.id if user else None, exc
            )
            await _answer(event, text)
            return None


def _explain(exc: DomainError, tz: ZoneInfo | None = None, actor: Actor | None = None) -> str:
    if isinstance(exc, PermissionDenied):
        return not_registered(actor) or _("Sorry, you are not allowed to do this.")
    if isinstance(exc, NotFound):
        return _("This no longer exists or was not found.")
    if isinstance(exc, Conflict):
        return _("Someone else has just changed this. Please try again.")
    if isinstance(exc, ThreadClosed):
        return _("This request is finished: its conversation takes no more messages.")
    if isinstance(exc, InvalidMessage):
        return _("The message is empty, too long or has unsupported files; nothing was sent.")
    if isinstance(exc, PartlyIssued):
        return _(
            "Part of this order has already been issued, so it can no longer be cancelled or "
            "rejected: the rest is issued when it is in stock."
        )
    if isinstance(exc, ReopenExpired):
        return ngettext(
            "A resolved request can be reopened within {days} day only.",
            "A resolved request can be reopened within {days} days only.",
            reopen_days(),
        ).format(days=reopen_days())
    if isinstance(exc, TooManyOpenRequests):
        return too_many_open(exc)
    if isinstance(exc, ReapplyTooSoon):
        return reapply_later(exc, tz)
    if isinstance(exc, InvalidPeriod):
        return _("Please type the dates as DD.MM.YYYY or DD.MM.YYYY - DD.MM.YYYY.")
    return _("This cannot be done right now.")


def too_many_open(exc: TooManyOpenRequests) -> str:
    return _(
        "You have {count} open requests — the most one may have at once. "
        "See them with /my; a new one can be filed once some of them are resolved."
    ).format(count=exc.count)


def reapply_later(exc: ReapplyTooSoon, tz: ZoneInfo | None = None) -> str:
    return _("Your registration was not approved. You may apply again from {time}.").format(
        time=local_time(exc.at, tz or DEFAULT_TZ)
    )


async def _answer(event: TelegramObject, text: str) -> None:
    if isinstance(event, Message):
        await event.answer(text)
    elif isinstance(event, CallbackQuery):
        await event.answer(text, show_alert=True)
