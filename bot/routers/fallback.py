"""Whatever no other handler took: a hint, never silence (for a message that is not a command:
how to write into a request)."""

from __future__ import annotations

from aiogram import Router, html
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from database.enums import UserStatus
from services.actor import Actor


async def unexpected_message(message: Message, actor: Actor | None = None) -> None:
    if actor is None or not actor.is_approved:
        if actor is not None and actor.user is not None and actor.user.status == UserStatus.PENDING:
            text = _("Your registration is waiting for an administrator's approval.")
        else:
            text = _("To use the helpdesk, please register first: send /start.")
    elif message.text and message.text.startswith("/"):
        text = _("Unknown command. /help lists the commands you can use.")
    else:
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
