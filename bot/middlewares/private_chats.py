"""The bot works in private chats only.

Everything it shows is personal (cards, dialogs, invite links, reports, backups), so an update
from a group, supergroup or channel never reaches a handler: a command addressed to the bot gets
one line pointing to a private chat, a button pressed on a message there gets a short alert, and
anything else is ignored. The gate sits outside the database session: such an update opens no
session, so it reads and writes nothing (no user row, no dialog state, no "unblocked" mark).
"""

from __future__ import annotations

from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.enums import ChatType
from aiogram.types import Chat, Message, TelegramObject, Update
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.middlewares import Handler
from bot.middlewares.early_answer import answer, translated


class PrivateChatsOnly(BaseMiddleware):
    """Outer update middleware; registered before the session middleware."""

    def __init__(self, i18n: I18n) -> None:
        self.i18n = i18n

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        chat: Chat | None = data.get("event_chat")
        if chat is None or chat.type == ChatType.PRIVATE or not isinstance(event, Update):
            return await handler(event, data)
        bot: Bot = data["bot"]
        pressed = event.callback_query is not None
        if pressed or (event.message is not None and await _addressed_command(bot, event.message)):
            me = await bot.me()
            line = translated(
                self.i18n,
                data.get("event_from_user"),
                lambda: _("I work in private messages only — write to me directly: @{bot}"),
            )
            await answer(event, line.format(bot=me.username))
        return None


async def _addressed_command(bot: Bot, message: Message) -> bool:
    """A command meant for this bot: `/cmd` or `/cmd@this_bot`, not `/cmd@another_bot`."""
    text = message.text or ""
    if not text.startswith("/"):
        return False
    _command, _at, mention = text.split(maxsplit=1)[0].partition("@")
    if not mention:
        return True
    me = await bot.me()
    return mention.casefold() == (me.username or "").casefold()
