"""Answering an update before the database session: the private-chats gate and the flood limit.

Such an update never reaches the actor middleware, so the language chosen with /lang (stored in
the database) is unknown: the answer is in the user's Telegram language when the catalogue has
it, else the default. A button gets an alert, a message a reply; Telegram refusing the answer
(no right to write in a group, a query too old) is logged and let be.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiogram.exceptions import TelegramAPIError
from aiogram.types import Update, User
from aiogram.utils.i18n import I18n

logger = logging.getLogger(__name__)


def translated(i18n: I18n, user: User | None, text: Callable[[], str]) -> str:
    """`text()` (which calls `_`) in the user's Telegram language, or the default one."""
    locale = i18n.default_locale
    if user is not None and user.language_code in i18n.available_locales:
        locale = user.language_code
    with i18n.context(), i18n.use_locale(locale):
        return text()


async def answer(update: Update, text: str) -> None:
    """An alert for a button press, a reply to a message; nothing for anything else."""
    message = update.message or update.edited_message
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        elif message is not None:
            await message.answer(text)
    except TelegramAPIError as exc:
        logger.info("no answer to update %s: %s", update.update_id, exc)
