"""Whatever no other handler took: a hint, never silence (for a message that is not a command:
how to write into a request)."""

from __future__ import annotations

from aiogram import Router, html
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.texts import not_registered
from services.actor import Actor


async def unexpected_message(message: Message, actor: Actor | None = None) -> None:
    text = not_registered(actor)  # registering comes first
    if text is None and message.text and message.text.startswith("/"):
        text = _("Unknown command. /help lists the commands you can use.")
    elif text is None:
        text = html.quote(
            _(
                "I did not understand that. To write into a request, press Reply under the "
                "bot's message about it, reply to that message, or send "
                "/reply <request id> <text>. /help lists the commands you can use."
            )
        )
    await message.answer(text)


async def unexpected_callback(query: CallbackQuery) -> None:
    await query.answer(
        _("This button is no longer valid. Send /help to see what you can do."), show_alert=True
    )


def build() -> Router:
    router = Router(name="fallback")
    router.message.register(unexpected_message)
    router.callback_query.register(unexpected_callback)
    return router
