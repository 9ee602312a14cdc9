"""What every dialog shows the same way: one screen per step, sized for Telegram."""

from __future__ import annotations

from aiogram import F, html
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import DialogNav
from utils.text import TEXT_LIMIT, cut, utf16_len  # noqa: F401  (re-exported: the one measure)

Screen = tuple[str, InlineKeyboardMarkup | None]
BACK = DialogNav.filter(F.action == "back")


def quote_within(text: str, budget: int) -> str:
    """`html.quote(text)`, cut with an ellipsis so that it takes at most `budget` units."""
    quoted = html.quote(text)
    if utf16_len(quoted) <= budget:
        return quoted
    if budget < 1:
        return "…"
    return html.quote(cut(text, budget, size=_quoted_len))


def _quoted_len(text: str) -> int:
    return utf16_len(html.quote(text))


async def show(event: Message | CallbackQuery, screen: Screen) -> None:
    """A typed message gets a new message; a button press edits the message it belongs to."""
    text, markup = screen
    if isinstance(event, Message):
        await event.answer(text, reply_markup=markup)
        return
    message = event.message
    if isinstance(message, Message):
        try:
            await message.edit_text(text, reply_markup=markup)
        except TelegramBadRequest as exc:
            if "message is not modified" not in exc.message:
                await message.answer(text, reply_markup=markup)  # too old or gone: send anew
    else:
        await event.bot.send_message(event.from_user.id, text, reply_markup=markup)
    await event.answer()


async def alert(query: CallbackQuery, text: str) -> None:
    await query.answer(text, show_alert=True)


async def use_the_buttons(message: Message) -> None:
    await message.answer(_("Please use the buttons above, or send /cancel."))
